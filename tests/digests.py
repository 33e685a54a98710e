"""Digests made of real fixture days, with offline summaries, for renderer tests."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from fakes import load_day
from papergist.errors import SummarizeError
from papergist.models import Digest, DigestItem, PaperFailure
from papergist.sources.hf_daily import parse_day
from papergist.summarize.offline import OfflineSummarizer


def fixture_items(day: str) -> list[DigestItem]:
    """A recorded day's papers in reading order, each with its summary or its failure."""
    listed, _ = parse_day(date.fromisoformat(day), load_day(day))
    summarizer, items = OfflineSummarizer(), []
    for entry in listed.entries:
        try:
            summary = summarizer.summarize(entry.paper, "en")
        except SummarizeError as exc:
            failure = PaperFailure(paper_id=entry.paper.id, stage="summarize", reason=str(exc))
            items.append(DigestItem(paper=entry.paper, rank=entry.rank, upvotes=entry.upvotes,
                                    failure=failure))
        else:
            items.append(DigestItem(paper=entry.paper, rank=entry.rank, upvotes=entry.upvotes,
                                    summary=summary))
    return sorted(items, key=lambda i: (-(i.upvotes or 0), i.rank))


@lru_cache(maxsize=None)
def fixture_digest(day: str) -> Digest:
    """The digest of a recorded day."""
    return Digest(date=date.fromisoformat(day), items=tuple(fixture_items(day)))
