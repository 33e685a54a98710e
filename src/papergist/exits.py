"""Exit statuses: the one mapping from outcomes and errors to process exit codes.

Library classes know nothing of exit codes; the CLI (and the run records in the
store, which keep the status a scheduler saw) ask this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from papergist.errors import (ConfigError, DeliveryError, EmptyFeed, OutputError, SourceError,
                              StoreError, UsageError)

if TYPE_CHECKING:
    from papergist.pipeline import Result

OK, INTERNAL, USAGE, INCOMPLETE, EMPTY, SOURCE, OUTPUT, DELIVERY, INTERRUPTED = (
    0, 1, 2, 3, 4, 5, 6, 7, 130)

EXIT_STATUSES = """\b
Exit status:
  0  every paper has its summary (or, with --since, every day written is complete)
  1  an unexpected internal error (a bug: please report it with the traceback)
  2  bad usage: unknown option, invalid or future date, malformed arXiv id, bad setting
  3  incomplete: the digest was written, but some papers have no summary (see the report)
  4  empty: no papers that day (weekends), week or month (nothing was written); no search match
  5  a source failed: HF or arXiv unreachable, timing out, or sending malformed data
  6  output failed: the output file or the store could not be written
  7  a delivery failed or its outcome is unknown (publish): see the report; a re-run retries only what failed
  130  interrupted (Ctrl-C): what was finished is kept; run again to finish
"""

# Most specific first: the first class an error is an instance of decides.
ERROR_STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, USAGE),
    (ConfigError, USAGE),
    (EmptyFeed, EMPTY),
    (SourceError, SOURCE),
    (StoreError, OUTPUT),
    (OutputError, OUTPUT),
    (DeliveryError, DELIVERY),
    (KeyboardInterrupt, INTERRUPTED),
)


def exit_status(outcome: "Result | BaseException") -> int:
    """The exit status of a digest result or of an error."""
    if isinstance(outcome, BaseException):
        for kind, status in ERROR_STATUSES:
            if isinstance(outcome, kind):
                return status
        return INTERNAL
    if not outcome.digest.items:
        return EMPTY
    return OK if outcome.report.complete else INCOMPLETE
