"""The classic Markdown digest (the layout of l-yohai/daily_papers_ko).

Everything from a paper or a model is untrusted text: it is put on one line and
every character Markdown or HTML could act on is backslash-escaped, so a title
with brackets, asterisks, backticks or tags stays literal and its link valid.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from papergist.models import SECTION_KEYS, SECTION_TITLES, Digest, DigestItem, Verdict
from papergist.render.common import EXTRACTIVE_NOTE, digest_title, is_video, verdict_note

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones
# that can start emphasis, code, links, images, HTML, entities or strikethrough
# inline (with brackets escaped, parentheses and "!" can no longer form a link).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~&])")
_SPACES = re.compile(r"\s+")


def inline(text: str) -> str:
    """Untrusted text as one line of literal Markdown."""
    return _MD_SPECIAL.sub(r"\\\1", _SPACES.sub(" ", text).strip())


def safe_url(url: str | None) -> str | None:
    """An http(s) URL usable as a link destination, or None."""
    if not url or not url.strip().lower().startswith(("https://", "http://")):
        return None
    return quote(url.strip(), safe=":/?#@!$&'*+,;=%~-._")


def _thumbnail(url: str | None) -> str | None:
    link = safe_url(url)
    if link is None:
        return None
    if is_video(link):
        return f"[Video]({link})"
    return f"![]({link})"


def _votes(item: DigestItem) -> str | None:
    return None if item.upvotes is None else f"Vote: {item.upvotes}"


def _links(item: DigestItem) -> list[str]:
    lines = []
    for label, url in (("Code", item.paper.github_repo), ("Project page", item.paper.project_page)):
        link = safe_url(url)
        if link:
            lines.append(f"{label}: <{link}>")
    return lines


def _body(item: DigestItem) -> list[str]:
    if item.summary is not None:
        sections = item.summary.sections.model_dump()
        lines = [f"- **{SECTION_TITLES[k]}**: {inline(sections[k])}" for k in SECTION_KEYS]
        return lines + _warning(item.summary.verification)
    reason = item.failure.reason if item.failure else "no summary"
    abstract = inline(item.paper.abstract) if item.paper.abstract.strip() else "(no abstract)"
    return [f"> **No summary**: {inline(reason)}", "", f"- **Abstract**: {abstract}"]


def _warning(verdict: Verdict | None) -> list[str]:
    """A visible line for a summary that is not verified (unverified or unchecked)."""
    note = verdict_note(verdict)
    return [] if note is None else ["", f"> **{note.label}**: {inline(note.text())}"]


def render_item(item: DigestItem) -> str:
    """One paper: heading link, thumbnail, votes, authors, links, the three sections."""
    paper = item.paper
    blocks = [f"### [{inline(paper.title)}]({paper.url})",
              _thumbnail(paper.thumbnail),
              _votes(item),
              _why(item),
              f"Authors: {inline(', '.join(paper.authors))}" if paper.authors else None,
              "\n\n".join(_links(item)) or None,
              "\n".join(_body(item))]
    return "\n\n".join(b for b in blocks if b)


def _why(item: DigestItem) -> str | None:
    """In a digest ranked for a reader: why this paper is where it is."""
    if item.relevance is None or not item.relevance.reasons:
        return None
    return f"_For {inline(item.relevance.reader)}: {inline(', '.join(item.relevance.reasons))}_"


def heading(digest: Digest) -> str:
    """The digest's first line."""
    return f"## {digest_title(digest)}"


def render_markdown(digest: Digest) -> str:
    """The whole digest as Markdown, ending with one newline."""
    parts = [heading(digest)]
    if digest.extractive:
        parts.append(f"_{EXTRACTIVE_NOTE}_")
    parts.extend(render_item(item) for item in digest.items)
    return "\n\n".join(parts) + "\n"
