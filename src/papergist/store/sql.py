"""The store: papers, authors in order, daily lists, summaries and runs.

SQLAlchemy Core over SQLite (the default, one file under `PAPERGIST_HOME`).
Only `_upsert` knows the dialect, and both SQLite and PostgreSQL speak the
`ON CONFLICT ... DO UPDATE` it emits, so a PostgreSQL URL can follow without
touching the stages. Tables are reflected from the database the migrations
built, so the schema is stated once, in `migrations.py`.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from papergist.errors import StoreError
from papergist.models import (ArchiveEntry, Cited, DailyList, Digest, ListedPaper, Paper, RunReport,
                              SearchHit, Sections, Summary, Usage, Verdict, period_label)
from papergist.store import bodies, leases, search
from papergist.store.deliveries import DeliveriesMixin
from papergist.store.engine import create_engine, dialect_insert, write_transaction
from papergist.store.migrations import migrate


DEFAULT_BUSY_TIMEOUT = 10.0
"""Seconds a call waits for another process's write lock before it fails."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store(DeliveriesMixin):
    """One database; create with `Store.open(path_or_url)`, close with `close()`.

    Every method raises `StoreError` (and nothing else) when the database
    cannot be read or written: locked too long, damaged, or unreadable rows.
    """

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.clock = clock
        md = sa.MetaData()
        md.reflect(engine)
        self.t = md.tables

    @classmethod
    def open(cls, target: Path | str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
             clock: Callable[[], float] = time.time) -> "Store":
        """Open (creating and migrating) a SQLite file path or any SQLAlchemy URL.

        `busy_timeout` is how long, in seconds, a call waits for another
        process's lock; `clock` gives the seconds summary leases expire by.
        A store written by a newer papergist is refused and left untouched.
        """
        url = str(target) if "://" in str(target) else None
        shown = sa.make_url(url).render_as_string(hide_password=True) if url else str(target)
        engine = None
        try:
            if url is None:
                path = Path(target)
                path.parent.mkdir(parents=True, exist_ok=True)
                url = f"sqlite:///{path}"
            engine = create_engine(url, busy_timeout)
            migrate(engine, shown)
            return cls(engine, clock=clock)
        except (OSError, SQLAlchemyError, StoreError, ImportError) as exc:
            if engine is not None:
                engine.dispose()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the store at {shown}: {_reason(exc)}; "
                             f"{_open_hint(exc)}") from None

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def _upsert(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                keys: Iterable[str]) -> None:
        if not rows:
            return
        stmt = dialect_insert(self.engine, table)
        keys = list(keys)
        update = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)

    def _write(self, fn: Any, *args: Any) -> Any:
        try:
            with write_transaction(self.engine) as conn:
                return fn(conn, *args)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write the store: {_reason(exc)}") from None

    def _read(self, fn: Any, *args: Any) -> Any:
        try:
            with self.engine.connect() as conn:
                return fn(conn, *args)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the store: {_reason(exc)}") from None
        except ValueError as exc:  # a stored row this papergist cannot parse
            raise StoreError(f"cannot read a stored record: {_reason(exc)}") from None

    # papers -------------------------------------------------------------

    def save_papers(self, papers: Iterable[Paper]) -> None:
        """Insert or refresh papers and their authors (in the source's order)."""
        self._write(self._save_papers, list(papers))

    def _save_papers(self, conn: sa.Connection, papers: list[Paper]) -> None:
        rows = [_paper_row(p) for p in papers]
        self._upsert(conn, self.t["papers"], rows, ["id"])
        authors = self.t["paper_authors"]
        for p in papers:
            conn.execute(authors.delete().where(authors.c.paper_id == p.id))
        author_rows = [{"paper_id": p.id, "position": i, "name": name}
                       for p in papers for i, name in enumerate(p.authors)]
        if author_rows:
            conn.execute(authors.insert(), author_rows)

    def papers(self, ids: Iterable[str]) -> list[Paper]:
        """The stored papers among `ids`, in the order given (unknown ids left out)."""
        wanted = list(dict.fromkeys(ids))

        def read(conn: sa.Connection) -> list[Paper]:
            found = self._load_papers(conn, wanted)
            return [found[i] for i in wanted if i in found]
        return self._read(read)

    def save_day(self, daily: DailyList) -> None:
        """Store a day's list: papers, ranks and upvotes now; the day's old list is replaced."""
        self._write(self._save_day, daily)

    def _save_day(self, conn: sa.Connection, daily: DailyList) -> None:
        self._save_papers(conn, [e.paper for e in daily.entries])
        entries = self.t["daily_entries"]
        day = daily.day.isoformat()
        conn.execute(entries.delete().where(entries.c.day == day))
        rows = [{"day": day, "paper_id": e.paper.id, "rank": e.rank, "upvotes": e.upvotes,
                 "fetched_at": _now()} for e in daily.entries]
        if rows:
            conn.execute(entries.insert(), rows)

    def load_day(self, day: date) -> DailyList | None:
        """A stored day's list in feed order, or None if the day was never fetched."""
        return self._read(self._load_day, day)

    def _load_day(self, conn: sa.Connection, day: date) -> DailyList | None:
        e = self.t["daily_entries"]
        rows = conn.execute(sa.select(e.c.paper_id, e.c.rank, e.c.upvotes)
                            .where(e.c.day == day.isoformat()).order_by(e.c.rank)).all()
        if not rows:
            return None
        papers = self._load_papers(conn, [r.paper_id for r in rows])
        return DailyList(day=day, source="hf", entries=tuple(
            ListedPaper(paper=papers[r.paper_id], rank=r.rank, upvotes=r.upvotes) for r in rows))

    def _load_papers(self, conn: sa.Connection, ids: list[str]) -> dict[str, Paper]:
        p, a = self.t["papers"], self.t["paper_authors"]
        authors: dict[str, list[str]] = {i: [] for i in ids}
        for row in conn.execute(sa.select(a.c.paper_id, a.c.name).where(a.c.paper_id.in_(ids))
                                .order_by(a.c.paper_id, a.c.position)):
            authors[row.paper_id].append(row.name)
        rows = conn.execute(sa.select(p).where(p.c.id.in_(ids))).mappings()
        return {r["id"]: _paper_from_row(r, authors[r["id"]]) for r in rows}

    def days(self) -> list[date]:
        """Every stored day, newest first."""
        e = self.t["daily_entries"]
        query = sa.select(e.c.day).distinct().order_by(e.c.day.desc())
        return self._read(lambda conn: [date.fromisoformat(d)
                                        for d in conn.execute(query).scalars()])

    # summaries ----------------------------------------------------------

    def get_summary(self, paper_id: str, *, model: str, language: str, prompt_version: str,
                    source: str, source_hash: str) -> Summary | None:
        """The stored summary made from exactly this input, if any."""
        s = self.t["summaries"]
        query = sa.select(s).where(
            s.c.paper_id == paper_id, s.c.model == model, s.c.language == language,
            s.c.prompt_version == prompt_version, s.c.source == source,
            s.c.source_hash == source_hash)
        return self._read(lambda conn: _summary_from_row(conn.execute(query).mappings().first()))

    def claim_summary(self, paper_id: str, *, model: str, language: str, prompt_version: str,
                      source: str, source_hash: str, owner: str, ttl: float) -> bool:
        """Take the lease to summarize this input for `ttl` seconds; whether `owner` holds it.

        Meant for processes that would otherwise each pay for the same summary:
        before summarizing, call `get_summary`; if there is none, claim. The
        winner summarizes, `save_summaries`, then `release_summary`; a long job
        claims again before `ttl` runs out to extend its lease. A loser polls
        `get_summary` until the summary appears, and claims again meanwhile: it
        wins once the holder released without storing (failed) or its lease
        expired (crashed). The lease is taken when free, expired or already
        `owner`'s, in one write transaction, so of racing claimants exactly one
        wins. `owner` must be unique per process (e.g. host, pid and a random part).
        """
        key = dict(paper_id=paper_id, model=model, language=language,
                   prompt_version=prompt_version, source=source, source_hash=source_hash)
        return self._write(lambda conn: leases.claim(conn, self.t["summary_leases"], key, owner,
                                                     self.clock(), ttl))

    def release_summary(self, paper_id: str, *, model: str, language: str, prompt_version: str,
                        source: str, source_hash: str, owner: str) -> None:
        """Give back the lease `claim_summary` gave `owner` (a no-op if it lost it since)."""
        key = dict(paper_id=paper_id, model=model, language=language,
                   prompt_version=prompt_version, source=source, source_hash=source_hash)
        self._write(lambda conn: leases.release(conn, self.t["summary_leases"], key, owner))

    def save_summaries(self, summaries: Iterable[Summary]) -> None:
        """Store summaries, replacing one made from the same input."""
        rows = [{"paper_id": s.paper_id, "model": s.model, "language": s.language,
                 "prompt_version": s.prompt_version, "source": s.source,
                 "source_hash": s.source_hash, "summarizer": s.summarizer,
                 "paper_version": s.paper_version, **s.usage.model_dump(),
                 "verification": s.verification.model_dump_json() if s.verification else None,
                 "cited": json.dumps([c.model_dump() for c in s.cited], ensure_ascii=False)
                 if s.cited else None,
                 **s.sections.model_dump(),
                 "created_at": s.created_at.isoformat(timespec="seconds") if s.created_at
                 else _now()} for s in summaries]
        keys = ["paper_id", "model", "language", "prompt_version", "source", "source_hash"]
        self._write(lambda conn: self._upsert(conn, self.t["summaries"], rows, keys))

    # digests and deliveries ----------------------------------------------

    def save_digest(self, digest: Digest, language: str) -> None:
        """Keep the digest as built, the one `publish` sends (replacing an older build),
        and index its papers for `search`, in one transaction."""
        row = {"day": digest.date.isoformat(), "kind": digest.kind, "language": language,
               "body": bodies.dump_digest(digest), "body_schema": bodies.DIGEST_SCHEMA,
               "papers": len(digest.items), "built_at": _now()}

        def save(conn: sa.Connection) -> None:
            self._upsert(conn, self.t["digests"], [row], ["day", "kind", "language"])
            search.index_digest(conn, self.t["search_docs"], digest, language)
        self._write(save)

    def load_digest(self, day: date, language: str, kind: str = "daily") -> Digest | None:
        """The digest built for `day` in `language`, if any."""
        d = self.t["digests"]
        query = sa.select(d.c.body).where(
            d.c.day == day.isoformat(), d.c.kind == kind, d.c.language == language)
        return self._read(lambda conn: _digest_or_none(conn.execute(query).scalar()))

    def digest_stamps(self, language: str, kind: str = "daily") -> dict[date, str]:
        """A hash of each stored digest: what changed since a site was last written."""
        d = self.t["digests"]
        query = sa.select(d.c.day, d.c.body).where(d.c.language == language, d.c.kind == kind)
        return self._read(lambda conn: {
            date.fromisoformat(day): hashlib.sha256(body.encode("utf-8")).hexdigest()
            for day, body in conn.execute(query)})

    def archive(self, language: str) -> list[ArchiveEntry]:
        """Every stored digest in `language`, newest first (days before weeks and months
        that start the same day)."""
        d = self.t["digests"]
        query = sa.select(d.c.day, d.c.kind, d.c.papers, d.c.built_at).where(
            d.c.language == language).order_by(d.c.day.desc(), d.c.kind)
        return self._read(lambda conn: [_archive_entry(r) for r in conn.execute(query)])

    def search(self, query: str, language: str, limit: int = 20) -> list[SearchHit]:
        """The papers of stored digests in `language` that match `query`, best first
        (see `store.search` for what a query may say)."""
        terms = search.parse_query(query)  # a `UsageError` before the store is touched
        return self._read(lambda conn: search.find(conn, terms, language, limit))

    def search_candidates(self, language: str, model: str, *,
                          unembedded: bool = False) -> list[dict[str, Any]]:
        """Every paper indexed in `language` (its search row: title, authors, abstract,
        the digest it is in) with its `model` embedding, or None; `unembedded`: only
        those without one."""
        d, v = self.t["search_docs"], self.t["paper_vectors"]
        query = (sa.select(d.c.paper_id, d.c.title, d.c.authors, d.c.day, d.c.kind, d.c.upvotes,
                           d.c.abstract, v.c.vector)
                 .select_from(d.outerjoin(v, (v.c.paper_id == d.c.paper_id) & (v.c.model == model)))
                 .where(d.c.language == language).order_by(d.c.id))
        if unembedded:
            query = query.where(v.c.vector.is_(None))
        return self._read(lambda conn: [dict(r) for r in conn.execute(query).mappings()])

    def save_vectors(self, model: str, vectors: dict[str, bytes]) -> None:
        """Store papers' embeddings by `model` (replacing older ones)."""
        rows = [{"paper_id": pid, "model": model, "vector": vector}
                for pid, vector in vectors.items()]
        self._write(lambda conn: self._upsert(conn, self.t["paper_vectors"], rows,
                                              ["paper_id", "model"]))

    # runs ---------------------------------------------------------------

    def start_run(self, command: str, day: date | None) -> int:
        """Record the start of a run; returns its id."""
        runs = self.t["runs"]
        values = {"command": command, "day": day.isoformat() if day else None,
                  "started_at": _now()}
        return self._write(lambda conn: conn.execute(runs.insert().values(**values))
                           .inserted_primary_key[0])

    def finish_run(self, run_id: int, report: RunReport | None, exit_status: int) -> None:
        """Record how a run ended."""
        runs = self.t["runs"]
        values: dict[str, Any] = {"finished_at": _now(), "exit_status": exit_status}
        if report is not None:
            values.update(day=report.day.isoformat() if report.day else None,
                          fetched=report.fetched, summarized=report.summarized,
                          failed=len(report.failures),
                          failures=json.dumps([f.model_dump() for f in report.failures]),
                          retries=report.retries, throttled=report.throttled,
                          window_decreases=report.window_decreases, to_pdf=report.to_pdf,
                          to_abstract=report.to_abstract, **report.usage.model_dump())
        self._write(lambda conn: conn.execute(runs.update().where(runs.c.id == run_id)
                                              .values(**values)))

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run, newest first, as plain dicts."""
        runs = self.t["runs"]
        query = sa.select(runs).order_by(runs.c.id.desc())
        return self._read(lambda conn: [dict(r) for r in conn.execute(query).mappings()])


def _summary_from_row(row: Any) -> Summary | None:
    if row is None:
        return None
    return Summary(
        paper_id=row["paper_id"], summarizer=row["summarizer"], model=row["model"],
        language=row["language"], prompt_version=row["prompt_version"],
        source=row["source"], source_hash=row["source_hash"],
        paper_version=row["paper_version"],
        usage=Usage(prompt_tokens=row["prompt_tokens"],
                    completion_tokens=row["completion_tokens"], requests=row["requests"]),
        verification=Verdict.model_validate(
            bodies.known_fields(Verdict, json.loads(row["verification"])))
        if row["verification"] else None,
        sections=Sections(whats_new=row["whats_new"],
                          technical_details=row["technical_details"],
                          performance_highlights=row["performance_highlights"]),
        cited=tuple(Cited.model_validate(c) for c in json.loads(row["cited"] or "[]")),
        created_at=datetime.fromisoformat(row["created_at"]) if row["created_at"] else None)


def _archive_entry(row: Any) -> ArchiveEntry:
    start = date.fromisoformat(row.day)
    try:
        built = datetime.fromisoformat(row.built_at)
    except (TypeError, ValueError):
        built = None  # a stamp this papergist cannot read is no reason to hide the digest
    return ArchiveEntry(date=start, kind=row.kind, label=period_label(row.kind, start),
                        papers=row.papers, built_at=built)


def _digest_or_none(body: str | None) -> Digest | None:
    return bodies.load_digest(body) if body else None


def _paper_row(p: Paper) -> dict[str, Any]:
    row = p.model_dump(exclude={"authors"})
    row["published_at"] = p.published_at.isoformat() if p.published_at else None
    row["media_urls"] = json.dumps(list(p.media_urls))
    row["ai_keywords"] = json.dumps(list(p.ai_keywords))
    row["updated_at"] = _now()
    return row


def _paper_from_row(row: Any, authors: list[str]) -> Paper:
    data = {k: v for k, v in dict(row).items() if k != "updated_at"}
    data["media_urls"] = tuple(json.loads(data["media_urls"]))
    data["ai_keywords"] = tuple(json.loads(data["ai_keywords"]))
    return Paper(**data, authors=tuple(authors))


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__



def _open_hint(exc: BaseException) -> str:
    """What to do next when the store cannot be opened."""
    reason = _reason(exc)
    if "not a database" in reason or "malformed" in reason:
        return ("the file is damaged or not a papergist store: move it aside (it is left as is) "
                "or set PAPERGIST_HOME to another directory")
    if "locked" in reason:
        return "another papergist holds it; try again when that one has finished"
    if isinstance(exc, ImportError):
        return "a PostgreSQL store needs its driver: pip install 'papergist[postgres]'"
    if "connect" in reason.lower() or "connection" in reason.lower():
        return "check that PostgreSQL is running and that store_url names it"
    return "set PAPERGIST_HOME to a writable directory"
