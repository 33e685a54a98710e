"""What changed between the digest a destination got and the corrected one.

Pure functions: a chat channel that already got a digest gets a follow-up -- one
notice ("Updated digest for DAY: N of M papers now summarized") and then the
papers whose summary changed, rendered as usual -- instead of the whole digest
again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from papergist.models import Digest, DigestItem


def _seen(item: DigestItem) -> Any:
    """What a reader is sent of one paper: its summary (and verdict) or its failure.

    Votes, tokens, attempts and times change on every run and are no correction.
    """
    summary = item.summary
    return [item.paper.id, item.paper.title,
            summary.sections.model_dump() if summary else None,
            summary.verification.status if summary and summary.verification else None,
            item.failure.reason if item.failure else None]


def digest_version(digest: Digest) -> str:
    """A short hash of what readers are sent: equal content, equal versions."""
    content = json.dumps([digest.date.isoformat(), digest.kind,
                          [_seen(item) for item in digest.items]], ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]


def summarized(digest: Digest) -> int:
    """How many papers of the digest have a summary."""
    return sum(1 for item in digest.items if item.summary is not None)


def changed_items(old: Digest, new: Digest) -> tuple[DigestItem, ...]:
    """The papers of `new` that are new or whose summary or failure differs in `old`."""
    before = {item.paper.id: item for item in old.items}
    return tuple(item for item in new.items
                 if (was := before.get(item.paper.id)) is None or _seen(was) != _seen(item))


def changes(old: Digest, new: Digest) -> Digest:
    """A digest of only the changed papers of `new` (in `new`'s order)."""
    return Digest(date=new.date, items=changed_items(old, new), kind=new.kind)


def update_notice(old: Digest, new: Digest) -> str:
    """One line saying what changed, e.g. "Updated digest for 2024-08-26: 11 of 11
    papers now summarized (was 9); 2 changed papers follow."."""
    changed = len(changed_items(old, new))
    line = (f"Updated digest for {new.label}: {summarized(new)} of {len(new.items)} "
            f"papers now summarized (was {summarized(old)})")
    if changed:
        line += f"; {changed} changed {'paper follows' if changed == 1 else 'papers follow'}"
    return line + "."
