"""What the command line says to people, on stderr: lines with secrets masked,
progress, and the run report. stdout is left to the documents."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console

from papergist.errors import PapergistError, UsageError
from papergist.models import RunReport
from papergist.redact import Redactor
from papergist.settings import load_settings

err = Console(stderr=True, highlight=False, soft_wrap=True)
_masks: list[Redactor] = []


def redactor() -> Redactor:
    """Every configured secret, read once; settings that cannot load mask Bearer tokens only."""
    if not _masks:
        try:
            _masks.append(Redactor.from_settings(load_settings()))
        except PapergistError:
            _masks.append(Redactor())
    return _masks[0]


def forget_secrets() -> None:
    """The next `redactor()` reads the settings again (each invocation has its own)."""
    _masks.clear()


def say(text: str) -> None:
    """One line for people on stderr, with every configured secret masked."""
    err.print(redactor()(text), markup=False)


class StderrProgress:
    """Progress on stderr: status lines, and a bar when stderr is a terminal.

    A context manager: leaving it, on success, error or Ctrl-C, stops the bar, so
    the terminal gets its cursor back.
    """

    def __init__(self) -> None:
        self._bar: Any = None  # a rich Progress while a bar is shown

    def __enter__(self) -> "StderrProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the bar if one is showing (safe to call again)."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.stop()

    def note(self, text: str) -> None:
        say(text)

    def start(self, total: int, what: str) -> None:
        self.close()
        if err.is_terminal and total:
            from rich.progress import Progress
            self._bar = Progress(console=err, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(what, total=total)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)
            if self._bar.finished:
                self.close()


class QuietProgress(StderrProgress):
    """`-q`: no progress at all."""

    def note(self, text: str) -> None:
        pass

    def start(self, total: int, what: str) -> None:
        pass


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date, or a clear usage error."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"invalid date {text!r}: use YYYY-MM-DD, e.g. 2024-08-26") from None


def print_report(report: RunReport, quiet: bool) -> None:
    """The run report on stderr; failures are shown even when quiet."""
    if not quiet:
        notes = [f"{report.cached} from the store"] if report.cached else []
        if report.summarized and report.usage.requests:
            notes.append(f"{report.from_fulltext} from full text, "
                         f"{report.summarized - report.from_fulltext} from abstracts")
        if report.unverified:
            notes.append(f"{report.unverified} unverified")
        cached = f" ({'; '.join(notes)})" if notes else ""
        tokens = (f"; {report.usage.total_tokens:,} tokens ({report.usage.prompt_tokens:,} in, "
                  f"{report.usage.completion_tokens:,} out) in {report.usage.requests} "
                  f"requests" if report.usage.requests else "")
        say(f"{report.day}: {report.fetched} fetched, {report.summarized} summarized"
            f"{cached}, {len(report.failures)} failed{tokens}")
        print_diagnostics(report)
    for failure in report.failures:
        say(f"  failed {failure.paper_id} ({failure.stage}): {failure.reason}")


def print_diagnostics(report: RunReport) -> None:
    """What the run went through (when any of it happened), and one line per paper
    summarized from its abstract because no full text could be used."""
    counts = [(report.retries, "retries"), (report.throttled, "429s"),
              (report.window_decreases, "window decreases"),
              (report.to_pdf, "fell back to the PDF"),
              (report.to_abstract, "fell back to the abstract")]
    shown = [f"{n} {what}" for n, what in counts if n]
    if shown:
        say(f"  {', '.join(shown)}")
    for fell in report.fallbacks:
        if fell.to == "abstract":
            why = f" ({'; '.join(fell.notes)})" if fell.notes else ""
            say(f"  {fell.paper_id}: summarized from the abstract{why}")
