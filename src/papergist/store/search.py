"""Full-text search over the stored digests.

`search_docs` holds one row per paper and language (portable SQL): its title,
authors, abstract and summary, and the digest it is in. The dialect's index
sits beside it. SQLite: an FTS5 table over `search_docs` (external content,
kept in step by triggers; Porter stemming over Unicode words, diacritics
folded). PostgreSQL: a weighted `tsvector` column with a GIN index, written
with each row (English stemming; diacritics folded here, before PostgreSQL
sees the text, so no extension is needed). Every path to search (the Python
API, `papergist search`, the web app) goes through `Store.search`, which
calls `find` here; both dialects rank titles over authors over abstracts
over summaries.

A query is the reader's words, never FTS syntax: each word (or "a phrase" in
double quotes) must appear; a word written with a trailing `*`, or in a
script without spaces between inflections (Korean, CJK), matches as a prefix.
Nothing a reader types can be an FTS5 syntax error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from papergist.errors import UsageError
from papergist.models import Digest, SearchHit
from papergist.store.engine import dialect_insert

MAX_QUERY = 500  # characters of a query read
MAX_TERMS = 32
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"  # around matched words in FTS5 snippets
WEIGHTS = (10.0, 5.0, 2.0, 1.0)  # title, authors, abstract, summary
_PIECE = re.compile(r'"([^"]*)"?|(\S+)')
_WORDY = re.compile(r"\w")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a NUL ends an FTS5 string early
_PERIODIC = ("weekly", "monthly")

FTS_SQL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, authors, abstract, summary, "
    "content='search_docs', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN "
    "INSERT INTO search_fts(rowid, title, authors, abstract, summary) "
    "VALUES (new.id, new.title, new.authors, new.abstract, new.summary); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, authors, abstract, summary) "
    "VALUES ('delete', old.id, old.title, old.authors, old.abstract, old.summary); END",
    "CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, authors, abstract, summary) "
    "VALUES ('delete', old.id, old.title, old.authors, old.abstract, old.summary); "
    "INSERT INTO search_fts(rowid, title, authors, abstract, summary) "
    "VALUES (new.id, new.title, new.authors, new.abstract, new.summary); END",
)


def search_docs_table(md: sa.MetaData) -> sa.Table:
    """The portable table every dialect's index reads."""
    return sa.Table(
        "search_docs", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("paper_id", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),  # of the digest the paper is in
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("upvotes", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("authors", sa.Text, nullable=False),  # one per line, in order
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),  # the sections, one per line
        sa.UniqueConstraint("paper_id", "language", name="search_docs_paper_language"),
    )


PG_SQL = (
    "ALTER TABLE search_docs ADD COLUMN tsv tsvector NOT NULL DEFAULT ''::tsvector",
    "CREATE INDEX search_docs_tsv ON search_docs USING gin (tsv)",
)
PG_TSV = sa.text(  # the row's vector, from folded copies of its fields (see `fold`)
    "UPDATE search_docs SET tsv = "
    "setweight(to_tsvector('english', :title), 'A') || "
    "setweight(to_tsvector('simple', :authors), 'B') || "
    "setweight(to_tsvector('english', :abstract), 'C') || "
    "setweight(to_tsvector('english', :summary), 'D') "
    "WHERE paper_id = :paper_id AND language = :language")


def create_index(conn: sa.Connection) -> None:
    """`search_docs` and the dialect's full-text index over it."""
    search_docs_table(sa.MetaData()).create(conn)
    for statement in FTS_SQL if conn.dialect.name == "sqlite" else PG_SQL:
        conn.exec_driver_sql(statement)


def fold(text: str) -> str:
    """`text` without diacritics ("Laurençon" to "Laurencon"); Hangul and CJK kept whole."""
    parts = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in parts if not unicodedata.combining(c)))


def doc_rows(digest: Digest, language: str) -> list[dict[str, Any]]:
    """The `search_docs` rows of a digest's papers."""
    return [{"paper_id": item.paper.id, "language": language, "day": digest.date.isoformat(),
             "kind": digest.kind, "upvotes": item.upvotes, "title": item.paper.title,
             "authors": "\n".join(item.paper.authors), "abstract": item.paper.abstract,
             "summary": "\n".join(item.summary.sections.model_dump().values())
             if item.summary else ""} for item in digest.items]


def index_digest(conn: sa.Connection, table: sa.Table, digest: Digest, language: str) -> None:
    """Index a digest's papers. A paper keeps the day (or id list) it was first listed
    under: a weekly or monthly digest indexes only papers no such digest holds."""
    rows = doc_rows(digest, language)
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    update = {c: stmt.excluded[c] for c in rows[0] if c not in ("paper_id", "language")}
    kinds = ", ".join(f"'{kind}'" for kind in _PERIODIC)
    periodic = sa.text(f"{table.name}.kind IN ({kinds})")  # many rows: no bound list
    where = periodic if digest.kind in _PERIODIC else None
    conn.execute(stmt.on_conflict_do_update(index_elements=["paper_id", "language"],
                                            set_=update, where=where), rows)
    if conn.dialect.name == "postgresql":
        conn.execute(PG_TSV, [{k: fold(v) if isinstance(v, str) else v for k, v in row.items()}
                              for row in rows])


@dataclass(frozen=True)
class Term:
    """One thing a query asks for: a word (maybe a prefix) or a phrase."""

    text: str
    phrase: bool = False
    prefix: bool = False


def parse_query(text: str) -> list[Term]:
    """The reader's words and "phrases"; a `UsageError` when none is left ("", "*", "--").

    A word ending in `*`, or written in a script without spaces between its
    inflections (Korean, CJK: "모델" should find "모델은"), is a prefix.
    """
    terms = []
    for phrase, word in _PIECE.findall(_CONTROL.sub(" ", text[:MAX_QUERY])):
        term = phrase if phrase else word
        prefix = not phrase and (term.endswith("*") or any(ord(ch) > 0x2fff for ch in term))
        term = term.rstrip("*") if not phrase else term
        if _WORDY.search(term):
            terms.append(Term(term, phrase=bool(phrase), prefix=prefix))
    if not terms:
        raise UsageError(f"nothing to search for in {text[:80]!r}: give a word, e.g. diffusion")
    return terms[:MAX_TERMS]


def fts_query(text: str) -> str:
    """The reader's words as an FTS5 query that cannot be a syntax error."""
    return _fts5(parse_query(text))


def _fts5(terms: list[Term]) -> str:
    return " ".join('"' + t.text.replace('"', '""') + '"' + ("*" if t.prefix else "")
                    for t in terms)


def find(conn: sa.Connection, terms: list[Term], language: str, limit: int) -> list[SearchHit]:
    """The best `limit` matches of `terms` (`parse_query`) among the papers indexed in
    `language`."""
    if conn.dialect.name == "postgresql":
        return _find_postgres(conn, terms, language, limit)
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = conn.execute(sa.text(
        "SELECT d.paper_id, d.title, d.authors, d.day, d.kind, d.upvotes, "
        f"snippet(search_fts, -1, :open, :close, '…', 24) AS snip, "
        f"-bm25(search_fts, {weights}) AS score "
        "FROM search_fts JOIN search_docs AS d ON d.id = search_fts.rowid "
        "WHERE search_fts MATCH :match AND d.language = :language "
        "ORDER BY score DESC LIMIT :limit"),
        {"open": MARK_OPEN, "close": MARK_CLOSE, "match": _fts5(terms),
         "language": language, "limit": limit}).mappings().all()
    return [_hit(row) for row in rows]


def _find_postgres(conn: sa.Connection, terms: list[Term], language: str,
                   limit: int) -> list[SearchHit]:
    """The same search with `tsvector`s: each term a `tsquery`, all of them required."""
    params: dict[str, Any] = {"language": language, "limit": limit, "open": MARK_OPEN,
                              "close": MARK_CLOSE}
    parts = []
    for n, term in enumerate(terms):
        params[f"t{n}"] = fold(term.text)
        if term.prefix:  # a quoted lexeme, so nothing the reader typed is tsquery syntax
            params[f"t{n}"] = "'" + params[f"t{n}"].replace("'", "''").replace("\\", "\\\\") + "':*"
            parts.append(f"to_tsquery('simple', :t{n})")
        else:
            function = "phraseto_tsquery" if term.phrase else "plainto_tsquery"
            parts.append(f"({function}('english', :t{n}) || {function}('simple', :t{n}))")
    query = " && ".join(parts)
    rows = conn.execute(sa.text(
        f"WITH q AS (SELECT {query} AS q) "
        "SELECT d.paper_id, d.title, d.authors, d.day, d.kind, d.upvotes, "
        "ts_rank(d.tsv, q.q) AS score, ts_headline('english', d.title || ' ' || d.abstract "
        "|| ' ' || d.summary, q.q, 'StartSel=' || :open || ', StopSel=' || :close || "
        "', MaxWords=24, MinWords=8') AS snip "
        "FROM search_docs AS d, q WHERE d.tsv @@ q.q AND d.language = :language "
        "ORDER BY score DESC, d.id LIMIT :limit"), params).mappings().all()
    return [_hit(row) for row in rows]


def _hit(row: Any) -> SearchHit:
    snippet, highlights = unmark(row["snip"] or "")
    return SearchHit(paper_id=row["paper_id"], title=row["title"],
                     authors=tuple(a for a in row["authors"].split("\n") if a),
                     date=row["day"], kind=row["kind"], upvotes=row["upvotes"],
                     snippet=snippet, highlights=highlights, score=float(row["score"]))


def unmark(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A snippet without its markers, and where the marked words are in it."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, None
    for piece in re.split(f"([{MARK_OPEN}{MARK_CLOSE}])", marked):
        if piece == MARK_OPEN:
            start = length
        elif piece == MARK_CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            clean = piece.replace("\n", " ")
            text.append(clean)
            length += len(clean)
    return "".join(text), tuple(spans)
