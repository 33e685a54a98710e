"""The reading commands: `papergist search` and `papergist serve` (registered by `cli`).

Each opens the front door, makes one call and prints or serves what it returns;
the web app and these commands share `Papergist.search` and `Papergist.archive`.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Optional

import typer

from papergist.console import QuietProgress, StderrProgress, say
from papergist.core import MAX_SEARCH_LIMIT, Papergist
from papergist.errors import UsageError
from papergist.exits import EMPTY, OK
from papergist.models import SearchResults, period_label
from papergist.settings import load_settings

SNIPPET_WIDTH = 160


def search_command(
    query: Annotated[list[str], typer.Argument(
        metavar="WORDS...", help="Words that must all appear; \"a phrase\" in quotes; word* "
                                 "for a prefix.")],
    limit: Annotated[int, typer.Option(
        "--limit", "-n", metavar="N", help=f"At most N papers (1 to {MAX_SEARCH_LIMIT}).")] = 20,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", metavar="FORMAT", help="text (one paper per line) or json.")] = "text",
    lang: Annotated[Optional[str], typer.Option(
        "--lang", metavar="CODE", help="Search the summaries in this language (default: "
                                       "the language setting).")] = None,
    meaning: Annotated[bool, typer.Option(
        "--meaning", help="By meaning: the papers whose title and abstract are closest to "
        "WORDS, whatever their words (needs papergist[semantic]).")] = False,
) -> None:
    """Search the stored digests: titles, authors, abstracts and summaries.

    Best matches first. Exit status 4 when no paper matches.

    \b
    Examples:
      papergist search diffusion transformer
      papergist search '"vision-language model"' --limit 5
      papergist search 모델 --lang ko --format json
      papergist search --meaning making videos from a text prompt
    """
    if fmt not in ("text", "json"):
        raise UsageError(f"unknown format {fmt!r}: use text or json")
    settings = load_settings({"language": lang})
    with StderrProgress() as progress, Papergist(settings, progress=progress) as pg:
        results = pg.search(" ".join(query), limit=limit, by="meaning" if meaning else "words")
    if fmt == "json":
        typer.echo(json.dumps(results.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        typer.echo(text_results(results), nl=False)
    if not results.hits:
        say(f"No paper in the {results.language} digests matches {results.query!r}.")
    raise typer.Exit(OK if results.hits else EMPTY)


def text_results(results: SearchResults) -> str:
    """One paragraph per hit: digest, id, votes and title; authors; the matched text."""
    lines = []
    for hit in results.hits:
        votes = f"  ▲ {hit.upvotes}" if hit.upvotes is not None else ""
        lines.append(f"{period_label(hit.kind, hit.date)}  {hit.paper_id}{votes}  {hit.title}")
        if hit.authors:
            more = f" and {len(hit.authors) - 3} more" if len(hit.authors) > 3 else ""
            lines.append(f"    {', '.join(hit.authors[:3])}{more}")
        snippet = " ".join(hit.snippet.split())
        lines.append(f"    {snippet[:SNIPPET_WIDTH]}" + ("…" if len(snippet) > SNIPPET_WIDTH
                                                          else ""))
    return "".join(line + "\n" for line in lines)


def serve_command(
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS", help="Address to listen on (default: this machine only).")]
        = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="N", help="Port to listen on.")] = 8000,
    lang: Annotated[Optional[str], typer.Option(
        "--lang", metavar="CODE", help="Serve the digests in this language (default: the "
                                       "language setting).")] = None,
) -> None:
    """Serve the archive: day and paper pages, search, an Atom feed and a JSON API.

    Read-only over the store; run `papergist digest` (by cron) beside it.

    \b
    Examples:
      papergist serve                      # http://127.0.0.1:8000/
      papergist serve --host 0.0.0.0 --port 8080 --lang ko
    """
    import uvicorn

    from papergist.web import create_app

    settings = load_settings({"language": lang})
    with Papergist(settings, progress=QuietProgress()) as pg:
        if not _loopback(host):
            say(f"Serving on {host}: anyone who can reach this machine can read the archive.")
        say(f"Serving the {pg.language} archive of {settings.home} on http://{host}:{port}/ "
            "(Ctrl-C stops)")
        uvicorn.run(create_app(pg), host=host, port=port, log_level="warning")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
