"""Text clean-up shared by the sources: arXiv's hard wraps in titles and abstracts."""

from __future__ import annotations


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
