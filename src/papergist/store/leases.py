"""Summary leases: one process summarizes a given input while the others wait.

A lease is a row keyed like a summary (paper, model, language, prompt
version, source, source hash) naming its owner and when it expires, in the
seconds of the store's clock. Taking one is a single conditional upsert, so
it is atomic on SQLite (inside `BEGIN IMMEDIATE`) and on PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from papergist.store.engine import dialect_insert

KEY = ("paper_id", "model", "language", "prompt_version", "source", "source_hash")
"""The columns that identify a lease, the same as a summary's."""


def claim(conn: sa.Connection, table: sa.Table, key: dict[str, str], owner: str,
          now: float, ttl: float) -> bool:
    """Take the lease at `key` if it is free, expired or `owner`'s; whether we hold it."""
    stmt = dialect_insert(conn.engine, table).values(**key, owner=owner, expires_at=now + ttl)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at},
        where=(table.c.owner == owner) | (table.c.expires_at <= now)))
    holder = conn.execute(sa.select(table.c.owner).where(*_match(table, key))).scalar()
    return holder == owner


def release(conn: sa.Connection, table: sa.Table, key: dict[str, str], owner: str) -> None:
    """Give the lease at `key` back, if `owner` still holds it."""
    conn.execute(table.delete().where(*_match(table, key), table.c.owner == owner))


def _match(table: sa.Table, key: dict[str, Any]) -> list[Any]:
    return [table.c[name] == key[name] for name in KEY]
