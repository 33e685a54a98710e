"""Text clean-up shared by the sources: arXiv's hard wraps in titles and abstracts,
and the size limit of every text field a source gives (`bounded`)."""

from __future__ import annotations

from papergist.models import Paper


def one_line(text: str) -> str:
    """Every run of whitespace (hard wraps included) becomes one space."""
    return " ".join(text.split())


def unwrap(text: str) -> str:
    """An abstract with arXiv's hard wraps joined.

    A paragraph ends at a blank line or before an indented line (arXiv's own
    rule: a line break is kept only when the next line starts with white
    space). Paragraphs are separated by a blank line.
    """
    paragraphs: list[list[str]] = [[]]
    for line in text.strip().splitlines():
        if not line.strip() or line[:1] in (" ", "\t"):
            paragraphs.append([])
        if line.strip():
            paragraphs[-1].append(line.strip())
    return "\n\n".join(one_line(" ".join(p)) for p in paragraphs if p)


# --- size limits at the door ----------------------------------------------------------

MAX_TITLE = 1_000  # characters; real titles are under 300
MAX_ABSTRACT = 20_000  # arXiv caps abstracts at 1,920 characters
MAX_AUTHOR = 300  # characters of one author's name
MAX_AUTHORS = 5_000  # names; the longest real author lists (ATLAS, CMS) have ~3,000
MAX_ORGANIZATION = 300
MAX_AI_SUMMARY = 5_000
MAX_KEYWORD = 100
MAX_KEYWORDS = 100
MAX_URL = 2_000  # a longer URL is dropped, not clipped (a clipped URL is a wrong one)
MAX_MEDIA_URLS = 20
ELLIPSIS = "…"


class Clipper:
    """Clips fields to their limits and records each clipped field's original size.

    `clipped` maps a field name to its original length (characters, or items for
    lists; for a list whose items were clipped, the longest item's length).
    """

    def __init__(self) -> None:
        self.clipped: dict[str, int] = {}

    def _note(self, name: str, size: int) -> None:
        self.clipped[name] = max(size, self.clipped.get(name, 0))

    def text(self, name: str, value: str, limit: int) -> str:
        """`value`, or its first `limit - 1` characters and "…"."""
        if len(value) <= limit:
            return value
        self._note(name, len(value))
        return value[:limit - 1].rstrip() + ELLIPSIS

    def optional(self, name: str, value: str | None, limit: int) -> str | None:
        """`text` for a value that may be missing."""
        return None if value is None else self.text(name, value, limit)

    def url(self, name: str, value: str | None) -> str | None:
        """The URL, or None when it is longer than `MAX_URL`."""
        if value is not None and len(value) > MAX_URL:
            self._note(name, len(value))
            return None
        return value

    def items(self, name: str, values: tuple[str, ...], count: int,
              limit: int | None = None) -> tuple[str, ...]:
        """At most `count` values, each clipped to `limit` (URLs over MAX_URL dropped)."""
        if len(values) > count:
            self._note(name, len(values))
            values = values[:count]
        if limit is None:
            return tuple(v for v in values if self.url(name, v) is not None)
        return tuple(self.text(name, v, limit) for v in values)


def bounded(paper: Paper) -> Paper:
    """`paper` with every text field within its limit; `paper.clipped` says what was cut."""
    c = Clipper()
    fields = {
        "title": c.text("title", paper.title, MAX_TITLE),
        "abstract": c.text("abstract", paper.abstract, MAX_ABSTRACT),
        "authors": c.items("authors", paper.authors, MAX_AUTHORS, MAX_AUTHOR),
        "organization": c.optional("organization", paper.organization, MAX_ORGANIZATION),
        "ai_summary": c.optional("ai_summary", paper.ai_summary, MAX_AI_SUMMARY),
        "ai_keywords": c.items("ai_keywords", paper.ai_keywords, MAX_KEYWORDS, MAX_KEYWORD),
        "thumbnail": c.url("thumbnail", paper.thumbnail),
        "github_repo": c.url("github_repo", paper.github_repo),
        "project_page": c.url("project_page", paper.project_page),
        "media_urls": c.items("media_urls", paper.media_urls, MAX_MEDIA_URLS),
    }
    if not c.clipped:
        return paper
    return paper.model_copy(update={**fields, "clipped": tuple(sorted(c.clipped.items()))})
