"""The `papergist` command line: parse, call the pipeline, write, report.

stdout carries the document; everything for people (progress, the run report,
errors) goes to stderr, so `papergist digest > today.md` just works.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Optional

import typer
from typer.core import TyperGroup

from papergist import __version__, logs
from papergist.console import (QuietProgress, StderrProgress, forget_secrets, parse_day,
                               print_report, redactor, say)
from papergist.cli_find import search_command, serve_command
from papergist.core import Papergist, summary_problem, utc_today
from papergist.deliver.files import check_creatable, check_writable, write_atomic
from papergist.errors import PapergistError, UsageError
from papergist.exits import (DELIVERY, EMPTY, EXIT_STATUSES, INCOMPLETE, INTERRUPTED, OK,
                             exit_status)
from papergist.models import Digest, PeriodKind, period_start
from papergist.pipeline import EXTENSIONS, RENDERERS, Result, render
from papergist.publish import Delivery
from papergist.render.common import digest_kind
from papergist.settings import SETTINGS, Settings, load_settings

EXIT_OK, EXIT_INCOMPLETE, EXIT_EMPTY, EXIT_DELIVERY = OK, INCOMPLETE, EMPTY, DELIVERY
UNSETTLED = ("failed", "unknown")  # deliveries that make `publish` exit 7

INTERRUPTED_LINE = "papergist: interrupted; what was finished is kept (run again to finish)"


class _Commands(TyperGroup):
    """Every command: Ctrl-C is one line and exit 130 (click would say "Aborted!", 1)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            say(INTERRUPTED_LINE)
            raise typer.Exit(INTERRUPTED) from None


app = typer.Typer(
    cls=_Commands,
    name="papergist",
    help=f"The daily digest of trending AI papers, from Hugging Face Daily Papers and arXiv.\n\n"
         f"{EXIT_STATUSES}",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@app.command()
def digest(
    day: Annotated[Optional[str], typer.Argument(
        metavar="DATE", help="Day of the feed, YYYY-MM-DD (UTC). Default: the newest "
                               "day the feed has published.")] = None,
    ids: Annotated[Optional[str], typer.Option(
        "--ids", metavar="IDS", help="Comma-separated arXiv ids: a digest of these papers instead of a day.")] = None,
    week: Annotated[Optional[str], typer.Option(
        "--week", metavar="YYYY-Www", help="A digest of an ISO week of the feed, e.g. 2024-W34.")] = None,
    month: Annotated[Optional[str], typer.Option(
        "--month", metavar="YYYY-MM", help="A digest of a month of the feed, e.g. 2024-08.")] = None,
    arxiv: Annotated[Optional[str], typer.Option(
        "--arxiv", metavar="CATEGORIES", help="Comma-separated arXiv categories (cs.CL,cs.CV): "
        "a digest of the new papers arXiv announces in them on the evening of DATE (US "
        "Eastern, Sunday to Thursday; default: the newest) instead of the feed.")] = None,
    top: Annotated[Optional[int], typer.Option(
        "--top", metavar="N", help="Only the N most upvoted papers of the day, week or month.")] = None,
    reader: Annotated[Optional[str], typer.Option(
        "--for", metavar="READER", help="Most relevant first for a [readers.READER] of the config "
        "file (keywords, authors, organizations, library), each paper saying why.")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", metavar="FORMAT", help="markdown (the classic layout) or json.")] = "markdown",
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", metavar="DIR", help="Write DIR/YYYY/MM/DD.md (or .json) instead of stdout; "
        "with --ids, DIR/ids/YYYY-MM-DD-HASH.md (HASH: of the sorted ids), never a day's file; "
        "with --week or --month, DIR/weekly/YYYY-Www.md or DIR/monthly/YYYY-MM.md; with "
        "--arxiv, DIR/arxiv/YYYY-MM-DD.md.")] = None,
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
    """Build the digest of one day of HF Daily Papers (or a week, a month, or arXiv ids).

    \b
    Examples:
      papergist digest 2024-08-26 > 2024-08-26.md
      papergist digest                               # the newest published day
      papergist digest 2024-08-26 --format json -o 2024-08-26.json
      papergist digest --ids 2408.12637,2408.13252
      papergist digest --week 2024-W34 --top 20       # the week's 20 most upvoted
      papergist digest --arxiv cs.CL,cs.CV            # arXiv's newest announcement there
      papergist digest --for alice                    # most relevant first for [readers.alice]
      papergist digest 2024-08-26 --model gpt-4o-mini --lang ko
      OPENAI_BASE_URL=http://localhost:11434/v1 papergist digest --model llama3.1
      papergist digest --out-dir papers --publish email,slack        # the daily cron
      papergist digest --since 2024-08-19 --until 2024-08-30 --out-dir papers/
      papergist digest --arxiv cs.CL --since 2024-08-19 --out-dir papers/  # catch up
    """
    if fmt not in RENDERERS:
        raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(RENDERERS)}")
    chosen = [name for name, value in (("DATE", day and not arxiv), ("--ids", ids),
                                       ("--since", since), ("--week", week), ("--month", month),
                                       ("--arxiv", arxiv and not since)) if value]
    if len(chosen) > 1:
        raise UsageError(f"give only one of DATE, --ids, --since, --week, --month and --arxiv "
                         f"(got {' and '.join(chosen)})")
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
        raise UsageError("--publish works with one day, week or month of the feed, not --ids "
                         "or --since")
    with _open(settings, quiet, refresh) as pg:
        if channels:
            pg.check_channels(channels, reader)  # a missing setting is said before any work
        ranked = _ranker(pg, reader)
        if since:
            assert out_dir is not None  # checked above: --since needs --out-dir
            code = _digest_range(pg, parse_day(since), parse_day(until) if until else None,
                                 out_dir, fmt, quiet, top, ranked, arxiv)
        elif week or month or arxiv:
            result = pg.digest(parse_day(day) if day else None, week=week, month=month,
                               top=top, arxiv=arxiv.split(",") if arxiv else None)
            path = _period_path(out_dir, result.digest, fmt)
            code = _report_and_write(result, output or path, fmt, quiet, False, ranked)
            used = result.digest
        else:
            code, used = _digest_one(pg, day, ids, fmt, output, out_dir, quiet, top, ranked)
        if channels and code in (EXIT_OK, EXIT_INCOMPLETE):
            code = max(code, _report_deliveries(pg.publish(used, channels, if_changed=True,
                                                            reader=reader), quiet))
    raise typer.Exit(code)


def clock() -> date:
    """Today in UTC; tests replace this one function to move the CLI's clock."""
    return utc_today()


@contextmanager
def _open(settings: Settings, quiet: bool, refresh: bool = False) -> Iterator[Papergist]:
    """The front door for one command; its progress display is closed on every path."""
    with (QuietProgress() if quiet else StderrProgress()) as progress, \
            Papergist(settings, progress=progress, today=lambda: clock(), refresh=refresh) as pg:
        yield pg


def _ranker(pg: Papergist, reader: str | None) -> Callable[[Digest], Digest]:
    """What orders a digest before it is written: for a reader (checked now, before any
    work), or as built."""
    if reader is None:
        return lambda digest: digest
    who = pg.reader(reader)
    return lambda digest: pg.rank(digest, who)


def _report_and_write(result: Result, path: Path | None, fmt: str, quiet: bool,
                      empty_expected: bool, ranked: Callable[[Digest], Digest]) -> int:
    """Report on stderr, then write the digest (`ranked`) unless it is empty."""
    print_report(result.report, quiet)
    if not result.digest.items:
        if not (quiet and empty_expected):
            why = " (the feed has none on weekends and holidays)" \
                if result.digest.kind == "daily" else ""
            where = digest_kind(result.digest) if result.digest.kind == "arxiv" \
                else "HF Daily Papers"
            say(f"No papers in {where} for {result.digest.label}{why}; nothing written.")
        return EXIT_EMPTY
    _emit(render(ranked(result.digest), fmt), path, quiet)
    return exit_status(result)


def _digest_one(pg: Papergist, day_text: str | None, ids: str | None, fmt: str,
                output: Path | None, out_dir: Path | None, quiet: bool,
                top: int | None, ranked: Callable[[Digest], Digest]) -> tuple[int, Digest]:
    """One digest (a day, or arXiv ids); its exit status and the day it is for."""
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        result = pg.digest(ids=wanted, top=top)
        path = _ids_path(out_dir, result.digest.date, wanted, fmt)
    else:
        result = pg.digest(parse_day(day_text) if day_text else _newest_day(pg, quiet), top=top)
        path = _day_path(out_dir, result.digest.date, fmt)
    return _report_and_write(result, output or path, fmt, quiet, False, ranked), result.digest


def _newest_day(pg: Papergist, quiet: bool) -> date:
    day = pg.newest_day()
    if quiet and day == pg.today():
        say(f"Using {day} (today in UTC: the list may still grow)")
    return day


def _day_path(out_dir: Path | None, day: date, fmt: str) -> Path | None:
    if out_dir is None:
        return None
    return out_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}.{EXTENSIONS[fmt]}"


def _period_path(out_dir: Path | None, digest: Digest, fmt: str) -> Path | None:
    """DIR/weekly/YYYY-Www.EXT, DIR/monthly/YYYY-MM.EXT or DIR/arxiv/YYYY-MM-DD.EXT."""
    if out_dir is None:
        return None
    return out_dir / digest.kind / f"{digest.label}.{EXTENSIONS[fmt]}"


def _ids_path(out_dir: Path | None, day: date, ids: list[str], fmt: str) -> Path | None:
    """DIR/ids/YYYY-MM-DD-HASH.EXT for a digest of arXiv ids, apart from the days' files
    (which `--since` skips once written). HASH: 8 hex digits of the SHA-256 of the
    sorted, comma-joined ids, so the same ids on the same day land in the same file."""
    if out_dir is None:
        return None
    tag = hashlib.sha256(",".join(sorted(set(ids))).encode()).hexdigest()[:8]
    return out_dir / "ids" / f"{day:%Y-%m-%d}-{tag}.{EXTENSIONS[fmt]}"


def _emit(text: str, path: Path | None, quiet: bool) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomic(path, text)
    if not quiet:
        say(f"Wrote {path}")


def _digest_range(pg: Papergist, since: date, until: date | None, out_dir: Path, fmt: str,
                  quiet: bool, top: int | None, ranked: Callable[[Digest], Digest],
                  arxiv: str | None) -> int:
    """Every day (or arXiv announcement) from `since` to `until` not yet written; empty
    days are not failures."""
    worst = EXIT_OK
    def path_of(day: date) -> Path | None:
        return out_dir / "arxiv" / f"{day}.{EXTENSIONS[fmt]}" if arxiv \
            else _day_path(out_dir, day, fmt)

    def written(day: date) -> bool:
        path = path_of(day)
        if path is not None and path.exists():
            pg.progress.note(f"{day}: {path} exists, skipped")
            return True
        return False

    for done in pg.digest_range(since, until, skip=written, top=top,
                                arxiv=arxiv.split(",") if arxiv else None):
        if done.result is not None:
            code = _report_and_write(done.result, path_of(done.day), fmt, quiet, True, ranked)
            worst = max(worst, EXIT_OK if code == EXIT_EMPTY else code)
    return worst


@app.command("publish")
def publish_command(
    to: Annotated[str, typer.Option(
        "--to", metavar="CHANNELS", help="Comma-separated: email, slack, discord, telegram, feishu. "
        "Destinations and secrets come from settings, never from flags.")],
    day: Annotated[Optional[str], typer.Argument(
        metavar="DATE", help="The day whose digest to send (or --week, --month).")] = None,
    lang: Annotated[Optional[str], typer.Option(
        "--lang", metavar="CODE", help="Which language's digest (default: the language setting).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be sent; send nothing, record nothing.")] = False,
    if_changed: Annotated[bool, typer.Option(
        "--if-changed", help="Where an older version of the digest was sent, send the "
        "correction (a follow-up message in chat, a new email in the same thread).")] = False,
    resend: Annotated[bool, typer.Option(
        "--resend", help="Also send where a crashed run left it unknown whether the digest "
        "arrived (it may arrive twice).")] = False,
    allow_incomplete: Annotated[bool, typer.Option(
        "--allow-incomplete", help="Publish even a digest in which no paper has a "
        "summary.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Report failures only.")] = False,
    week: Annotated[Optional[str], typer.Option(
        "--week", metavar="YYYY-Www", help="Send the stored digest of this week instead.")] = None,
    month: Annotated[Optional[str], typer.Option(
        "--month", metavar="YYYY-MM", help="Send the stored digest of this month instead.")] = None,
    reader: Annotated[Optional[str], typer.Option(
        "--for", metavar="READER", help="Send it ranked for a [readers.READER] of the config "
        "file, to that reader's email_to (--to email).")] = None,
    arxiv: Annotated[bool, typer.Option(
        "--arxiv", help="Send the stored arXiv categories digest of DATE (digest --arxiv) "
        "instead of the feed's.")] = False,
) -> None:
    """Send a stored digest to channels, each destination exactly once.

    A re-run skips what was delivered, resumes a delivery at its first message not
    yet accepted, and retries what failed. Exit status 7 when a delivery failed or
    its outcome is unknown (a crashed run: see --resend).

    \b
    Examples:
      papergist publish 2024-08-26 --to email --dry-run
      papergist publish 2024-08-26 --to email,slack,telegram
      papergist publish 2024-08-26 --to slack --if-changed     # after a re-run filled gaps
      papergist publish --week 2024-W34 --to email             # the weekly newsletter
      papergist publish 2024-08-26 --arxiv --to slack          # that day's digest --arxiv
      papergist publish 2024-08-26 --to email --for alice      # ranked, to alice's email_to
    """
    settings = load_settings({"language": lang})
    channels = [c.strip() for c in to.split(",") if c.strip()]
    what = _published(day, week, month, arxiv)
    with _open(settings, quiet=True) as pg:
        deliveries = pg.publish(what, channels, dry_run=dry_run,
                                if_changed=if_changed, resend=resend,
                                allow_incomplete=allow_incomplete, reader=reader)
    raise typer.Exit(_report_deliveries(deliveries, quiet))


def _published(day: str | None, week: str | None, month: str | None,
               arxiv: bool) -> date | Digest:
    """What `publish` sends: a day, or (standing for the stored one) a week, a month or
    a day's arXiv categories digest."""
    given = [v for v in (day, week, month) if v]
    if len(given) != 1 or (arxiv and not day):
        raise UsageError("give one of DATE, --week and --month (--arxiv goes with a DATE)")
    if day:
        return Digest(date=parse_day(day), kind="arxiv", items=()) if arxiv \
            else parse_day(day)
    kind: PeriodKind = "weekly" if week else "monthly"
    try:
        start = period_start(kind, given[0])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Digest(date=start, kind=kind, items=())


def _report_deliveries(deliveries: list[Delivery], quiet: bool) -> int:
    """One line per destination (failures even when quiet); 7 if any failed or is unknown."""
    for r in deliveries:
        if r.status in UNSETTLED or not quiet:
            detail = f": {r.error}" if r.error else ""
            tries = f" after {r.attempts} attempt(s)" if r.status == "failed" else ""
            say(f"{r.channel} ({r.destination}): {r.status}{tries}{detail}")
    return EXIT_DELIVERY if any(r.status in UNSETTLED for r in deliveries) else EXIT_OK


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
    with _open(settings, quiet=True) as pg:
        report = pg.site(out)
    if not quiet:
        others = f", {report.others} weeks, months and lists" if report.others else ""
        say(f"{out}: {report.days} days ({report.rendered_days} rendered now){others}, "
            f"{report.written} files written, {report.unchanged} unchanged")
        if not settings.site_url:
            say("No Atom feed: set site_url (PAPERGIST_SITE_URL) to the archive's public "
                "URL; a feed needs absolute links.")
    raise typer.Exit(EXIT_OK if report.days or report.others else EXIT_EMPTY)


@app.command("verify")
def verify_command(
    file: Annotated[str, typer.Argument(
        metavar="FILE", help="A JSON object, or a list of them, each with title, abstract, "
        "sections (name -> text) and optionally fulltext and cited (a list of {section, "
        "sentence, quote}: the quote given for a sentence); - reads stdin.")],
) -> None:
    """Check summaries against their papers: every number and name must be in the source.

    Prints one JSON verdict per summary ({"status": "verified" | "unverified" | "unchecked",
    "unsupported": [...], "evidence": [...], "generic": ...}), in the input's
    shape. Exit status: 0 all verified, 3 some unverified or unchecked, 2 unreadable
    input.

    \b
    Examples:
      papergist verify summaries.json
      papergist digest 2024-08-26 -f json | jq '[.papers[] | {title, abstract, sections}]' \\
        | papergist verify -
    """
    items, single = _verify_input(file)
    with _open(load_settings(), quiet=True) as pg:
        verdicts = pg.verify(items)
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
        problem = summary_problem(item)
        if problem:
            raise UsageError(f"item {n} of {file}: {problem}")
    return items, isinstance(data, dict)


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
          verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True, show_default=False, help="Log retries, waits, 429s, window changes and "
        "fallbacks on stderr: -v info, -vv debug. Also accepted after the command.")] = 0,
          log_json: Annotated[bool, typer.Option(
        "--log-json", help="Log as one JSON object per line on stderr (time, level, logger, "
        "message and the record's fields); implies -v. Also accepted after the command.")] = False,
) -> None:
    """Daily digests of AI papers (see each command's --help)."""
    logs.configure(max(verbose, 1 if log_json else 0), log_json, redactor())


LOG_OPTIONS = frozenset({"--verbose", "--log-json"})


def hoist_log_options(argv: list[str]) -> list[str]:
    """`-v`, `-vv`, `--verbose` and `--log-json` moved before the command, so that
    `papergist digest -v` means `papergist -v digest` (the options are the root's)."""
    end = argv.index("--") if "--" in argv else len(argv)

    def is_log(arg: str) -> bool:
        return arg in LOG_OPTIONS or (len(arg) > 1 and arg[0] == "-" and set(arg[1:]) == {"v"})

    moved = [a for a in argv[:end] if is_log(a)]
    return moved + [a for a in argv[:end] if not is_log(a)] + argv[end:]


app.command("search")(search_command)
app.command("serve")(serve_command)

cache_app = typer.Typer(help="The full-text cache: arXiv HTML pages and PDFs kept on disk.",
                        no_args_is_help=True, rich_markup_mode=None)
app.add_typer(cache_app, name="cache")


def now() -> float:
    """Seconds since the epoch; tests replace this one function to age the cache."""
    return time.time()


@cache_app.command("info")
def cache_info_command() -> None:
    """Show where the full-text cache is, how many files and bytes, and its 404 markers.

    \b
    Example:
      papergist cache info
    """
    with _open(load_settings(), quiet=True) as pg:
        pg.wall_clock = now
        info = pg.cache_info()
    typer.echo(f"{info.path}: {info.files} files, {info.bytes:,} bytes; "
               f"{info.missing_markers} 404 markers ({info.expired_markers} expired)")


@cache_app.command("clear")
def cache_clear_command(
    older_than: Annotated[Optional[float], typer.Option(
        "--older-than", metavar="DAYS", help="Delete only files written more than DAYS "
        "days ago (default: everything).")] = None,
) -> None:
    """Delete the full-text cache (the next run downloads what it needs again).

    \b
    Examples:
      papergist cache clear
      papergist cache clear --older-than 30
    """
    with _open(load_settings(), quiet=True) as pg:
        pg.wall_clock = now
        done = pg.cache_clear(timedelta(days=older_than) if older_than is not None else None)
    typer.echo(f"{done.path}: deleted {done.files} files, {done.bytes:,} bytes")


def utf8_streams() -> None:
    """Read stdin and write stdout in UTF-8 whatever the locale says (Windows, LC_ALL=C,
    PYTHONIOENCODING=ascii), strictly: a digest is never written with characters lost."""
    for stream in (sys.stdin, sys.stdout):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and codecs.lookup(stream.encoding).name != "utf-8":
            reconfigure(encoding="utf-8", errors="strict")


def main(argv: list[str] | None = None) -> None:
    """Entry point: known errors become one line on stderr and their exit status."""
    forget_secrets()  # the settings of this invocation decide what is secret
    utf8_streams()
    try:
        app(args=hoist_log_options(sys.argv[1:] if argv is None else argv),
            prog_name="papergist")
    except PapergistError as exc:
        say(f"papergist: error: {exc}")
        sys.exit(exit_status(exc))
    except KeyboardInterrupt:  # before or after a command (the commands say it themselves)
        say(INTERRUPTED_LINE)
        sys.exit(INTERRUPTED)
    finally:
        logs.unconfigure()

