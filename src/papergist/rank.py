"""A digest ranked for one reader: their keywords, authors, organizations and library.

A reader is a `[readers.NAME]` table of the config file:

    [readers.alice]
    keywords = ["diffusion", "video generation"]   # words or phrases
    authors = ["Kaiming He"]
    organizations = ["NVIDIA"]
    library = ["2408.12637", "2112.10752"]          # arXiv ids of papers they keep
    email_to = ["alice@example.org"]                # where `publish --for alice` sends it

Each paper gets points for what it matches, and says why: a keyword in its title
(3) or in its abstract or summary (1), an author of theirs (3 each), an
organization (2), and its likeness to the papers of their library (up to 4: the
cosine of word-count vectors, title and abstract, against the closest one).
Papers are then read most relevant first; ties keep the digest's order (votes).
Pure: no I/O; the library's papers are handed in.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

from papergist.errors import ConfigError
from papergist.models import Digest, DigestItem, Frozen, Paper, Relevance
from papergist.sentences import ABBREVIATIONS

TITLE, TEXT, AUTHOR, ORGANIZATION, LIBRARY = 3.0, 1.0, 3.0, 2.0, 4.0
LIKENESS_FLOOR = 0.2  # a library likeness under this says nothing
READER_KEYS = frozenset({"keywords", "authors", "organizations", "library", "email_to"})
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_STOP = frozenset("""a an and are as at be by for from has have in into is it its of on or our
that the their this to via we with without which while using based towards toward can
new paper propose proposed show shows results""".split()) | ABBREVIATIONS


class Reader(Frozen):
    """What one reader follows (see the module docstring)."""

    name: str
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    library: tuple[str, ...] = ()  # arXiv ids
    email_to: tuple[str, ...] = ()  # their own digest goes here

    @classmethod
    def from_table(cls, name: str, table: Mapping[str, Any]) -> "Reader":
        """A reader from its config table; a `ConfigError` naming what is wrong."""
        unknown = sorted(set(table) - READER_KEYS)
        if unknown:
            raise ConfigError(f"unknown key(s) in [readers.{name}]: {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(READER_KEYS))}")
        lists = {}
        for key in READER_KEYS & set(table):
            value = table[key]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                      for v in value):
                raise ConfigError(f"[readers.{name}] {key} must be a list of strings, "
                                  f'e.g. {key} = ["{_EXAMPLES[key]}"]')
            lists[key] = tuple(v.strip() for v in value)
        reader = cls(name=name, **lists)
        if not (reader.keywords or reader.authors or reader.organizations or reader.library):
            raise ConfigError(f"[readers.{name}] follows nothing: give keywords, authors, "
                              "organizations or library")
        return reader


_EXAMPLES = {"keywords": "diffusion", "authors": "Kaiming He", "organizations": "NVIDIA",
             "library": "2408.12637", "email_to": "alice@example.org"}


def words(text: str) -> list[str]:
    """Lowercase words, plural "s" dropped, stop words left out."""
    found = []
    for word in _WORD.findall(text.lower()):
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if word not in _STOP and len(word) > 1:
            found.append(word)
    return found


def _phrase(keyword: str) -> re.Pattern[str]:
    """A keyword as a whole-word, case-insensitive pattern; a final "s" optional."""
    parts = [re.escape(w) for w in keyword.split()]
    return re.compile(r"\b" + r"[\s-]+".join(parts) + r"s?\b", re.I)


def _name(text: str) -> str:
    return " ".join(text.casefold().split())


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(n * b[w] for w, n in a.items() if w in b)
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(n * n for n in a.values())) *
                  math.sqrt(sum(n * n for n in b.values())))


def _vector(paper: Paper) -> Counter[str]:
    return Counter(words(f"{paper.title} {paper.title} {paper.abstract}"))


def relevance(item: DigestItem, reader: Reader,
              library: Sequence[Counter[str]] = ()) -> Relevance:
    """How much `item` matters to `reader`, and why."""
    paper, score, why = item.paper, 0.0, list[str]()
    text = " ".join([paper.abstract, *(item.summary.sections.model_dump().values()
                                       if item.summary else ())])
    for keyword in reader.keywords:
        pattern = _phrase(keyword)
        if pattern.search(paper.title):
            score, why = score + TITLE, why + [f"{keyword} (title)"]
        elif pattern.search(text):
            score, why = score + TEXT, why + [f"{keyword} (abstract)"]
    theirs = {_name(a) for a in paper.authors}
    for author in reader.authors:
        if _name(author) in theirs:
            score, why = score + AUTHOR, why + [f"{author} (author)"]
    organization = _name(paper.organization or "")
    for org in reader.organizations:
        if organization and _name(org) in organization:
            score, why = score + ORGANIZATION, why + [f"{org} (organization)"]
    if paper.id in reader.library:
        why.append("in your library")
    elif library:
        likeness = max(_cosine(_vector(paper), kept) for kept in library)
        if likeness >= LIKENESS_FLOOR:
            score += LIBRARY * likeness
            why.append(f"like your library ({likeness:.2f})")
    return Relevance(reader=reader.name, score=round(score, 3), reasons=tuple(why))


def rank(digest: Digest, reader: Reader, library: Iterable[Paper] = ()) -> Digest:
    """`digest` with each paper's relevance to `reader`, most relevant first (ties keep
    the digest's order); `library`: the stored papers of the reader's library."""
    vectors = [_vector(p) for p in library]
    found = [relevance(item, reader, vectors) for item in digest.items]
    order = sorted(range(len(found)), key=lambda i: (-found[i].score, i))
    return digest.model_copy(update={"items": tuple(
        digest.items[i].model_copy(update={"relevance": found[i]}) for i in order)})
