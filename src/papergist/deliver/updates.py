"""What changed between the digest a destination got and the corrected one.

Pure functions: a chat channel that already got a digest gets a follow-up -- one
notice ("Updated digest for DAY: N of M papers now summarized") and then the
papers whose summary changed, rendered as usual -- instead of the whole digest
again.
"""

from __future__ import annotations

import hashlib

from papergist.models import Digest, DigestItem


def digest_version(digest: Digest) -> str:
    """A short hash of the digest's body: equal bodies, equal versions."""
    return hashlib.sha256(digest.model_dump_json().encode("utf-8")).hexdigest()[:16]


def summarized(digest: Digest) -> int:
    """How many papers of the digest have a summary."""
    return sum(1 for item in digest.items if item.summary is not None)


def changed_items(old: Digest, new: Digest) -> tuple[DigestItem, ...]:
    """The papers of `new` that are new or whose summary or failure differs in `old`."""
    before = {item.paper.id: item for item in old.items}
    return tuple(item for item in new.items
                 if (was := before.get(item.paper.id)) is None
                 or (was.summary, was.failure) != (item.summary, item.failure))


def changes(old: Digest, new: Digest) -> Digest:
    """A digest of only the changed papers of `new` (in `new`'s order)."""
    return Digest(date=new.date, items=changed_items(old, new), kind=new.kind)


def update_notice(old: Digest, new: Digest) -> str:
    """One line saying what changed, e.g. "Updated digest for 2024-08-26: 11 of 11
    papers now summarized (was 9); 2 changed papers follow."."""
    changed = len(changed_items(old, new))
    line = (f"Updated digest for {new.date.isoformat()}: {summarized(new)} of {len(new.items)} "
            f"papers now summarized (was {summarized(old)})")
    if changed:
        line += f"; {changed} changed {'paper follows' if changed == 1 else 'papers follow'}"
    return line + "."
