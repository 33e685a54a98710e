"""The one sentence splitter: the offline summarizer quotes its sentences, the
verifier checks them, the token budget cuts at them.

A sentence ends at `.`, `!` or `?` (plus closing quotes or brackets) before
whitespace and something that may start a sentence: not a lowercase letter,
unless a camel-cased name ("xGen-MM", "mPLUG"). It also ends with no space
between two words ("estimators.We propose"), at CJK `。！？`, and at every line
break. It never ends after an abbreviation (e.g., et al., Fig.), an initial
("P."), inside matched brackets, or inside a URL or path. Sentences are returned
verbatim from the text, stripped.
"""

from __future__ import annotations

import re

# Tokens whose trailing period never ends a sentence, compared lowercase.
ABBREVIATIONS = frozenset(
    "e.g i.e et al vs cf fig figs eq eqs sec secs tab ref refs no nos approx resp "
    "viz ca incl dr mr mrs ms prof st jr inc ltd w.r.t a.k.a".split())

_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?:[^\S\n]+|(?<=[a-z][a-z][.!?])(?=[A-Z][a-z]))"
                       r"|[。！？]+[\"'”’)\]」』]*[^\S\n]*")
_CAMEL = re.compile(r"[a-z]+[A-Z]")
_NOT_AN_END = re.compile(r"[A-Z]|(?:[A-Za-z]\.)+[A-Za-z]")  # "P." (initial), "U.S."
_TOKEN_BEFORE = re.compile(r"[(\"'“‘\[]*(\S*)\Z")  # the word a terminator ends
_LINE = re.compile(r"[^\n]+")


def _protected_spans(text: str) -> list[tuple[int, int]]:
    """Spans inside matched (), [] pairs; no sentence ends in them."""
    stack: list[tuple[str, int]] = []
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if ch in "([":
            stack.append((ch, i))
        elif ch in ")]" and stack and stack[-1][0] == "(["[")]".index(ch)]:
            spans.append((stack.pop()[1], i))
    return spans


def _starts_sentence(text: str, at: int) -> bool:
    return at < len(text) and (not text[at].islower() or bool(_CAMEL.match(text, at)))


def _is_end(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """True when the candidate boundary text[start:end] really ends a sentence."""
    if text[start] in "。！？":
        return True
    if not _starts_sentence(text, end) or any(lo < start and end <= hi for lo, hi in spans):
        return False
    before = _TOKEN_BEFORE.search(text, max(0, start - 200), start)
    token = before.group(1) if before else ""
    if not text[end - 1].isspace() and re.search(r"[/@:]", token):
        return False  # no space after it, inside a URL or path
    if text[start] != ".":
        return True
    return token.lower() not in ABBREVIATIONS and not _NOT_AN_END.fullmatch(token)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, in order, without surrounding space."""
    found: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        block = line.group()
        spans = _protected_spans(block)
        begin = 0
        for match in _BOUNDARY.finditer(block):
            if _is_end(block, match.start(), match.end(), spans):
                found.append((line.start() + begin, line.start() + match.end()))
                begin = match.end()
        found.append((line.start() + begin, line.end()))
    stripped = []
    for start, end in found:
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        if piece.strip():
            stripped.append((start + lead, start + lead + len(piece.strip())))
    return stripped


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, each verbatim (stripped)."""
    return [text[start:end] for start, end in sentence_spans(text)]
