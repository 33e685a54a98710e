"""What a summary states that can be checked: numbers and Latin-script names.

`extract_claims(text)` works on text in any language. The rules:

Numbers (see `papergist.verify.numbers` for units and forms) are claims with their
unit class: ``16.3×`` = ``16.3배`` = ``16.3 times``, ``2.4백만`` = 2,400,000. Not claims:
  * bare integers 0-10 (no unit, no scale): list markers, "top 2", "8개의 레이어";
    checking them finds them in nearly every paper, so they prove nothing (with a
    unit they count: ``3배``, ``5%``, ``2B``);
  * years: a bare 1900-2099 without thousands separator, ``2024년``, ``2024年``;
  * references and ordinals: a number after Table/Figure/Section/Eq./Step/표/그림/図,
    ``3.2절``, ``第3章``, ``제2장``, ``2번째``;
  * numbers glued into a name (``GPT-4``, ``SAM2``, ``Llama 3.1``: the name is the claim),
    spelled-out numbers ("two", "두 가지"), dates, and math (``O(n^2 d)``, ``$...$``).

Names are runs of Latin words, in any script around them, where each word is
name-like: it has a digit (``GSM8K``, ``C4``), a capital after its first letter
(``DocVQA``, ``LLaMA``, ``mPLUG``), or is capitalised (``Ferret``, ``Rainbow Teaming``).
Hyphen/underscore/dot joins stay inside a word (``LLaMA-3-70B``, ``Idefics3-8B``,
``NeuFlow_v2``, ``FID-30K``); a small version number after a name belongs to it
(``Hermes 3``, ``Llama 3.1``, ``NeuFlow v2``); two capitalised names joined by
"of"/"and"/"for"/"&" are one (``Tanks and Temples``, ``Level of Detail``). Not names:
  * all-lowercase Latin (``교차 주의(cross-attention)``, ``(distillation)``): glosses
    of a term the summary already wrote in its own language. They carry little
    signal and a paper words them its own way, so they are skipped;
  * in an English sentence, its first word when it is an ordinary word (``The``,
    ``Moreover``, ``Notably``, ``Training``; see `lexicon.SENTENCE_WORDS`), though
    ``Large Language Models`` keeps its first word;
  * ``Table 2``, ``Figure 3`` and single letters.
An acronym and its expansion written together (``Online Subspace Descent (OSD)``,
``FVD(Frechet Video Distance)``, ``(Efficient Frame Pruning, EFP)``) are alternatives:
either found in the source supports both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from papergist.verify.lexicon import (LEADING_WORDS, ORDINARY_SUFFIXES, REFERENCE_WORDS,
                                      SENTENCE_WORDS)
from papergist.verify.numbers import Mention, find_numbers, value_key
from papergist.verify.text import fold, squash

# A word that can be (part of) a name: a capital or a digit somewhere in it.
_NAME_WORD = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9_+\-]{0,60}[A-Z0-9])[A-Za-z][A-Za-z0-9]*"
                        r"(?:(?:[-_+]|\.(?=\d))[A-Za-z0-9]+)*\+*(?:'s(?![A-Za-z]))?")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_SPLIT_WORDS = re.compile(r"[\s\-_]+")
_SPLIT_BEFORE = re.compile(r"[\s(\[]+")
_PARENS = re.compile(r"\([^()]*\)")
_DIGIT = re.compile(r"\d")
_INNER_CAPITAL = re.compile(r"(?<=.)[A-Z]")
_OTHER_LETTER = re.compile(r"[^\W\d_A-Za-z]")
_MAX_NAME = 120  # characters; anything longer is not a name
_CONNECTORS = frozenset({" of ", " and ", " for ", " & "})
_VERSION = re.compile(r" (?:v\d+(?:\.\d+)*|\d(?:\.\d)?)"
                      r"(?![A-Za-z0-9%×]|[.,:/-]\d| ?(?:[xX×%]|times|배|倍|점|点))")
_MATH = re.compile(r"\b[OΘΩ]\([^()]*(?:\([^()]*\)[^()]*)*\)|(?<![A-Za-z0-9])[A-Za-z0-9]+\^\{[^{}]*\}|\$[^$]*\$")
_SENTENCE_END = re.compile(r"[.!?。！？]\s+|\n+|^\s*")
_UNIT_SUFFIX = {"%": "%", "x": "x", "time": "s", "pp": "pp", "pt": "pt", "gb": "GB",
                "mb": "MB", "tb": "TB", "kb": "KB"}
_JOIN = {"dim": "x", "ratio": ":", "frac": "/"}


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a summary.

    `kind` is "number" or "name"; `text` is as written in the summary; `key` is the
    normalised form compared with the source (a canonical value with its unit
    class, or a name's squashed tokens). Numbers carry their `values` and `unit`;
    names their `alts` (the acronym or expansion written beside them) and whether
    they are `strong` (identifier-like: a digit, inner capitals, several words).
    """

    kind: Literal["number", "name"]
    text: str
    key: str
    values: tuple[Decimal, ...] = ()
    unit: str = ""
    decimals: int = 0
    scaled: bool = False
    alts: tuple[str, ...] = field(default=())
    strong: bool = False
    initial: bool = False


# --- names --------------------------------------------------------------------------

def _identifier(word: str) -> bool:
    """Clearly an identifier rather than a capitalised word: digit or inner capital."""
    return bool(_DIGIT.search(word) or _INNER_CAPITAL.search(word))


def _latin_sentence(text: str, start: int, end: int) -> bool:
    """True when the sentence in [start, end) is mostly Latin letters (English)."""
    chunk = text[start:end]
    latin = len(_LATIN_LETTER.findall(chunk))
    return latin > 0 and latin >= 4 * len(_OTHER_LETTER.findall(chunk))


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, for sentence-initial checks."""
    starts = sorted({m.end() for m in _SENTENCE_END.finditer(text)} | {0})
    return [(s, e) for s, e in zip(starts, starts[1:] + [len(text)]) if s < e]


def _ordinary_initial(word: str) -> bool:
    """A capitalised sentence-initial word that is an ordinary English word."""
    lower = word.lower()
    if not word[0].isupper() or _identifier(word) or "-" in word:
        return lower in SENTENCE_WORDS
    return lower in SENTENCE_WORDS or lower.endswith(ORDINARY_SUFFIXES)


def _phrases(text: str) -> list[tuple[int, int, bool]]:
    """Spans of name phrases in folded `text`: (start, end, initial)."""
    spans: list[tuple[int, int, bool]] = []
    for s_start, s_end in _sentence_bounds(text):
        words = [m for m in _NAME_WORD.finditer(text, s_start, s_end) if m.end() - m.start() > 1]
        if not words:
            continue
        current = [words[0]]
        for m in words[1:] + [None]:
            if m is not None and _joined(text, current[-1], m):
                current.append(m)
                continue
            initial = (not text[s_start:current[0].start()].strip(" \"'(-*[")
                       and _latin_sentence(text, s_start, s_end))
            spans.extend(_close_phrase(text, current, initial))
            current = [m] if m is not None else []
    return spans


def _joined(text: str, a: re.Match, b: re.Match) -> bool:
    """Whether two name words are one name: next to each other, or two capitalised
    words around "of"/"and"/"for"/"&" ("Tanks and Temples", "Level of Detail")."""
    gap = text[a.end():b.start()]
    return gap in (" ", "-") or (gap in _CONNECTORS and a.group()[0].isupper()
                                 and b.group()[0].isupper())


def _close_phrase(text: str, words: list[re.Match], initial: bool) -> list[tuple[int, int, bool]]:
    """Finish a phrase: drop an ordinary sentence-initial word, reference words
    ("Table 2"), attach a trailing version number ("Hermes 3")."""
    first = words[0].group()
    if initial and (first.lower() in LEADING_WORDS if len(words) > 1 else _ordinary_initial(first)):
        words, initial = words[1:], False  # "The GSM8K", "Notably" (but "Large Language Models")
    if not words:
        return []
    start, end = words[0].start(), words[-1].end()
    version = _VERSION.match(text, end)
    if words[-1].group().lower() in REFERENCE_WORDS:
        if version or len(words) == 1:
            return []
    elif version and (not words[-1].group().isupper() or version.group().strip().isdigit()):
        end = version.end()
    return [(start, end, initial)]


def _initials(phrase: str) -> str:
    """First characters of a phrase's words plus their inner capitals, uppercase."""
    out = []
    for word in _SPLIT_WORDS.split(phrase):
        if word:
            out.append(word[0].upper() + "".join(c for c in word[1:] if c.isupper()))
    return "".join(out)


def is_acronym(short: str, long: str) -> bool:
    """True when `short` (one word, 2+ capitals) abbreviates `long` (2+ words):
    its capitals and digits, in order, among the initials of `long`, first to first."""
    if not acronym_like(short) or len(_SPLIT_WORDS.split(long.strip())) < 2:
        return False
    letters = [c for c in short if c.isupper() or c.isdigit()]
    initials = _initials(long)
    if len(letters) < 2 or not initials or letters[0] != initials[0]:
        return False
    it = iter(initials)
    return all(any(c == i for i in it) for c in letters)


def acronym_like(text: str) -> bool:
    """One word of mostly capitals ("OSD", "SOTA", "MoE", "ObjMC"), not "LibriSpeech"."""
    upper = sum(c.isupper() for c in text)
    return " " not in text.strip() and upper >= 2 and upper >= sum(c.islower() for c in text)


def _paren_groups(text: str) -> list[tuple[int, int]]:
    """(open, close) offsets of the innermost parentheses of `text`."""
    return [(m.start(), m.end()) for m in _PARENS.finditer(text)]


def _link_acronyms(text: str, names: list[tuple[int, int, str]]) -> dict[int, set[int]]:
    """Pairs of names (indexes) that are acronym and expansion of each other,
    written as `X (Y)` or together inside one pair of parentheses."""
    links: dict[int, set[int]] = {}
    for open_, close in _paren_groups(text):
        inside = [i for i, (s, e, _) in enumerate(names) if open_ < s and e < close]
        before = [i for i, (s, e, _) in enumerate(names)
                  if e <= open_ and text[e:open_].strip(" '\"") == ""]
        group = inside + before[-1:]
        for a in group:
            for b in group:
                if a != b and (is_acronym(names[a][2], names[b][2])
                               or is_acronym(names[b][2], names[a][2])):
                    links.setdefault(a, set()).add(b)
    return links


def _name_claims(text: str) -> tuple[list[Claim], list[tuple[int, int]]]:
    """Name claims of folded `text` and the spans they cover."""
    spans = _phrases(text)
    names = [(s, e, text[s:e - 2] if text.endswith("'s", s, e) else text[s:e]) for s, e, _ in spans]
    links = _link_acronyms(text, names)
    claims = []
    for i, ((s, e, written), (_, _, initial)) in enumerate(zip(names, spans)):
        key = squash(written, folded=True)
        if not key or len(written) > _MAX_NAME:
            continue
        words = written.split()
        strong = len(words) > 1 or any(_identifier(w) for w in _SPLIT_WORDS.split(written))
        alts = tuple(sorted({squash(names[j][2], folded=True) for j in links.get(i, ())} - {key}))
        claims.append(Claim("name", written, key, alts=alts, strong=strong, initial=initial))
    return claims, [(s, e) for s, e, _ in spans]


# --- numbers ------------------------------------------------------------------------

def number_key(mention: Mention) -> str:
    """A number's key: canonical values joined by its form, then its unit class."""
    keys = [value_key(v) for v in mention.values]
    unit = mention.unit
    if unit in _JOIN:
        return _JOIN[unit].join(keys)
    return "-".join(keys) + _UNIT_SUFFIX.get(unit, "")


def _is_claim(text: str, mention: Mention) -> bool:
    """Whether a number states something: not a year, a reference or a small count."""
    if mention.unit in ("year", "ordinal") or text[mention.start - 1:mention.start] in ("第", "제"):
        return False
    before = text[max(0, mention.start - 14):mention.start].lower().rstrip(" .:")
    last = _SPLIT_BEFORE.split(before)[-1] if before else ""
    if last in REFERENCE_WORDS or last.rstrip(".") in REFERENCE_WORDS:
        return False
    if mention.unit or mention.scaled:
        return True
    ints = all(v == v.to_integral_value() for v in mention.values)
    if ints and all(v <= 10 for v in mention.values):
        return False
    raw = text[mention.start:mention.end]
    if mention.form == "" and ints and 1900 <= mention.values[0] <= 2099 and "," not in raw:
        return False
    return True


def _number_claims(text: str, covered: list[tuple[int, int]]) -> list[Claim]:
    """Number claims of folded `text` outside the spans of names."""
    claims = []
    for m in find_numbers(text):
        if any(s <= m.start < e for s, e in covered) or not _is_claim(text, m):
            continue
        claims.append(Claim("number", text[m.start:m.end].strip(), number_key(m),
                            values=m.values, unit=m.unit, decimals=m.decimals,
                            scaled=m.scaled))
    return claims


def extract_claims(text: str) -> list[Claim]:
    """Numbers and names `text` states, in order of first appearance, each once
    (by key). Works on any language; Markdown markers are harmless."""
    folded = _MATH.sub(lambda m: " " * len(m.group()), fold(text))
    names, covered = _name_claims(folded)
    numbers = _number_claims(folded, covered)
    seen: set[tuple[str, str]] = set()
    out = []
    for claim in sorted(names + numbers, key=lambda c: folded.find(c.text)):
        if (claim.kind, claim.key) not in seen:
            seen.add((claim.kind, claim.key))
            out.append(claim)
    return out

