"""Diagnostics as log records: the `papergist` logger and its children.

The library only *emits*: every module logs to a child of ``papergist``
(``papergist.http``, ``papergist.scheduler``, ``papergist.fulltext``,
``papergist.pipeline``, ``papergist.publish``), and the package adds a
`logging.NullHandler`, so nothing is printed unless the application configures
logging. Each retry, wait, 429, window change, fallback, lease wait and learned
limit is one record whose structured fields are in `extra` (always an
``event`` name, then e.g. ``url``, ``attempt``, ``wait``)::

    logging.getLogger("papergist").addHandler(logging.StreamHandler())

Records never carry a secret: model API keys are never put in one, webhook
URLs are never logged (records name the channel), and text a server sent is
passed through `papergist.redact.Redactor` first.

`configure` is for the command line only (`papergist -v`, `--log-json`): one
handler on stderr, text or one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, Callable

ROOT = "papergist"
# The attributes every LogRecord has: anything else on a record came from `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


def logger(name: str) -> logging.Logger:
    """The child logger `papergist.<name>`."""
    return logging.getLogger(f"{ROOT}.{name}")


def emit(log: logging.Logger, level: int, message: str, event: str, **fields: Any) -> None:
    """One record: `message` for people, `event` and `fields` for machines (in `extra`)."""
    if log.isEnabledFor(level):
        log.log(level, message, extra={"event": event, **fields})


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record got through `extra`, in the order they were given."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class _Stderr(logging.StreamHandler):
    """A handler on whatever `sys.stderr` is now (tests and pipes swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class TextFormatter(logging.Formatter):
    """`papergist.http: retry 2 of ... [event=retry attempt=2 wait=0.5]`, masked."""

    def __init__(self, redact: Callable[[str], str]):
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in extra_fields(record).items())
        text = f"{record.levelname.lower()} {record.name}: {record.getMessage()}"
        return self.redact(f"{text} [{fields}]" if fields else text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the `extra` fields."""

    def __init__(self, redact: Callable[[str], str]):
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        for key, value in extra_fields(record).items():
            doc.setdefault(key, value)
        return self.redact(json.dumps(doc, ensure_ascii=False, default=str))


_installed: list[logging.Handler] = []


def level_for(verbosity: int) -> int | None:
    """`-v` INFO, `-vv` (or more) DEBUG, none: no logging (None)."""
    if verbosity <= 0:
        return None
    return logging.INFO if verbosity == 1 else logging.DEBUG


def configure(verbosity: int, as_json: bool, redact: Callable[[str], str]) -> None:
    """Log `papergist.*` records to stderr at the level `verbosity` asks (the CLI's `-v`).

    Replaces what an earlier call installed; with verbosity 0 only removes it.
    The records do not also propagate to the root logger (no double lines).
    """
    unconfigure()
    level = level_for(verbosity)
    if level is None:
        return
    handler = _Stderr()
    handler.setFormatter(JsonFormatter(redact) if as_json else TextFormatter(redact))
    root = logging.getLogger(ROOT)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    _installed.append(handler)


def unconfigure() -> None:
    """Remove what `configure` installed (the package's NullHandler stays)."""
    root = logging.getLogger(ROOT)
    while _installed:
        root.removeHandler(_installed.pop())
        root.setLevel(logging.NOTSET)
        root.propagate = True
