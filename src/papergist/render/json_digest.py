"""The digest as JSON for machines. The documented keys are a stable contract."""

from __future__ import annotations

import json
from typing import Any

from papergist.models import Digest, DigestItem, Usage


def item_dict(item: DigestItem) -> dict[str, Any]:
    """One paper: the contract keys first, then everything else we know (and, only for
    a paper whose fields were clipped as they entered, `clipped`: field -> original
    length)."""
    paper, summary = item.paper, item.summary
    clipped = {"clipped": dict(paper.clipped)} if paper.clipped else {}
    ranked = {"relevance": item.relevance.model_dump()} if item.relevance else {}
    return {
        "id": paper.id,
        "title": paper.title,
        "authors": list(paper.authors),
        "upvotes": item.upvotes,
        "url": paper.url,
        "thumbnail": paper.thumbnail,
        "sections": summary.sections.model_dump() if summary else None,
        "summarizer": summary.summarizer if summary else None,
        "source": summary.source if summary else "none",
        "rank": item.rank,
        "abstract": paper.abstract,
        "published_at": paper.published_at.isoformat() if paper.published_at else None,
        "github_repo": paper.github_repo,
        "project_page": paper.project_page,
        "organization": paper.organization,
        "model": summary.model if summary else None,
        "language": summary.language if summary else None,
        "usage": summary.usage.model_dump() if summary else None,
        "attempts": item.attempts,
        "source_notes": list(item.source_notes),
        "verification": summary.verification.model_dump(exclude={"warn"})
        if summary and summary.verification else None,
        "failure": item.failure.model_dump() if item.failure else None,
        **clipped,
        **ranked,
    }


def render_json(digest: Digest) -> str:
    """`{"date": ..., "papers": [...]}`, UTF-8 text, ending with one newline."""
    usage = sum((i.summary.usage for i in digest.items if i.summary), Usage())
    period: dict[str, object] = {"period": digest.label} \
        if digest.kind in ("weekly", "monthly") else {}
    if digest.kind == "arxiv":
        period = {"categories": list(digest.categories)}
    doc = {"date": digest.date.isoformat(), "kind": digest.kind, **period,
           "usage": usage.model_dump(), "papers": [item_dict(i) for i in digest.items]}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
