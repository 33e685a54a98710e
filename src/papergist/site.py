"""The static archive: `papergist site DIR` for GitHub Pages or any web server.

Writes an index of days with a client-side search, a page per day and per paper
(`papergist.render.html`), a page per week, month, id list and arXiv listing, the
Atom feed, and `search.json`. Incremental: a
manifest in DIR remembers a hash of each day's digest and that day's search
entries, so a re-run renders only the days whose digest changed, and a file is
rewritten only when its content differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment

from papergist.deliver.files import write_atomic
from papergist.models import Digest
from papergist.render.atom import render_atom
from papergist.render.common import KIND_NAMES
from papergist.render.html import day_path, paper_path, render_html, render_paper_html
from papergist.store import Store

SITE_VERSION = "2"  # bump when a renderer changes, to rebuild every page
MANIFEST = ".papergist-site.json"
FEED_DAYS = 30
OTHER_KINDS = ("weekly", "monthly", "arxiv", "ids")
_ENV = Environment(autoescape=True, keep_trailing_newline=True)
INDEX = _ENV.from_string("""<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'">
<title>{{ title }}</title>
{% if feed %}<link rel="alternate" type="application/atom+xml" title="{{ title }}" href="feed.xml">{% endif %}
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:auto;padding:1rem;color:#222}
a{color:#0b57d0}input{width:100%;font-size:1.1rem;padding:.5rem;box-sizing:border-box}
li{margin:.3rem 0}.meta{color:#666;font-size:.9rem}
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{% if feed %}<a href="feed.xml">Atom feed</a> · {% endif %}{{ days|length }} days · {{ papers }} papers</p>
<label for="q">Search titles, authors and summaries</label>
<input id="q" type="search" placeholder="e.g. diffusion, Laurençon, GSM8K" autocomplete="off">
<p id="status" class="meta"></p>
<ol id="results"></ol>
<h2>Days</h2>
<ul id="days">
{% for day in days %}<li><a href="{{ day.href }}">{{ day.date }}</a> <span class="meta">{{ day.count }} papers</span></li>
{% endfor %}</ul>
{% if others %}<h2>Weeks, months and arXiv lists</h2>
<ul id="others">
{% for other in others %}<li><a href="{{ other.href }}">{{ other.name }}</a> <span class="meta">{{ other.count }} papers</span></li>
{% endfor %}</ul>
{% endif %}
<script src="search.js"></script>
</body>
</html>
""")
SEARCH_JS = """// papergist archive search: every term must appear (case-insensitive).
"use strict";
(function () {
  const box = document.getElementById("q");
  const list = document.getElementById("results");
  const status = document.getElementById("status");
  let entries = null;
  fetch("search.json").then(r => r.json()).then(data => {
    entries = data.map(e => ({e: e, text: (e.t + " " + e.a + " " + e.s).toLowerCase()}));
    status.textContent = entries.length + " papers searchable";
  }).catch(() => { status.textContent = "search is unavailable"; });
  box.addEventListener("input", () => {
    list.replaceChildren();
    const terms = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    if (!entries || !terms.length) return;
    const hits = entries.filter(x => terms.every(t => x.text.includes(t))).slice(0, 50);
    status.textContent = hits.length ? hits.length + " shown" : "no paper matches";
    for (const {e} of hits) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = e.u;
      a.textContent = e.t;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " " + e.d + " · " + e.a;
      li.append(a, meta);
      list.append(li);
    }
  });
})();
"""


@dataclass
class SiteReport:
    """What a build wrote."""

    days: int = 0
    rendered_days: int = 0
    written: int = 0
    unchanged: int = 0
    others: int = 0  # weeks, months, id lists and arXiv listings, each a page of its own


def _write(path: Path, text: str, report: SiteReport) -> None:
    """Write only when the content differs (so a web server's caches stay valid)."""
    try:
        if path.read_text(encoding="utf-8") == text:
            report.unchanged += 1
            return
    except (OSError, UnicodeDecodeError):
        pass
    write_atomic(path, text)
    report.written += 1


def _search_entries(digest: Digest) -> list[dict[str, str]]:
    entries = []
    for item in digest.items:
        sections = item.summary.sections.model_dump().values() if item.summary else ()
        entries.append({"d": digest.date.isoformat(), "t": item.paper.title,
                        "a": ", ".join(item.paper.authors), "s": " ".join(sections),
                        "u": paper_path(digest.date, item.paper.id)})
    return entries


def _load_manifest(out: Path, site_url: str) -> dict:
    """What an earlier build wrote; nothing when the renderers or the site URL changed."""
    fresh = {"version": SITE_VERSION, "site_url": site_url, "days": {}}
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fresh
    same = data.get("version") == SITE_VERSION and data.get("site_url") == site_url
    return data if same else fresh


def _render_day(digest: Digest, out: Path, feed: bool, report: SiteReport) -> None:
    site = "../../.."  # day and paper pages sit three levels below the root
    _write(out / day_path(digest.date), render_html(digest, site_url=site, feed=feed), report)
    for item in digest.items:
        _write(out / paper_path(digest.date, item.paper.id),
               render_paper_html(item, digest, site_url=site, feed=feed), report)


def build_site(store: Store, out: Path, *, language: str, site_url: str = "",
               title: str = "papergist: Daily Papers") -> SiteReport:
    """Write (or bring up to date) the static archive of every stored day."""
    report = SiteReport()
    site_url = site_url.rstrip("/")
    manifest = _load_manifest(out, site_url)
    stamps = store.digest_stamps(language)
    seen = manifest["days"]
    for day, stamp in sorted(stamps.items()):
        key = day.isoformat()
        if seen.get(key, {}).get("stamp") == stamp:
            continue
        digest = store.load_digest(day, language)
        if digest is None:  # removed since its stamp was read
            continue
        _render_day(digest, out, bool(site_url), report)
        seen[key] = {"stamp": stamp, "count": len(digest.items),
                     "search": _search_entries(digest)}
        report.rendered_days += 1
    for key in [k for k in seen if date.fromisoformat(k) not in stamps]:
        del seen[key]
    report.days = len(seen)
    others = _build_others(store, out, language, manifest.setdefault("others", {}), report)
    _write_index(out, seen, others, language, title, bool(site_url), report)
    if site_url:  # a feed's ids and links must be absolute
        _write_feed(store, out, sorted(stamps, reverse=True)[:FEED_DAYS], language, site_url,
                    title, report)
    write_atomic(out / MANIFEST, json.dumps(manifest, ensure_ascii=False))
    return report


def _build_others(store: Store, out: Path, language: str, seen: dict,
                  report: SiteReport) -> list[dict]:
    """A page for each stored week, month, id list and arXiv listing, at
    KIND/LABEL/index.html (as `papergist serve` has them); its papers link to arXiv.
    A digest is read only when its stamp changed: the archive gives label and count."""
    entries = sorted((e for e in store.archive(language) if e.kind in OTHER_KINDS),
                     key=lambda e: OTHER_KINDS.index(e.kind))  # newest first within a kind
    stamps = {kind: store.digest_stamps(language, kind) for kind in {e.kind for e in entries}}
    listed = []
    for entry in entries:
        path = f"{entry.kind}/{entry.label}/index.html"
        stamp = stamps[entry.kind].get(entry.date)
        if seen.get(path) != stamp:
            digest = store.load_digest(entry.date, language, entry.kind)
            if digest is None:  # removed since the archive was read
                continue
            _write(out / path, render_html(digest), report)
            seen[path] = stamp
        listed.append({"href": path, "name": f"{KIND_NAMES[entry.kind]} {entry.label}",
                       "count": entry.papers})
    report.others = len(listed)
    return listed


def _write_index(out: Path, seen: dict, others: list[dict], language: str, title: str,
                 feed: bool, report: SiteReport) -> None:
    days = [{"date": key, "count": value["count"], "href": day_path(date.fromisoformat(key))}
            for key, value in sorted(seen.items(), reverse=True)]
    entries = [e for key in sorted(seen, reverse=True) for e in seen[key]["search"]]
    _write(out / "index.html", INDEX.render(lang=language.split("-")[0], title=title, days=days,
                                            others=others, papers=len(entries), feed=feed),
           report)
    _write(out / "search.json", json.dumps(entries, ensure_ascii=False, separators=(",", ":")),
           report)
    _write(out / "search.js", SEARCH_JS, report)


def _write_feed(store: Store, out: Path, days: list[date], language: str, site_url: str,
                title: str, report: SiteReport) -> None:
    digests = [d for d in (store.load_digest(day, language) for day in days) if d]
    _write(out / "feed.xml", render_atom(digests, feed_url=f"{site_url}/feed.xml",
                                         site_url=site_url, title=title, language=language),
           report)
