"""The full-text cache on disk: names, versions, 404 markers, and its upkeep.

Files live in `$PAPERGIST_HOME/cache/fulltext/`: `ID{version}.html` and
`ID{version}.pdf` (old-style ids with `/` as `_`), keyed by the arXiv version
arXiv actually served, and `ID{version}.html.404` / `.pdf.404` markers for
pages arXiv did not have. A marker expires after `MISSING_TTL` (arXiv converts
papers to HTML late, and a new version may bring what the old one lacked).

A paper asked without a version (HF Daily Papers gives none) gets what arXiv
serves now; the version served is remembered in an alias `ID.html.latest`
(empty when the page did not tell: then the file has the unversioned name) for
`LATEST_TTL`, so a re-run the same day downloads nothing, and a day later arXiv
is asked again: a newer version is fetched, never stood in for by an old one.
A paper asked with a version only ever gets that version's file.
Every age is measured against an injected clock (seconds since the epoch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

MISSING_TTL = timedelta(days=3)  # how long a remembered 404 is believed
LATEST_TTL = timedelta(days=1)  # how long "the newest version is vN" is believed
MARKER = ".404"
ALIAS = ".latest"


def cache_name(paper_id: str, version: str | None, kind: str) -> str:
    """`2408.12637v2.html`; `hep-th_9901001.pdf` for an old-style id without version."""
    return f"{paper_id.replace('/', '_')}{version or ''}.{kind}"


def served_version(paper_id: str, url: str, data: bytes, kind: str) -> str | None:
    """The version arXiv served (`v2`), from the URL that answered (after redirects) or,
    for a LaTeXML page, from its `<base>`, canonical link or `arxiv.org/abs/IDvN` text;
    None when neither tells."""
    ident = re.escape(paper_id)
    found = re.search(rf"/(?:html|pdf|abs)/{ident}(v\d+)\b", url)
    if found or kind != "html":
        return found.group(1) if found else None
    page = data.decode("utf-8", errors="replace")
    for pattern in (rf"<base\b[^>]*href=\"[^\"]*/{ident}(v\d+)\b",
                    rf"<link\b[^>]*rel=\"canonical\"[^>]*/{ident}(v\d+)\b",
                    rf"arxiv\.org/abs/{ident}(v\d+)\b", rf"arXiv:{ident}(v\d+)\b"):
        found = re.search(pattern, page)
        if found:
            return found.group(1)
    return None


def alias_name(paper_id: str, kind: str) -> str:
    """`2408.12637.html.latest`: which version an unversioned request got last."""
    return f"{cache_name(paper_id, None, kind)}{ALIAS}"


def latest(directory: Path, paper_id: str, kind: str, now: float) -> tuple[Path, str | None] | None:
    """The cached file (and its version) an unversioned request got within `LATEST_TTL`."""
    alias = directory / alias_name(paper_id, kind)
    if not marker_fresh(alias, now, LATEST_TTL):
        return None
    version = alias.read_text(encoding="ascii", errors="replace").strip() or None
    path = directory / cache_name(paper_id, version, kind)
    return (path, version) if path.exists() else None


def marker_fresh(marker: Path, now: float, ttl: timedelta = MISSING_TTL) -> bool:
    """True while a 404 marker is younger than `ttl`; an expired one is deleted."""
    try:
        age = now - marker.stat().st_mtime
    except FileNotFoundError:
        return False
    if age < ttl.total_seconds():
        return True
    marker.unlink(missing_ok=True)
    return False


@dataclass(frozen=True)
class CacheInfo:
    """What the full-text cache holds: files (markers included), their bytes, markers."""

    path: Path
    files: int
    bytes: int
    missing_markers: int
    expired_markers: int


@dataclass(frozen=True)
class CacheCleared:
    """What `clear_cache` removed."""

    path: Path
    files: int
    bytes: int


def _files(directory: Path) -> list[Path]:
    """The cache's files, oldest name first (none when it does not exist yet)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file())


def cache_info(directory: Path, now: float, ttl: timedelta = MISSING_TTL) -> CacheInfo:
    """Count the cache's files, bytes and 404 markers (and how many have expired)."""
    files = _files(directory)
    markers = [p for p in files if p.name.endswith(MARKER)]
    expired = [p for p in markers if now - p.stat().st_mtime >= ttl.total_seconds()]
    return CacheInfo(path=directory, files=len(files), bytes=sum(p.stat().st_size for p in files),
                     missing_markers=len(markers), expired_markers=len(expired))


def clear_cache(directory: Path, now: float, older_than: timedelta | None = None) -> CacheCleared:
    """Delete the cache's files (only those last written more than `older_than` ago)."""
    removed, size = 0, 0
    for path in _files(directory):
        stat = path.stat()
        if older_than is not None and now - stat.st_mtime <= older_than.total_seconds():
            continue
        path.unlink(missing_ok=True)
        removed, size = removed + 1, size + stat.st_size
    return CacheCleared(path=directory, files=removed, bytes=size)
