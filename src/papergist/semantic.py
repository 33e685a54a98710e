"""Search by meaning: the papers whose title and abstract are closest to a query.

Each paper is embedded once (`papergist.embed`, title and abstract; summaries in
other languages are not) and its vector kept in the store; a query is embedded
and compared with every vector (a dot product of unit vectors: their cosine).
Brute force in numpy: an archive of 10,000 papers is a 15 MB matrix.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from papergist.embed import decode
from papergist.errors import UsageError
from papergist.models import SearchHit

SNIPPET = 240  # characters of the abstract shown with a hit
_WORDY = re.compile(r"\w")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def paper_text(row: dict[str, Any]) -> str:
    """What is embedded of a paper: its title and abstract."""
    return f"{row['title']}. {row['abstract']}".strip()


def check_query(query: str) -> str:
    """The query, or a `UsageError` when it has no word in it, or no word in Latin script:
    the model reads English (a Korean query lands near other Korean queries, not near
    the papers that say it: "비디오 생성 모델" has a cosine of 0.18 with "video
    generation", 0.74 with "문서 이해 데이터셋")."""
    if not _WORDY.search(query):
        raise UsageError(f"nothing to search for in {query[:80]!r}: give a few words, e.g. "
                         "making videos from text")
    if not _LATIN.search(query):
        raise UsageError("search by meaning reads English (its model, all-MiniLM-L6-v2, was "
                         "trained on English): ask in English, or search by words, which "
                         "finds summaries in any language")
    return query.strip()


def missing(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Papers without a vector yet: id -> the text to embed."""
    return {r["paper_id"]: paper_text(r) for r in rows if r["vector"] is None}


def nearest(rows: Sequence[dict[str, Any]], query_vector: Any, limit: int) -> list[SearchHit]:
    """The `limit` rows closest to `query_vector`, best first."""
    import numpy as np

    if not rows:
        return []
    matrix = np.stack([decode(r["vector"]) for r in rows])
    scores = matrix @ query_vector
    best = np.argsort(-scores, kind="stable")[:limit]
    return [_hit(rows[i], float(scores[i])) for i in best]


def _hit(row: dict[str, Any], score: float) -> SearchHit:
    abstract = " ".join(row["abstract"].split())
    snippet = abstract if len(abstract) <= SNIPPET else abstract[:SNIPPET].rsplit(" ", 1)[0] + " …"
    return SearchHit(paper_id=row["paper_id"], title=row["title"],
                     authors=tuple(a for a in row["authors"].split("\n") if a),
                     date=row["day"], kind=row["kind"], upvotes=row["upvotes"],
                     snippet=snippet, score=round(score, 4))
