"""The local store (SQLite now; the schema and queries are portable to PostgreSQL).

`sql.Store` is the interface; `engine` opens databases and makes transactions,
`migrations` holds the append-only schema, `leases` the summary leases and
`bodies` the stored JSON that must outlive model changes.
"""

from papergist.store.sql import Store

__all__ = ["Store"]
