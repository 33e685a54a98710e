"""Is a text written in the language asked for? A cheap check of a model's reply.

Letters are counted by script. Korean, Japanese and Chinese summaries keep English
terms, so a Hangul syllable or CJK character counts `DENSE_WEIGHT` letters (it
carries about as much as 2-3 Latin letters), and text in parentheses or double
quotes (the glosses "모델(model)" and quotations) is left out when enough remains.
Latin-script languages are told apart by the share of their stop words. Pure, stdlib.
Check each section's text, not a raw JSON reply (its quotes look like quotations).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "ko": "Korean", "ja": "Japanese", "zh": "Chinese",
    "zh-TW": "Traditional Chinese", "fr": "French", "de": "German", "es": "Spanish",
    "pt": "Portuguese", "it": "Italian", "nl": "Dutch", "sv": "Swedish", "pl": "Polish",
    "cs": "Czech", "tr": "Turkish", "vi": "Vietnamese", "id": "Indonesian", "ru": "Russian",
    "uk": "Ukrainian", "el": "Greek", "ar": "Arabic", "fa": "Persian", "he": "Hebrew",
    "hi": "Hindi", "th": "Thai",
}
_ALIASES = {"zh-hant": "zh-TW", "zh-hk": "zh-TW", "zh-mo": "zh-TW", "zh-hans": "zh",
            "zh-cn": "zh", "zh-sg": "zh", "iw": "he", "in": "id"}
_LOWERED = {code.lower(): code for code in LANGUAGE_NAMES}

MIN_LETTERS = 20  # weighted letters; below this a text is too short to judge
DENSE_WEIGHT = 2.5  # Latin letters one Hangul syllable / CJK character / kana counts as
CJK_SHARE = 0.3  # ko/ja/zh: least weighted share of the language's own script
SCRIPT_SHARE = 0.5  # other non-Latin scripts: least share of their script
LATIN_SHARE = 0.8  # Latin-script languages: least share of Latin letters
KANA_SHARE = 0.1  # ja: least kana share of kana+Han (Chinese has none)
STRAY_SHARE = 0.02  # zh: most kana (or Hangul) share tolerated next to Han
MIN_STOP_SHARE = 0.08  # least share of the language's stop words among the words

_RANGES = (  # (first, last, script); only letters (str.isalpha) are looked up
    (0x0041, 0x024F, "latin"), (0x0370, 0x03FF, "greek"), (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"), (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"),
    (0x0900, 0x097F, "devanagari"), (0x0E00, 0x0E7F, "thai"), (0x1100, 0x11FF, "hangul"),
    (0x1E00, 0x1EFF, "latin"), (0x1F00, 0x1FFF, "greek"), (0x3005, 0x3007, "han"),
    (0x3040, 0x30FF, "kana"), (0x3130, 0x318F, "hangul"), (0x31F0, 0x31FF, "kana"),
    (0x3400, 0x4DBF, "han"), (0x4E00, 0x9FFF, "han"), (0xAC00, 0xD7A3, "hangul"),
    (0xF900, 0xFAFF, "han"), (0xFB50, 0xFDFF, "arabic"), (0xFE70, 0xFEFF, "arabic"),
    (0xFF21, 0xFF5A, "latin"), (0xFF66, 0xFF9D, "kana"), (0x20000, 0x2FFFF, "han"),
)
_STARTS = [r[0] for r in _RANGES]
_DENSE = frozenset({"hangul", "han", "kana"})
_MARKERS = {"ru": ("ыэъё", "іїєґ"), "uk": ("іїєґ", "ыэъё"),
            "ar": ("يكةى", "پچژگکی"), "fa": ("پچژگکی", "يكةى")}
_SCRIPT_OF = {"ko": "hangul", "ru": "cyrillic", "uk": "cyrillic", "el": "greek",
              "ar": "arabic", "fa": "arabic", "he": "hebrew", "hi": "devanagari",
              "th": "thai"}
_STOP_WORDS = {code: frozenset(words.split()) for code, words in {
    "en": "the of and to in a is are that for with this we on by as be from which our it its "
          "an these their at or than has have was were not can been also into such",
    "fr": "le la les de des du un une et est sont dans pour par sur avec que qui ce cette ces "
          "nous au aux ne pas plus leur se l d qu son sa ou mais il elle en à",
    "de": "der die das und ist sind ein eine einer eines den dem des mit von zu für auf im in "
          "nicht wir sich auch wird werden als bei oder dass zur zum",
    "es": "el la los las de del y en un una es son que por para con se su sus al lo como más "
          "este esta estos nos o pero a",
    "pt": "o os as de do da dos das e em um uma é são que por para com se seu sua no na nos "
          "nas ao mais este esta como ou a",
    "it": "il lo la i gli di del della dei e è sono un una per con che da non si al alla nel "
          "nella questo questa come più l in a",
    "nl": "de het een en van in is zijn dat die voor met op te door niet wordt worden ook aan "
          "bij deze dit",
    "sv": "och att det som en ett är av för på med till den inte om har vi",
    "pl": "i w z na się nie do że jest to jak od przez dla oraz są po ale ten ta",
    "cs": "a se na je že v s z do to jako pro ale jsou k by ve",
    "tr": "ve bir bu için ile da olan olarak çok daha gibi ise ne her değil kadar",
    "vi": "và của là có các trong được cho những một với này không để đã như từ",
    "id": "yang dan di ke dari ini itu dengan untuk pada adalah dalam tidak akan oleh juga "
          "kami atau sebagai",
}.items()}
# Characters written differently in Simplified / Traditional Chinese (same order).
_SIMPLIFIED = "这个们为说对时来会学发经过现进种实验数据语与于务计术训练测试结显优图问题关应处区点从还长统网络让样质级层习确认识视频读写变换无标记间开门"
_TRADITIONAL = "這個們為說對時來會學發經過現進種實驗數據語與於務計術訓練測試結顯優圖問題關應處區點從還長統網絡讓樣質級層習確認識視頻讀寫變換無標記間開門"
_GLOSS = re.compile(r"\([^()]*\)|（[^（）]*）|\[[^\[\]]*\]|\"[^\"]*\"|“[^“”]*”")
_URL = re.compile(r"(?:https?://|www\.)[\w\-.~:/?#@!$&*+,;=%]*|[\w.+-]+@[\w.-]+|"
                  r"[\w.-]+\.(?:com|org|io|ai|net|html?)\b[\w\-.~:/?#@!$&*+,;=%]*", re.ASCII)
_WORD = re.compile(r"\b[^\W\d_]+\b")  # not the "D" of "3D"


def _canonical(code: str) -> str | None:
    """The LANGUAGE_NAMES key for `code` ("EN-us" -> "en", "zh_Hant" -> "zh-TW"), or None."""
    parts = code.strip().replace("_", "-").lower().split("-")
    for n in range(len(parts), 0, -1):  # "zh-hant-tw", then "zh-hant", then "zh"
        candidate = "-".join(parts[:n])
        if candidate in _ALIASES or candidate in _LOWERED:
            return _ALIASES.get(candidate) or _LOWERED[candidate]
    return None


def language_name(code: str) -> str:
    """The English name of a language code (case-insensitive, region suffixes accepted).

    Unknown codes are returned as given, so a prompt can still name them."""
    canonical = _canonical(code)
    return LANGUAGE_NAMES[canonical] if canonical else code


def script_counts(text: str) -> Counter[str]:
    """How many letters of `text` are in each script ("latin", "hangul", "other", ...)."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            n = ord(ch)
            i = bisect.bisect_right(_STARTS, n) - 1
            counts[_RANGES[i][2] if i >= 0 and n <= _RANGES[i][1] else "other"] += 1
    return counts


def _weighted(counts: Counter[str]) -> dict[str, float]:
    return {s: n * (DENSE_WEIGHT if s in _DENSE else 1.0) for s, n in counts.items()}


def strip_glosses(text: str) -> str:
    """`text` without what stands in (), （）, [] or double quotes (innermost first)."""
    for _ in range(5):
        stripped = _GLOSS.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text


def stop_word_shares(text: str) -> dict[str, float]:
    """For each Latin-script language with a stop list, the share of its stop words."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return {code: 0.0 for code in _STOP_WORDS}
    return {code: sum(w in stops for w in words) / len(words)
            for code, stops in _STOP_WORDS.items()}


def _share(weights: dict[str, float], *scripts: str) -> float:
    total = sum(weights.values())
    return sum(weights.get(s, 0.0) for s in scripts) / total if total else 0.0


def check_language(text: str, code: str) -> bool | None:
    """True when `text` is plausibly written in language `code`, False when clearly not.

    None when `code` is unknown or the text has fewer than `MIN_LETTERS` (weighted)
    letters once URLs are dropped. Glosses in parentheses/quotes are ignored unless too
    little is left. English is the language of technical terms, so English text needs
    only that no other language's stop words outnumber its own; the other Latin-script
    languages need `MIN_STOP_SHARE` of their own, more than English's and at least as
    many as any other language's."""
    lang = _canonical(code)
    if lang is None:
        return None
    text = _URL.sub(" ", text)
    stripped = strip_glosses(text)
    counts = script_counts(stripped)
    if sum(_weighted(counts).values()) < MIN_LETTERS:
        stripped, counts = text, script_counts(text)
    weights = _weighted(counts)
    if sum(weights.values()) < MIN_LETTERS:
        return None
    cjk = counts["han"] + counts["kana"]
    if lang == "ko":
        return _share(weights, "hangul") >= CJK_SHARE
    if lang == "ja":
        return (counts["kana"] >= 2 and counts["kana"] >= KANA_SHARE * cjk
                and _share(weights, "han", "kana") >= CJK_SHARE)
    if lang in ("zh", "zh-TW"):
        if (_share(weights, "han") < CJK_SHARE
                or counts["kana"] + counts["hangul"] > STRAY_SHARE * counts["han"]):
            return False
        simplified = sum(stripped.count(c) for c in _SIMPLIFIED)
        traditional = sum(stripped.count(c) for c in _TRADITIONAL)
        return traditional <= simplified if lang == "zh" else simplified <= traditional
    if lang in _SCRIPT_OF:
        if _share(weights, _SCRIPT_OF[lang]) < SCRIPT_SHARE:
            return False
        if lang in _MARKERS:  # letters one language of the script has and its sibling lacks
            mine, sibling = (sum(stripped.lower().count(c) for c in m) for m in _MARKERS[lang])
            return mine >= sibling
        return True
    if _share(weights, "latin") < LATIN_SHARE:
        return False
    shares = stop_word_shares(stripped)
    own = shares[lang]
    if lang == "en":  # technical English may lack stop words: only another language wins
        return all(own >= s for s in shares.values())
    return (own >= MIN_STOP_SHARE and own > shares["en"]
            and all(own >= s for s in shares.values()))
