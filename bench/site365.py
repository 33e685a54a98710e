"""Benchmark: the static archive of 365 days of 30 papers, full and incremental (issue 5).

Targets: full build under 20 s, incremental (one new day) under 1 s. The store is
filled with 365 digests made of real fixture papers (ids renumbered per day) and
their offline summaries; then `build_site` runs on an empty directory (full), again
with nothing changed, and again after one more day was stored (incremental).

    python bench/site365.py
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from day50 import cpu_name  # noqa: E402
from fakes import HF_FIXTURES, load_day  # noqa: E402

from papergist.models import Digest, DigestItem  # noqa: E402
from papergist.site import build_site  # noqa: E402
from papergist.sources.hf_daily import parse_day  # noqa: E402
from papergist.store import Store  # noqa: E402
from papergist.summarize.offline import OfflineSummarizer  # noqa: E402

START = date(2025, 1, 1)


def pool() -> list[DigestItem]:
    """Every fixture paper with its offline summary."""
    summarizer = OfflineSummarizer()
    items = []
    for path in sorted(HF_FIXTURES.glob("*.json")):
        daily, _ = parse_day(date.fromisoformat(path.stem), load_day(path.stem))
        for entry in daily.entries:
            items.append(DigestItem(paper=entry.paper, rank=entry.rank, upvotes=entry.upvotes,
                                    summary=summarizer.summarize(entry.paper, "en")))
    return items


def digest_for(day: date, items: list[DigestItem]) -> Digest:
    n = (day - START).days
    chosen = [items[(n * 30 + i) % len(items)] for i in range(30)]
    renumbered = []
    for rank, item in enumerate(chosen, 1):
        paper_id = f"25{n // 28 + 1:02d}.{n * 30 + rank:05d}"
        paper = item.paper.model_copy(update={"id": paper_id})
        summary = item.summary.model_copy(update={"paper_id": paper_id})
        renumbered.append(item.model_copy(update={"paper": paper, "summary": summary,
                                                  "rank": rank}))
    return Digest(date=day, items=tuple(renumbered))


def main() -> None:
    items = pool()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "papergist.db")
        for n in range(365):
            store.save_digest(digest_for(START + timedelta(days=n), items), "en")
        out = Path(tmp) / "public"
        rows = []
        for name in ("full (365 days)", "nothing changed"):
            t0 = time.perf_counter()
            report = build_site(store, out, language="en", site_url="https://papers.example.org")
            rows.append((name, time.perf_counter() - t0, report))
        store.save_digest(digest_for(START + timedelta(days=365), items), "en")
        t0 = time.perf_counter()
        report = build_site(store, out, language="en", site_url="https://papers.example.org")
        rows.append(("incremental (one new day)", time.perf_counter() - t0, report))
        files = sum(1 for _ in out.rglob("*.html"))
        store.close()
    print(f"# {date.today()} · {cpu_name()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()}")
    print("| build | seconds | days rendered | files written | files unchanged |")
    print("|---|---|---|---|---|")
    for name, seconds, r in rows:
        print(f"| {name} | {seconds:.2f} | {r.rendered_days} | {r.written} | {r.unchanged} |")
    print(f"\n{files} HTML pages in the archive.")


if __name__ == "__main__":
    main()
