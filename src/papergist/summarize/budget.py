"""What of a paper's text goes to a model, within a token budget. Pure: no I/O.

`select_text` keeps, in paper order and each under a `## Title` line: the
abstract, the introduction, the body (method, experiments, results, any section
with a paper-specific title) and the conclusion. When that is over budget the
largest parts are shortened first, at paragraph or sentence ends, and the
abstract and conclusion stay whole when possible. Related work, appendices,
acknowledgements and the like are added only if room remains.

Token counts are estimates (`estimate_tokens`), meant to err on the high side;
they are computed in quarter tokens so that the cost of pieces adds up exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from papergist.sentences import sentence_spans
from papergist.models import PaperText

_WIDE = re.compile(  # one token each: CJK, Hangul, kana and full-width forms
    "[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff00-\uffef"
    "\U00020000-\U0003ffff]")
_OTHER = re.compile(r"[^\x00-\x7f]")  # other non-ASCII (Greek, symbols, accents): half a token
_SEP = "\n\n"
_SEP_UNITS = len(_SEP)  # an ASCII character is one unit; a token is four units
_WORD = re.compile(r"\s+")
_ELLIPSIS = " …"

_OPTIONAL = re.compile(
    r"related work|prior work|previous work|background|literature|acknowledg|appendi|supplement|"
    r"limitation|ethic|broader impact|impact statement|contribution statement|author contribution|"
    r"funding|availability|reproducibility|conflicts? of interest|competing interest|checklist",
    re.I)
_CONCLUSION = re.compile(r"conclu|discussion|summary|closing remarks|future work", re.I)
_RANK = {"optional": 0, "body": 1, "method": 2, "results": 2, "intro": 3, "conclusion": 4,
         "abstract": 5}
_MIN_UNITS = 4 * 64  # a shortened part keeps at least this much, or is left out
_METHOD = re.compile(r"method|approach|model|architecture|framework|algorithm|proposed", re.I)
_RESULTS = re.compile(r"result|experiment|evaluation|benchmark|analysis|ablation", re.I)
_DROP = re.compile(r"^(references|bibliography)$", re.I)
_TAG = re.compile(r"^(?:[Aa]ppendix\s+)?(?:\d+(?:\.\d+)*|[IVXLC]+(?:-[A-Z])?|[A-Z](?:\.\d+)*)\.?\s+")


def _units(text: str) -> int:
    """Quarter tokens: ASCII 1, other characters 2, CJK/Hangul/kana 4."""
    wide = len(_WIDE.findall(text))
    other = len(_OTHER.findall(text)) - wide
    return (len(text) - wide - other) + 2 * other + 4 * wide


def estimate_tokens(text: str) -> int:
    """A conservative token count: ~1 per 4 Latin characters, 1 per CJK/Hangul/kana one."""
    return -(-_units(text) // 4)


@dataclass
class _Part:
    index: int
    title: str
    body: str
    kind: str  # a key of _RANK

    @property
    def head(self) -> str:
        return f"## {self.title}{_SEP}" if self.title else ""

    def units(self, body: str | None = None) -> int:
        body = self.body if body is None else body
        return _units(self.head) + _units(body) if body else 0

    def render(self, body: str) -> str:
        return self.head + body


def _kind(title: str) -> str:
    bare = _TAG.sub("", title.strip()).strip().lower()
    if _DROP.match(bare):
        return "drop"
    if bare == "abstract" or title.strip().lower() == "abstract":
        return "abstract"
    if "introduction" in bare:
        return "intro"
    if _OPTIONAL.search(bare):
        return "optional"
    if _CONCLUSION.search(bare):
        return "conclusion"
    if _RESULTS.search(bare):
        return "results"
    return "method" if _METHOD.search(bare) else "body"


def _parts(text: PaperText) -> list[_Part]:
    parts = [_Part(n, s.title.strip(), s.text.strip(), _kind(s.title))
             for n, s in enumerate(text.sections) if s.text.strip()]
    parts = [p for p in parts if p.kind != "drop"]
    ends = [p.index for p in parts if re.search("conclu", p.title, re.I)]
    for p in parts:  # what follows the conclusion is appendix-like
        if ends and p.index > ends[-1] and p.kind != "conclusion":
            p.kind = "optional"
    return parts


def _prefix(text: str, units: int) -> str:
    """The longest start of `text` within `units`, cut at a sentence or line end.

    Falls back to a cut between words (marked with an ellipsis), never inside one.
    """
    if _units(text) <= units:
        return text
    best = _longest(text, [end for _, end in sentence_spans(text)], units)
    if best:
        return best
    kept = _longest(text, [m.start() for m in _WORD.finditer(text)], units - _units(_ELLIPSIS))
    return kept + _ELLIPSIS if kept else ""


def _longest(text: str, cuts: list[int], units: int) -> str:
    """The longest `text[:cut]` (stripped) within `units`; cost grows with the cut."""
    best, lo, hi = "", 0, len(cuts) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = text[:cuts[mid]].rstrip()
        if _units(candidate) <= units:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def _shorten(body: str, units: int) -> str:
    """`body` within `units`: leading paragraphs kept, tables kept when they fit in half."""
    if _units(body) <= units:
        return body
    blocks = body.split(_SEP)
    is_table = [" | " in b for b in blocks]
    table_units = sum(_units(b) + _SEP_UNITS for b, t in zip(blocks, is_table) if t)
    keep_tables = 0 < table_units <= units // 2
    room = units - (table_units if keep_tables else 0)
    kept: list[str] = []
    for block, table in zip(blocks, is_table):
        if keep_tables and table:
            kept.append(block)
            continue
        need = _units(block) + (_SEP_UNITS if kept else 0)
        if room <= 0:
            continue
        if need <= room:
            kept.append(block)
            room -= need
        else:
            cut = _prefix(block, room - (_SEP_UNITS if kept else 0))
            if cut:
                kept.append(cut)
            room = 0
    if len(kept) > 1 and _is_heading(kept[-1]):
        kept.pop()  # a sub-heading left without its text
    result = _SEP.join(kept)
    return result if _units(result) <= units else _prefix(result, units)


def _is_heading(block: str) -> bool:
    return len(block) < 100 and "\n" not in block and not block.endswith((".", "!", "?", ":", ")"))


def _cap(sizes: list[int], room: int) -> int:
    """The largest cap c with sum(min(size, c)) <= room: the big parts shrink first."""
    if sum(sizes) <= room:
        return max(sizes, default=0)
    lo, hi = 0, max(sizes)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(s, mid) for s in sizes) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _least(parts: list[_Part]) -> _Part:
    """The part to give up first: the least wanted kind, then the latest in the paper."""
    return min(parts, key=lambda p: (_RANK[p.kind], -p.index))


def _fit(parts: list[_Part], fixed: list[_Part], units: int) -> dict[int, str] | None:
    """Bodies for `fixed` (whole) and `parts` (shortened); None if `fixed` does not fit.

    Parts are given up one at a time, least wanted first, while the others would
    be cut below `_MIN_UNITS` each (or to nothing): a few readable parts beat
    many stubs.
    """
    active = list(parts)
    while True:
        everyone = fixed + active
        overhead = sum(_units(p.head) for p in everyone) + _SEP_UNITS * (len(everyone) - 1)
        room = units - overhead - sum(_units(p.body) for p in fixed)
        if room < 0 or not active:
            if room < 0 and active:
                active.remove(_least(active))
                continue
            return None if room < 0 else {p.index: p.body for p in fixed}
        sizes = [_units(p.body) for p in active]
        cap = _cap(sizes, room)
        if cap < _MIN_UNITS and cap < max(sizes) and len(everyone) > 1:
            active.remove(_least(active))
            continue
        bodies = {p.index: p.body for p in fixed}
        bodies.update({p.index: _shorten(p.body, cap) for p in active})
        empty = [p for p in active if not bodies[p.index]]
        if not empty:
            return bodies
        active.remove(_least(empty))


def _join(parts: list[_Part], bodies: dict[int, str]) -> str:
    chosen = sorted((p for p in parts if bodies.get(p.index)), key=lambda p: p.index)
    return _SEP.join(p.render(bodies[p.index]) for p in chosen)


def select_text(text: PaperText, budget_tokens: int) -> str:
    """The paper's text for a model, at most `budget_tokens` (by `estimate_tokens`)."""
    units = 4 * max(0, budget_tokens)
    parts = _parts(text)
    core = [p for p in parts if p.kind != "optional"] or parts
    ends = [p for p in core if p.kind in ("abstract", "conclusion")]
    middle = [p for p in core if p not in ends]
    bodies = _fit(middle, ends, units) or _fit(core, [], units) or {}
    whole = all(bodies.get(p.index) == p.body for p in core)
    used = _units(_join(parts, bodies))
    for p in parts:  # optional parts, whole, in paper order, if the core is whole
        if whole and p.index not in bodies and used + _SEP_UNITS + p.units() <= units:
            bodies[p.index] = p.body
            used = _units(_join(parts, bodies))
    result = _join(parts, bodies)
    return result if _units(result) <= units else _prefix(result, units)
