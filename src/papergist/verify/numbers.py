"""Numbers with their units and forms, in any language the summaries use.

`find_numbers` reads every number of a (folded) text as a `Mention`: its values
(scale words applied, times in seconds), its unit class and its form. Unit classes
are what two numbers must share to be the same claim:

==========  ===========================================================================
``%``       ``%``, percent, 퍼센트, パーセント
``pp``      ``%p``, p.p., percentage points, 퍼센트포인트
``pt``      points: points, 점, 点, 分 (score points)
``x``       ``×``, ``x``, times, -fold, 배, 倍 (and, in sources, "twice", "threefold")
``time``    s, ms, min, h, seconds, 초, 秒, 分钟, 시간, 小时 (value in seconds)
``gb`` ...  memory: KB, MB, GB, TB
``dim``     ``512x384``, ``1024 × 1024`` (one mention, two values)
``ratio``   ``1:7``
``frac``    ``1/16``
``year``    2024년, 2024年 (never a claim)
``""``      anything else: counts (개, 명, 件, 个), FPS, tokens, bare numbers
==========  ===========================================================================

Scale words multiply the value and leave the unit alone: K/M/B/T after a number,
thousand/million/billion/trillion, 천/만/십만/백만/천만/억/조, 千/万/萬/百万/千万/亿/億/兆;
so ``2.4백만`` = ``2.4M`` = ``2,400,000``. A range (``10x-70x``, ``30-50번``,
``60M부터 1B``, ``10배에서 70배``) is one mention with two values sharing the unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from papergist.verify.lexicon import MULTIPLE_WORDS, NUMBER_WORDS

_NUM = re.compile(r"(?<![A-Za-z0-9_.,])(?<![A-Za-z0-9]-)(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_NUM_AT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_DATE = re.compile(r"\b(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])(?:[-/.]\d\d?)?\b")

# (pattern, unit class, multiplier); tried in order right after a number, after
# optional spaces. Attached Latin units must not run into another letter.
_L = r"(?![A-Za-z])"
_UNIT_TABLE: list[tuple[str, str, int | str, bool]] = [
    (r"%\s?p" + _L + r"|p\.p\.|pp" + _L + r"|percentage\s+points?" + _L + r"|퍼센트\s?포인트|%포인트",
     "pp", 1, False),
    (r"%|percent(?:age)?" + _L + r"|per\s?cent" + _L + r"|퍼센트|パーセント|プロ", "%", 1, False),
    (r"[×xX](?![A-Za-z0-9])|times" + _L + r"|-?fold" + _L + r"|배(?!치|포|경|열|우|터)|倍", "x", 1,
     False),
    (r"GB|GiB", "gb", 1, False), (r"MB|MiB", "mb", 1, False), (r"TB|TiB", "tb", 1, False),
    (r"KB|KiB", "kb", 1, False),
    (r"ms" + _L + r"|milliseconds?" + _L + r"|밀리초|毫秒|ミリ秒", "time", "0.001", False),
    (r"s" + _L + r"|secs?" + _L + r"|seconds?" + _L + r"|초(?!과|기|월|대|록|점|안)|秒", "time", 1,
     False),
    (r"mins?" + _L + r"|minutes?" + _L + r"|分钟|分間", "time", 60, False),
    (r"h" + _L + r"|hrs?" + _L + r"|hours?" + _L + r"|시간|小时|小時|時間", "time", 3600, False),
    (r"points?" + _L + r"|pts?" + _L + r"|포인트|점(?!수|검|진|차|프)|点|分", "pt", 1, False),
    (r"년(?!대)|年(?!代)", "year", 1, False),
    (r"번째|째|절|节|節|章", "ordinal", 1, False),
]
_UNITS = [(re.compile(p, re.I if ci else 0), unit, Decimal(mult)) for p, unit, mult, ci in _UNIT_TABLE]
_SCALES = [(re.compile(p), Decimal(m)) for p, m in [
    (r"[Kk](?![A-Za-z0-9])", "1e3"), (r"M(?![A-Za-z0-9])", "1e6"), (r"B(?![A-Za-z0-9])", "1e9"),
    (r"T(?![A-Za-z0-9])", "1e12"),
    (r"[\s-]?[Tt]housand" + _L, "1e3"), (r"[\s-]?[Mm]illion" + _L, "1e6"),
    (r"[\s-]?[Bb]illion" + _L, "1e9"), (r"[\s-]?[Tt]rillion" + _L, "1e12"),
    (r"\s?(?:십만)", "1e5"), (r"\s?(?:백만|百万)", "1e6"), (r"\s?(?:천만|千万)", "1e7"),
    (r"\s?(?:만|万|萬)", "1e4"), (r"\s?(?:억|亿|億)", "1e8"), (r"\s?(?:천|千)(?![가-힣])", "1e3"),
    (r"\s?(?:조|兆)(?![가-힣])", "1e12"),
]]
_RANGE = re.compile(r"\s?(?:-|~|～|〜|to\s|부터\s?|에서\s?|から|到|至)\s?")
_DIM = re.compile(r"\s?[x×X]\s?")
_RATIO = re.compile(r":|\s:\s")
_FRAC = re.compile(r"/")
_ORDINAL = re.compile(r"(?:st|nd|rd|th)(?![A-Za-z])")
_WORD_NUM = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b"
                       r"(?:\s+(times|fold)\b|-(fold)\b)?"
                       r"(?:[\s-](thousand|million|billion|trillion)\b)?", re.I)
_FACTOR = re.compile(r"\bfactor of (?:about |around |roughly |up to |over )?("
                     r"\d+(?:\.\d+)?)(?![\d.]*\s?[%×xX])", re.I)
_WORD_SCALE = {"thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}


@dataclass(frozen=True)
class Mention:
    """One number as written: `values` (one, or two for ranges, dimensions,
    ratios and fractions), its unit class and how many decimals it was written with."""

    start: int
    end: int
    values: tuple[Decimal, ...]
    unit: str
    decimals: int = 0
    scaled: bool = False
    form: str = ""  # "range", "dim", "ratio", "frac", "word" or ""

    @property
    def keys(self) -> tuple[str, ...]:
        """The values as canonical strings: `2.00` and `2.0` are both "2"."""
        return tuple(value_key(v) for v in self.values)


def value_key(value: Decimal) -> str:
    """A value in canonical decimal form: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rounded_keys(value: Decimal, decimals: int) -> list[tuple[str, int]]:
    """The value rounded to each coarser precision it could be quoted at
    (15.17 -> ("15.2", 1)); only values written with 2+ decimals have any."""
    return [(value_key(value.quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)), d)
            for d in range(1, decimals)]


def _decimal(raw: str) -> tuple[Decimal, int]:
    """The value of a digit string and its number of decimals."""
    raw = raw.replace(",", "")
    return Decimal(raw), len(raw.split(".")[1]) if "." in raw else 0


def _unit_at(text: str, pos: int) -> tuple[str, Decimal, bool, int]:
    """Scale and unit right after a number: (unit, multiplier, scaled, end)."""
    mult, scaled = Decimal(1), False
    for pattern, scale in _SCALES:
        m = pattern.match(text, pos)
        if m:
            mult, scaled, pos = scale, True, m.end()
            break
    probe = pos + (1 if pos < len(text) and text[pos] in " -" else 0)
    for pattern, unit, factor in _UNITS:
        m = pattern.match(text, probe)
        if m:
            return unit, mult * factor, scaled, m.end()
    return "", mult, scaled, pos


def _glued(text: str, pos: int) -> bool:
    """True when a letter or digit follows at `pos` ("3D", "8x7B"): not a number end."""
    return pos < len(text) and text[pos].isascii() and text[pos].isalnum()


def _pair_at(text: str, m: re.Match) -> Mention | None:
    """`512x384`, `1:7`, `1/16`: two numbers forming one value."""
    for pattern, form in ((_DIM, "dim"), (_RATIO, "ratio"), (_FRAC, "frac")):
        sep = pattern.match(text, m.end())
        second = _NUM_AT.match(text, sep.end()) if sep else None
        if not second:
            continue
        end = second.end()
        ordinal = _ORDINAL.match(text, end) if form == "frac" else None
        end = ordinal.end() if ordinal else end
        if _glued(text, end):
            continue
        (a, _), (b, _) = _decimal(m.group()), _decimal(second.group())
        return Mention(m.start(), end, (a, b), form, 0, False, form)
    return None


def _single_at(text: str, m: re.Match) -> Mention | None:
    """A number with its scale and unit, and a second one if it opens a range."""
    value, decimals = _decimal(m.group())
    unit, mult, scaled, end = _unit_at(text, m.end())
    if end == m.end() and _glued(text, end):
        return None  # "3D", "1st", "4o", "8xH100": part of a word, not a number
    value *= mult
    rest = _NUM_AT.match(text, end) if scaled and mult >= 10000 and not unit else None
    if rest:  # "1만3366" = 13366, "2억5천만" = 250,000,000
        tail = _single_at(text, rest)
        if tail and not tail.unit and len(tail.values) == 1 and tail.values[0] < mult:
            value, end = value + tail.values[0], tail.end
    values, form = [value], ""
    link = _RANGE.match(text, end)
    second = _NUM_AT.match(text, link.end()) if link else None
    if second:
        value2, dec2 = _decimal(second.group())
        unit2, mult2, scaled2, end2 = _unit_at(text, second.end())
        if not (end2 == second.end() and _glued(text, end2)) and (
                unit2 == unit or not unit or not unit2):
            if not unit and not scaled:  # "10-70x", "2-3B": the first shares the second's unit
                unit, values = unit2, [value * mult2]
            values.append(value2 * mult2)
            unit, scaled, decimals = unit or unit2, scaled or scaled2, max(decimals, dec2)
            end, form = end2, "range"
    return Mention(m.start(), end, tuple(values), unit, decimals, scaled, form)


def find_numbers(text: str) -> list[Mention]:
    """Every number of folded `text` (digits only) with its unit, in order.

    Numbers glued to letters on the left ("SAM2", "GPT-4") belong to names and are
    not read; dates such as 2024-08-26 are skipped whole."""
    mentions: list[Mention] = []
    pos = 0
    for m in _NUM.finditer(text):
        if m.start() < pos:
            continue
        date = _DATE.match(text, m.start())
        if date:
            pos = date.end()
            continue
        mention = _pair_at(text, m) or _single_at(text, m)
        if mention:
            mentions.append(mention)
            pos = mention.end
    return mentions


def find_number_words(text: str) -> list[Mention]:
    """Numbers a source states other than in digits with a unit: spelled out
    ("three times", "twice", "one million") or as "a factor of 128" (a multiple).
    Only for supporting a summary's digits, never claims themselves."""
    found = []
    for m in _WORD_NUM.finditer(text):
        word = m.group(1).lower()
        unit = "x" if (m.group(2) or m.group(3) or word in MULTIPLE_WORDS) else ""
        if not unit and not m.group(4) and NUMBER_WORDS[word] <= 10:
            continue  # "five-stage": small counts are no claims, so they support none
        value = Decimal(NUMBER_WORDS[word]) * _WORD_SCALE.get((m.group(4) or "").lower(), 1)
        found.append(Mention(m.start(), m.end(), (value,), unit, 0, bool(m.group(4)), "word"))
    for m in _FACTOR.finditer(text):
        value, decimals = _decimal(m.group(1))
        found.append(Mention(m.start(), m.end(), (value,), "x", decimals, False, "word"))
    return found
