"""The papergist exception tree.

Every error papergist expects carries a message that says what happened and,
where it can, what to do next, plus its context as attributes (`url`, `status`,
`attempts`, `paper_id`, ...). Every class is importable from `papergist`::

    PapergistError
    ├── UsageError            bad argument: invalid or future date, malformed id
    ├── ConfigError           a setting or the config file is invalid
    ├── EmptyFeed             the feed has no papers where we looked
    ├── SourceError           HF / arXiv could not give us the list
    │   ├── SourceUnavailable     down, timing out, 5xx / 429 after retries
    │   ├── SourceRejected        the source answered 4xx (e.g. HF's 400 for a bad date)
    │   └── MalformedResponse     not JSON / XML, truncated, entries missing fields
    │       └── ResponseTooLarge      a body over its size limit (`papergist.http`)
    ├── SummarizeError        one paper could not be summarized (kept per paper)
    ├── StoreError            the database cannot be opened or written
    ├── OutputError           the output path cannot be written
    └── DeliveryError         a destination could not be reached or refused the digest
        └── IncompleteDigest      the digest has no summarized paper: nothing sent

Exit statuses are the CLI's business: `papergist.exits.exit_status(error)` maps
each class to the status the command line exits with; the classes know nothing
of them.

Per-paper problems are not raised out of a batch: they become `PaperFailure`
values in the run report (see `papergist.models`).
"""

from __future__ import annotations

from typing import Any


class PapergistError(Exception):
    """Root of every error papergist raises on purpose.

    Keyword arguments are context (`url`, `status`, `attempts`, `paper_id`,
    `usage`, ...), kept as attributes; they survive pickling.
    """

    def __init__(self, message: str = "", **context: Any):
        super().__init__(message)
        self.__dict__.update(context)

    @property
    def message(self) -> str:
        """The message alone."""
        return str(self.args[0]) if self.args else ""

    def with_context(self, **context: Any) -> "PapergistError":
        """A copy of this error with more context."""
        return _rebuild(type(self), self.args, {**self.__dict__, **context})

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class UsageError(PapergistError):
    """The user asked for something that cannot be done as asked."""


class ConfigError(PapergistError):
    """A setting, environment variable or the config file is invalid."""


class EmptyFeed(PapergistError):
    """The feed has no papers for the days asked (weekends, holidays)."""


class SourceError(PapergistError):
    """A paper source (HF Daily Papers, arXiv) did not give a usable answer."""


class SourceUnavailable(SourceError):
    """The source could not be reached, or kept failing after retries."""


class SourceRejected(SourceError):
    """The source refused the request (a 4xx other than 429)."""

    status: int

    def __init__(self, message: str, status: int, **context: Any):
        super().__init__(message, status=status, **context)


class MalformedResponse(SourceError):
    """The source answered, but not with what its format promises."""


class SummarizeError(PapergistError):
    """A paper could not be summarized; recorded per paper, never fatal."""


class StoreError(PapergistError):
    """The local database cannot be opened, migrated or written."""


class OutputError(PapergistError):
    """An output file or directory cannot be written."""


class DeliveryError(PapergistError):
    """A destination could not be reached or refused the digest.

    `retryable`: whether another attempt may succeed; `wait`: the seconds the
    destination asked to wait first, if it said.
    """

    retryable: bool
    wait: float | None

    def __init__(self, message: str = "", retryable: bool = True, wait: float | None = None,
                 **context: Any):
        super().__init__(message, retryable=retryable, wait=wait, **context)


class IncompleteDigest(DeliveryError):
    """The digest has no summarized paper; it is not sent unless asked."""

    def __init__(self, message: str = "", **context: Any):
        super().__init__(message, retryable=False, **context)
