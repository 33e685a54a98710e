"""Named, append-only schema migrations, recorded in `schema_migrations`.

Each migration states its own DDL with SQLAlchemy types, so the same list runs
on SQLite today and on PostgreSQL later. Never edit a migration that has been
released: add a new one at the end.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from papergist.errors import StoreError
from papergist.store import bodies, search
from papergist.store.engine import write_transaction


def _initial(conn: Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "papers", md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(8)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("published_at", sa.String(40)),
        sa.Column("thumbnail", sa.Text),
        sa.Column("media_urls", sa.Text, nullable=False),  # JSON list
        sa.Column("github_repo", sa.Text),
        sa.Column("project_page", sa.Text),
        sa.Column("organization", sa.Text),
        sa.Column("ai_summary", sa.Text),
        sa.Column("ai_keywords", sa.Text, nullable=False),  # JSON list
        sa.Column("comments", sa.Integer),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    sa.Table(
        "paper_authors", md,
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    sa.Table(
        "daily_entries", md,
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("upvotes", sa.Integer),
        sa.Column("fetched_at", sa.String(40), nullable=False),
    )
    sa.Table(
        "summaries", md,
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("language", sa.String(16), primary_key=True),
        sa.Column("prompt_version", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("source_hash", sa.String(64), primary_key=True),
        sa.Column("summarizer", sa.String(64), nullable=False),
        sa.Column("whats_new", sa.Text, nullable=False),
        sa.Column("technical_details", sa.Text, nullable=False),
        sa.Column("performance_highlights", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    sa.Table(
        "runs", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("day", sa.String(10)),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40)),
        sa.Column("fetched", sa.Integer),
        sa.Column("summarized", sa.Integer),
        sa.Column("failed", sa.Integer),
        sa.Column("exit_status", sa.Integer),
        sa.Column("failures", sa.Text),  # JSON list of {paper_id, stage, reason}
    )
    sa.Index("daily_entries_paper", md.tables["daily_entries"].c.paper_id)
    md.create_all(conn)


def _summary_usage(conn: Connection) -> None:
    """Which paper version a summary was written from, and the tokens it cost."""
    for column in ("paper_version VARCHAR(8)", "prompt_tokens INTEGER NOT NULL DEFAULT 0",
                   "completion_tokens INTEGER NOT NULL DEFAULT 0",
                   "requests INTEGER NOT NULL DEFAULT 0"):
        conn.execute(sa.text(f"ALTER TABLE summaries ADD COLUMN {column}"))


def _summary_verification(conn: Connection) -> None:
    """The verdict of checking a summary against its source (JSON)."""
    conn.execute(sa.text("ALTER TABLE summaries ADD COLUMN verification TEXT"))


def _digests_and_deliveries(conn: Connection) -> None:
    """Each built digest (as JSON), and each delivery of one to a destination."""
    md = sa.MetaData()
    sa.Table(
        "digests", md,
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("language", sa.String(16), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),  # the Digest model as JSON
        sa.Column("built_at", sa.String(40), nullable=False),
    )
    sa.Table(
        "deliveries", md,
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("language", sa.String(16), primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("destination", sa.String(200), primary_key=True),  # redacted, never a secret
        sa.Column("status", sa.String(16), nullable=False),  # delivered | failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    md.create_all(conn)


def _summary_leases_and_digest_schema(conn: Connection) -> None:
    """Who is summarizing which input now (see `Store.claim_summary`), and the
    version of the JSON each stored digest body was written in."""
    md = sa.MetaData()
    sa.Table(
        "summary_leases", md,
        sa.Column("paper_id", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("language", sa.String(16), primary_key=True),
        sa.Column("prompt_version", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("source_hash", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),  # seconds, from the store's clock
    )
    md.create_all(conn)
    conn.execute(sa.text("ALTER TABLE digests ADD COLUMN body_schema INTEGER NOT NULL DEFAULT 1"))


def _delivery_parts(conn: Connection) -> None:
    """Claims, digest versions and per-message progress of each delivery."""
    for column in ("version VARCHAR(64)", "sending_version VARCHAR(64)", "owner VARCHAR(200)",
                   "claimed_at VARCHAR(40)", "thread VARCHAR(300)"):
        conn.execute(sa.text(f"ALTER TABLE deliveries ADD COLUMN {column}"))
    md = sa.MetaData()
    key = [sa.Column(name, sa.String(size), primary_key=True) for name, size in
           (("day", 10), ("language", 16), ("channel", 32), ("destination", 200))]
    sa.Table(
        "delivery_parts", md, *key,
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),  # 0-based index of the message
        sa.Column("sent_at", sa.String(40), nullable=False),
    )
    sa.Table(
        "digest_versions", md,
        sa.Column("version", sa.String(64), primary_key=True),  # a hash of the body
        sa.Column("body", sa.Text, nullable=False),  # the Digest model as JSON
        sa.Column("saved_at", sa.String(40), nullable=False),
    )
    md.create_all(conn)


def _run_counts(conn: Connection) -> None:
    """What a run went through: resends, 429s, window decreases, papers that fell back,
    and the tokens it spent (failed papers' included: no stored summary holds those)."""
    for column in ("retries", "throttled", "window_decreases", "to_pdf", "to_abstract",
                   "prompt_tokens", "completion_tokens", "requests"):
        conn.execute(sa.text(f"ALTER TABLE runs ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"))


def _search_index(conn: Connection) -> None:
    """Full-text search over the stored digests (see `store.search`), filled from the
    digests already stored; and each digest's paper count, for the archive's list."""
    conn.execute(sa.text("ALTER TABLE digests ADD COLUMN papers INTEGER NOT NULL DEFAULT 0"))
    search.create_index(conn)
    md = sa.MetaData()
    digests, docs = sa.Table("digests", md, autoload_with=conn), search.search_docs_table(md)
    order = sa.case((digests.c.kind.in_(("daily", "ids")), 0), else_=1)
    for day, kind, language, body in conn.execute(
            sa.select(digests.c.day, digests.c.kind, digests.c.language, digests.c.body)
            .order_by(order, digests.c.day)).all():
        try:
            digest = bodies.load_digest(body)
        except ValueError:
            continue  # unreadable: `load_digest` says so when it is asked for
        conn.execute(digests.update().where(digests.c.day == day, digests.c.kind == kind,
                                            digests.c.language == language)
                     .values(papers=len(digest.items)))
        search.index_digest(conn, docs, digest, language)


def _paper_vectors(conn: Connection) -> None:
    """Each paper's embedding for semantic search, by model (float32 bytes)."""
    sa.Table(
        "paper_vectors", sa.MetaData(),
        sa.Column("paper_id", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    ).create(conn)


def _summary_citations(conn: Connection) -> None:
    """The passage the model quoted for each sentence of a summary (JSON list)."""
    conn.execute(sa.text("ALTER TABLE summaries ADD COLUMN cited TEXT"))


def _delivery_names(conn: Connection) -> None:
    """Room for a delivery's digest name ("arxiv:2024-08-26"; SQLite keeps any length)."""
    if conn.dialect.name == "postgresql":
        for table in ("deliveries", "delivery_parts"):
            conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN day TYPE VARCHAR(40)"))


MIGRATIONS: tuple[tuple[str, Callable[[Connection], None]], ...] = (
    ("0001_initial", _initial),
    ("0002_summary_usage", _summary_usage),
    ("0003_summary_verification", _summary_verification),
    ("0004_digests_and_deliveries", _digests_and_deliveries),
    ("0005_summary_leases_and_digest_schema", _summary_leases_and_digest_schema),
    ("0006_delivery_parts", _delivery_parts),
    ("0007_run_counts", _run_counts),
    ("0008_search_index", _search_index),
    ("0009_paper_vectors", _paper_vectors),
    ("0010_summary_citations", _summary_citations),
    ("0011_delivery_names", _delivery_names),
)

_LOG = sa.Table(
    "schema_migrations", sa.MetaData(),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False),
)


def migrate(engine: Engine, where: str) -> list[str]:
    """Apply every migration not yet recorded, all in one transaction; return their names.

    A first read decides whether there is anything to do, so opening an
    up-to-date store writes nothing. Otherwise one write transaction creates
    the log, re-reads it (another process may have migrated meanwhile) and
    applies the rest: a process killed halfway leaves the store as it was.
    Raises `StoreError`, writing nothing, if the store was migrated by a newer
    papergist (`where` names the store in the message).
    """
    with engine.connect() as conn:
        done = _applied(conn)
    if not _pending(done, where):
        return []
    with write_transaction(engine) as conn:
        _LOG.create(conn, checkfirst=True)
        pending = _pending(_applied(conn), where)
        for name, step in pending:
            step(conn)
            conn.execute(_LOG.insert().values(name=name,
                                              applied_at=datetime.now(timezone.utc).isoformat()))
    return [name for name, _ in pending]


def _applied(conn: Connection) -> set[str]:
    if not sa.inspect(conn).has_table(_LOG.name):
        return set()
    return set(conn.execute(sa.select(_LOG.c.name)).scalars())


def _pending(done: set[str], where: str) -> list[tuple[str, Callable[[Connection], None]]]:
    known = [name for name, _ in MIGRATIONS]
    unknown = sorted(done - set(known))
    if unknown:
        raise StoreError(
            f"the store at {where} was written by a newer papergist (schema {unknown[-1]}; "
            f"this papergist knows up to {known[-1]}): upgrade papergist, "
            "or use another PAPERGIST_HOME")
    return [(name, step) for name, step in MIGRATIONS if name not in done]
