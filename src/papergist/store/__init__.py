"""The local store (SQLite now; the schema is portable to PostgreSQL)."""
