"""The store's engine: SQLite pragmas and transactions that mean what they say.

pysqlite's legacy transaction mode begins a transaction lazily, only before
INSERT/UPDATE/DELETE and never before DDL, so a migration's `ALTER TABLE`s
would each commit on their own and two processes could interleave them. We
follow SQLAlchemy's documented recipe instead: pysqlite's own BEGIN is turned
off (`isolation_level = None`) and a `begin` event emits ours, `BEGIN` for
reads and `BEGIN IMMEDIATE` for writes (see `write_transaction`). A write
that starts as `BEGIN IMMEDIATE` takes the write lock up front, waiting up to
`busy_timeout`; a deferred transaction upgraded to a write in WAL mode fails
at once with "database is locked" if another process wrote meanwhile.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import sqlalchemy as sa

BEGIN_OPTION = "papergist_begin"
"""Execution option naming the statement that begins a SQLite transaction."""
WRITE_LOCK = 0x7061706572  # the PostgreSQL advisory lock every write transaction takes


def create_engine(url: str, busy_timeout: float) -> sa.Engine:
    """An engine for `url`: for SQLite with our pragmas and explicit BEGINs; for
    PostgreSQL waiting at most `busy_timeout` for a lock, as SQLite does."""
    if sa.make_url(url).get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, connect_args={
            "options": f"-c lock_timeout={int(busy_timeout * 1000)}"})
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect(busy_timeout))
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(busy_timeout: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, in _sqlite_begin
        cur = dbapi_conn.cursor()
        # First: switching a fresh file to WAL takes a lock another opener may hold.
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _switch_to_wal(cur, busy_timeout)
        cur.close()
    return on_connect


def _switch_to_wal(cur: Any, busy_timeout: float) -> None:
    # Two processes converting a fresh file at once can deadlock on its
    # locks; SQLite then answers "database is locked" without waiting, so
    # we retry until busy_timeout has passed.
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get(BEGIN_OPTION, "BEGIN"))


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction that holds the store's write lock from its first statement.

    SQLite: `BEGIN IMMEDIATE`. PostgreSQL: a transaction-level advisory lock, so
    writers take turns there too and a read-then-write (a lease, a delivery claim,
    a migration) sees no other writer between its read and its write. Readers are
    never blocked on either.
    """
    with engine.connect() as conn:
        conn.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            yield conn


def dialect_insert(bind: sa.Engine | sa.Connection, table: sa.Table) -> Any:
    """An INSERT for `table` that can take `ON CONFLICT` (SQLite and PostgreSQL)."""
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql
        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite
    return sqlite.insert(table)
