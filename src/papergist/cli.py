"""The `papergist` command line: parse, call the pipeline, write, report.

stdout carries the document; everything for people (progress, the run report,
errors) goes to stderr, so `papergist digest > today.md` just works.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console

from papergist import __version__
from papergist.deliver.files import check_creatable, check_writable, write_atomic
from papergist.errors import EmptyFeed, MalformedResponse, PapergistError, UsageError
from papergist.http import HttpClient
from papergist.models import RunReport
from papergist.publish import publish, targets
from papergist.site import build_site
from papergist.pipeline import EXTENSIONS, RENDERERS, Pipeline, Result, check_day, render, utc_today
from papergist.settings import SETTINGS, Settings, load_settings
from papergist.store import Store
from papergist.summarize.llm import LLMSummarizer, model_config
from papergist.summarize.offline import OfflineSummarizer
from papergist.verify import verify

EXIT_STATUSES = """\b
Exit status:
  0  every paper has its summary (or, with --since, every day written is complete)
  1  an unexpected internal error (a bug: please report it with the traceback)
  2  bad usage: unknown option, invalid or future date, malformed arXiv id, bad setting
  3  incomplete: the digest was written, but some papers have no summary (see the report)
  4  empty: the feed has no papers for that day (weekends); nothing was written
  5  a source failed: HF or arXiv unreachable, timing out, or sending malformed data
  6  output failed: the output file or the store could not be written
  7  a delivery failed (publish): see the report; a re-run retries only what failed
"""
EXIT_OK, EXIT_INCOMPLETE, EXIT_EMPTY, EXIT_DELIVERY = 0, 3, 4, 7

app = typer.Typer(
    name="papergist",
    help=f"The daily digest of trending AI papers, from Hugging Face Daily Papers and arXiv.\n\n"
         f"{EXIT_STATUSES}",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class StderrProgress:
    """Progress on stderr: status lines, and a bar when stderr is a terminal."""

    def __init__(self) -> None:
        self._bar = None

    def note(self, text: str) -> None:
        err.print(text, markup=False)

    def start(self, total: int, what: str) -> None:
        if err.is_terminal and total:
            from rich.progress import Progress
            self._bar = Progress(console=err, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(what, total=total)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)
            if self._bar.finished:
                self._bar.stop()
                self._bar = None


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
        err.print(f"{report.day}: {report.fetched} fetched, {report.summarized} summarized"
                  f"{cached}, {len(report.failures)} failed{tokens}", markup=False)
    for failure in report.failures:
        err.print(f"  failed {failure.paper_id} ({failure.stage}): {failure.reason}", markup=False)


def exit_status(result: Result) -> int:
    """0 when every paper has its summary, 3 otherwise."""
    return EXIT_OK if result.report.complete else EXIT_INCOMPLETE


@app.command()
def digest(
    day: Annotated[Optional[str], typer.Argument(
        metavar="DATE", help="Day of the feed, YYYY-MM-DD (UTC). Default: the newest "
                               "day the feed has published.")] = None,
    ids: Annotated[Optional[str], typer.Option(
        "--ids", metavar="IDS", help="Comma-separated arXiv ids: a digest of these papers instead of a day.")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", metavar="FORMAT", help="markdown (the classic layout) or json.")] = "markdown",
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", metavar="DIR", help="Write DIR/YYYY/MM/DD.md (or .json) instead of stdout.")] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="DATE", help="First day of a range (needs --out-dir); days already written "
                        "are skipped.")] = None,
    until: Annotated[Optional[str], typer.Option(
        "--until", metavar="DATE", help="Last day of the range (default: today, UTC).")] = None,
    lang: Annotated[Optional[str], typer.Option(
        "--lang", metavar="CODE", help="Language of the summaries: en, ko, ja, zh, ... "
                                       "(needs --model for anything but en).")] = None,
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", metavar="NAME", help="Summarize with this model (OpenAI-compatible API: "
        "OPENAI_BASE_URL, OPENAI_API_KEY). Default: the offline extractive summarizer.")] = None,
    provider: Annotated[Optional[str], typer.Option(
        "--provider", metavar="NAME", help="A [providers.NAME] table of the config file: "
                                           "endpoint, key variable, model, limits.")] = None,
    concurrency: Annotated[Optional[int], typer.Option(
        "--concurrency", metavar="N", help="Model requests in flight at the start (default 64).")] = None,
    max_concurrency: Annotated[Optional[int], typer.Option(
        "--max-concurrency", metavar="N", help="Most model requests in flight (default 256).")] = None,
    rpm: Annotated[Optional[int], typer.Option(
        "--rpm", metavar="N", help="The provider's requests-per-minute limit.")] = None,
    tpm: Annotated[Optional[int], typer.Option(
        "--tpm", metavar="N", help="The provider's tokens-per-minute limit.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(
        "--max-tokens", metavar="N", help="Stop sending before the run's tokens exceed N.")] = None,
    on_unverified: Annotated[Optional[str], typer.Option(
        "--on-unverified", metavar="POLICY", help="A model summary whose claims are not all in "
        "the paper, after one regeneration: warn (default), drop or keep.")] = None,
    publish_to: Annotated[Optional[str], typer.Option(
        "--publish", metavar="CHANNELS", help="Then publish the day's digest to these channels "
        "(as papergist publish --to), for a daily cron.")] = None,
    refresh: Annotated[bool, typer.Option(
        "--refresh", help="Summarize again even when a stored summary of the same text exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Build the digest of one day of HF Daily Papers (or of arXiv ids).

    \b
    Examples:
      papergist digest 2024-08-26 > 2024-08-26.md
      papergist digest                               # the newest published day
      papergist digest 2024-08-26 --format json -o 2024-08-26.json
      papergist digest --ids 2408.12637,2408.13252
      papergist digest 2024-08-26 --model gpt-4o-mini --lang ko
      OPENAI_BASE_URL=http://localhost:11434/v1 papergist digest --model llama3.1
      papergist digest --out-dir papers --publish email,slack        # the daily cron
      papergist digest --since 2024-08-19 --until 2024-08-30 --out-dir papers/
    """
    if fmt not in RENDERERS:
        raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(RENDERERS)}")
    chosen = [name for name, value in (("DATE", day), ("--ids", ids), ("--since", since)) if value]
    if len(chosen) > 1:
        raise UsageError(f"give only one of DATE, --ids and --since (got {' and '.join(chosen)})")
    if since and out_dir is None:
        raise UsageError("--since writes one file per day: give --out-dir DIR")
    if until and not since:
        raise UsageError("--until needs --since")
    if output and out_dir:
        raise UsageError("give either -o FILE or --out-dir DIR, not both")
    if output:
        check_writable(output)
    if out_dir:
        check_creatable(out_dir)
    settings = load_settings({"language": lang, "model": model, "provider": provider,
                              "concurrency": concurrency, "max_concurrency": max_concurrency,
                              "rpm": rpm, "tpm": tpm, "max_tokens": max_tokens,
                              "on_unverified": on_unverified})
    channels = [c.strip() for c in (publish_to or "").split(",") if c.strip()]
    if channels and (since or ids):
        raise UsageError("--publish works with one day of the feed, not --ids or --since")
    if channels:
        targets(settings, channels)  # a missing setting is said before any work
    try:
        with ExitStack() as stack:
            pipe = _open_pipeline(stack, settings, quiet, refresh)
            if since:
                code = _digest_range(pipe, parse_day(since), parse_day(until) if until else None,
                                     out_dir, fmt, quiet)
            else:
                code, used = _digest_one(pipe, day, ids, fmt, output, out_dir, quiet)
    except KeyboardInterrupt:
        err.print("papergist: interrupted; the summaries finished so far are kept in the store "
                  "(run again to finish)", markup=False)
        code = 130
    if channels and code in (EXIT_OK, EXIT_INCOMPLETE):
        code = max(code, _send_digest(settings, used, channels, dry_run=False, quiet=quiet))
    raise typer.Exit(code)


def _open_pipeline(stack: ExitStack, settings: Settings, quiet: bool, refresh: bool) -> Pipeline:
    config = model_config(settings)
    summarizer = LLMSummarizer(config, settings) if config else OfflineSummarizer()
    summarizer.check_language(settings.language)
    store = Store.open(settings.db_path)
    stack.callback(store.close)
    http = stack.enter_context(HttpClient(settings))
    progress = QuietProgress() if quiet else StderrProgress()
    if config:
        progress.note(f"Summarizing with {config.model} at {config.base_url}, "
                      f"in {settings.language}")
    return Pipeline(settings=settings, http=http, store=store, summarizer=summarizer,
                    language=settings.language, progress=progress, refresh=refresh)


def _run_day(pipe: Pipeline, command: str, day: date, build: Callable[[], Result],
             path: Path | None, fmt: str, quiet: bool, empty_expected: bool = False) -> int:
    """Build one digest as a recorded run, report it and write it; its exit status."""
    run_id = pipe.store.start_run(command, day)
    result, code = None, 1
    try:
        result = build()
        code = _report_and_write(result, path, fmt, quiet, empty_expected)
        return code
    except PapergistError as exc:
        code = exc.exit_code
        raise
    except KeyboardInterrupt:
        code = 130
        raise
    finally:
        pipe.store.finish_run(run_id, result.report if result else None, code)


def _report_and_write(result: Result, path: Path | None, fmt: str, quiet: bool,
                      empty_expected: bool) -> int:
    """Report on stderr, then write the digest unless it is empty."""
    day = result.digest.date
    print_report(result.report, quiet)
    if not result.digest.items:
        if result.report.failures:
            raise _all_failed(day)
        if not (quiet and empty_expected):
            err.print(f"No papers in HF Daily Papers for {day} (the feed has none on weekends "
                      "and holidays); nothing written.", markup=False)
        return EXIT_EMPTY
    _emit(render(result.digest, fmt), path, quiet)
    return exit_status(result)


def _digest_one(pipe: Pipeline, day_text: str | None, ids: str | None, fmt: str,
                output: Path | None, out_dir: Path | None, quiet: bool) -> tuple[int, date]:
    """One digest (a day, or arXiv ids); its exit status and the day it is for."""
    today = utc_today()
    if ids:
        day = today
        id_list = [i.strip() for i in ids.split(",") if i.strip()]
        if not id_list:
            raise UsageError("--ids needs at least one arXiv id, e.g. --ids 2408.12637")
        return _run_day(pipe, "digest --ids", day, lambda: pipe.ids_digest(id_list, day),
                        output or _day_path(out_dir, day, fmt), fmt, quiet), day
    day = parse_day(day_text) if day_text else _newest_day(pipe, today)
    check_day(day, today)
    return _run_day(pipe, "digest", day, lambda: pipe.day_digest(day),
                    output or _day_path(out_dir, day, fmt), fmt, quiet), day


def _all_failed(day: date) -> PapergistError:
    return MalformedResponse(f"no paper of {day} could be read (see the failures above); "
                             "nothing written")


def _newest_day(pipe: Pipeline, today: date) -> date:
    day = pipe.newest_day(today)
    if day is None:
        raise EmptyFeed(f"HF Daily Papers has no papers in the week up to {today}; give a DATE")
    growing = " (today in UTC: the list may still grow)" if day == today else ""
    pipe.progress.note(f"Using {day}, the newest day HF Daily Papers has published{growing}")
    if growing and isinstance(pipe.progress, QuietProgress):
        err.print(f"Using {day}{growing}", markup=False)
    return day


def _day_path(out_dir: Path | None, day: date, fmt: str) -> Path | None:
    if out_dir is None:
        return None
    return out_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}.{EXTENSIONS[fmt]}"


def _emit(text: str, path: Path | None, quiet: bool) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomic(path, text)
    if not quiet:
        err.print(f"Wrote {path}", markup=False)


def _digest_range(pipe: Pipeline, since: date, until: date | None, out_dir: Path, fmt: str,
                  quiet: bool) -> int:
    """Every day from `since` to `until` not yet written; empty days are not failures."""
    today = utc_today()
    until = until or today
    check_day(until, today)
    if since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    worst = EXIT_OK
    for offset in range((until - since).days + 1):
        day = since + timedelta(days=offset)
        path = _day_path(out_dir, day, fmt)
        if path.exists():
            pipe.progress.note(f"{day}: {path} exists, skipped")
            continue
        code = _run_day(pipe, "digest --since", day, lambda: pipe.day_digest(day), path, fmt,
                        quiet, empty_expected=True)
        worst = max(worst, EXIT_OK if code == EXIT_EMPTY else code)
    return worst


@app.command("publish")
def publish_command(
    day: Annotated[str, typer.Argument(metavar="DATE", help="The day whose digest to send.")],
    to: Annotated[str, typer.Option(
        "--to", metavar="CHANNELS", help="Comma-separated: email, slack, discord, telegram. "
        "Destinations and secrets come from settings, never from flags.")],
    lang: Annotated[Optional[str], typer.Option(
        "--lang", metavar="CODE", help="Which language's digest (default: the language setting).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be sent; send nothing, record nothing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Report failures only.")] = False,
) -> None:
    """Send a stored digest to channels, each destination exactly once.

    A re-run skips what was delivered and retries what failed.

    \b
    Examples:
      papergist publish 2024-08-26 --to email --dry-run
      papergist publish 2024-08-26 --to email,slack,telegram
    """
    settings = load_settings({"language": lang})
    channels = [c.strip() for c in to.split(",") if c.strip()]
    raise typer.Exit(_send_digest(settings, parse_day(day), channels, dry_run, quiet))


def _send_digest(settings: Settings, day: date, channels: list[str], dry_run: bool,
                 quiet: bool) -> int:
    found = targets(settings, channels)
    store = Store.open(settings.db_path)
    try:
        digest = store.load_digest(day, settings.language)
        if digest is None:
            raise UsageError(f"no {settings.language} digest stored for {day}: run "
                             f"papergist digest {day} first")
        results = publish(digest, settings.language, found, store, dry_run=dry_run,
                          backoff=settings.http_backoff)
    finally:
        store.close()
    for r in results:
        if r.status == "failed" or not quiet:
            detail = f": {r.error}" if r.error else ""
            tries = f" after {r.attempts} attempt(s)" if r.status == "failed" else ""
            err.print(f"{r.channel} ({r.destination}): {r.status}{tries}{detail}", markup=False)
    return EXIT_DELIVERY if any(r.status == "failed" for r in results) else EXIT_OK


@app.command("site")
def site_command(
    out: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write the archive.")],
    lang: Annotated[Optional[str], typer.Option(
        "--lang", metavar="CODE", help="Which language's digests (default: the language setting).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No report on stderr.")] = False,
) -> None:
    """Write the static archive of every stored digest: days, papers, feed, search.

    Re-running rewrites only what changed. Set site_url (PAPERGIST_SITE_URL) to the
    archive's public URL so the Atom feed links to it.

    \b
    Example:
      papergist site ./public && python -m http.server -d public
    """
    settings = load_settings({"language": lang})
    check_creatable(out)
    store = Store.open(settings.db_path)
    try:
        report = build_site(store, out, language=settings.language, site_url=settings.site_url)
    finally:
        store.close()
    if not quiet:
        err.print(f"{out}: {report.days} days ({report.rendered_days} rendered now), "
                  f"{report.written} files written, {report.unchanged} unchanged", markup=False)
        if not settings.site_url:
            err.print("No Atom feed: set site_url (PAPERGIST_SITE_URL) to the archive's public "
                      "URL; a feed needs absolute links.", markup=False)
    raise typer.Exit(EXIT_OK if report.days else EXIT_EMPTY)


@app.command("verify")
def verify_command(
    file: Annotated[str, typer.Argument(
        metavar="FILE", help="A JSON object, or a list of them, each with title, abstract, "
        "sections (name -> text) and optionally fulltext; - reads stdin.")],
) -> None:
    """Check summaries against their papers: every number and name must be in the source.

    Prints one JSON verdict per summary ({"status": "verified" | "unverified",
    "unsupported": [...], "evidence": [...], "generic": ...}), in the input's
    shape. Exit status: 0 all verified, 3 some unverified, 2 unreadable input.

    \b
    Examples:
      papergist verify summaries.json
      papergist digest 2024-08-26 -f json | jq '[.papers[] | {title, abstract, sections}]' \\
        | papergist verify -
    """
    items, single = _verify_input(file)
    verdicts = [verify(i["sections"], i["title"], i["abstract"], i.get("fulltext"))
                for i in items]
    docs = [v.model_dump(exclude={"warn"}) for v in verdicts]
    typer.echo(json.dumps(docs[0] if single else docs, ensure_ascii=False, indent=2))
    raise typer.Exit(EXIT_OK if all(v.status == "verified" for v in verdicts) else EXIT_INCOMPLETE)


def _verify_input(file: str) -> tuple[list[dict], bool]:
    """The items to verify, and whether the input was a single object."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{file} is not valid JSON: {exc}") from None
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise UsageError(f"{file} must hold a JSON object or a non-empty list of them")
    for n, item in enumerate(items, 1):
        problem = _verify_item_problem(item)
        if problem:
            raise UsageError(f"item {n} of {file}: {problem}")
    return items, isinstance(data, dict)


def _verify_item_problem(item: object) -> str | None:
    if not isinstance(item, dict):
        return "not a JSON object"
    for key in ("title", "abstract"):
        if not isinstance(item.get(key), str):
            return f"needs {key!r} as text"
    if item.get("fulltext") is not None and not isinstance(item["fulltext"], str):
        return "'fulltext' must be text"
    sections = item.get("sections")
    if not isinstance(sections, dict) or not sections or not all(
            isinstance(v, str) for v in sections.values()):
        return "needs 'sections': an object of section name -> text"
    return None


@app.command("settings")
def show_settings() -> None:
    """Show every setting: its value in force, where it came from, its variable.

    \b
    Example:
      PAPERGIST_HOME=/tmp/pg papergist settings
    """
    settings = load_settings()
    for s in SETTINGS:
        value = getattr(settings, s.name)
        if s.secret and value:
            value = "*** (set)"
        typer.echo(f"{s.name} = {value}  [{settings.origins[s.name]}; {s.env}]")
        typer.echo(f"    {s.help}")
    for name, table in settings.providers.items():
        shown = ", ".join(f"{k} = {v!r}" for k, v in table.items())
        typer.echo(f"[providers.{name}] {shown}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"papergist {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Daily digests of AI papers (see each command's --help)."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: known errors become one line on stderr and their exit status."""
    try:
        app(args=argv, prog_name="papergist")
    except PapergistError as exc:
        err.print(f"papergist: error: {exc}", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("papergist: interrupted", markup=False)
        sys.exit(130)

