"""The local store (SQLite now; the schema and queries are portable to PostgreSQL)."""

from papergist.store.sql import Store

__all__ = ["Store"]
