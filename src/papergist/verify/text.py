"""Text normalisation shared by claim extraction and the source index.

Everything here is pure string work: folding (Unicode forms, accents, LaTeX and
Markdown leftovers), sentence splitting, dropping a paper's references section,
and the *squashed* token form names are compared in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache




def _fold_table() -> dict[str, str]:
    """Accented Latin letters to their base letter, dashes to "-", curly quotes to ASCII."""
    table = {}
    for cp in range(0xC0, 0x250):
        base = "".join(c for c in unicodedata.normalize("NFKD", chr(cp))
                       if not unicodedata.combining(c))
        if base and base != chr(cp) and base.isascii():
            table[chr(cp)] = base
    table.update({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"})
    table.update({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
    return table


_FOLD = _fold_table()
_FOLD_CHARS = re.compile("[" + "".join(sorted(_FOLD)) + "]")
_LATEX = ((re.compile(r"\\%"), "%"), (re.compile(r"\$?\\times\$?"), "×"),
          (re.compile(r"\\(?:textbf|textit|emph|mathrm|text)\{([^{}]*)\}"), r"\1"))
_ELIDED = re.compile(r"\b([A-Za-z0-9]+)-([A-Za-z][A-Za-z0-9]*) (and|or) -(?=[A-Za-z])")
_MARKDOWN = re.compile(r"\*\*|__|`|^#{1,6}\s*|^\s*(?:[-*+•]\s+)+", re.M)


def fold(text: str) -> str:
    """Unicode-compatible form (NFKC: full-width to ASCII), Latin accents dropped
    ("Fréchet" to "Frechet"), dashes and quotes made ASCII, LaTeX `\\%`/`\\times`
    undone. Hangul and kana are left intact."""
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = _FOLD_CHARS.sub(lambda m: _FOLD[m.group()], text)
    if "\\" in text:
        for pattern, repl in _LATEX:
            text = pattern.sub(repl, text)
    return text


def unelide(text: str) -> str:
    """Spell out elided compounds: "COCO-Things and -Stuff" -> "... and COCO-Stuff"."""
    return _ELIDED.sub(lambda m: f"{m.group(1)}-{m.group(2)} {m.group(3)} {m.group(1)}-", text)


def strip_markdown(text: str) -> str:
    """Headings' `#`, bold/italic markers, bullets and `[Figure N]` placeholders out."""
    text = _MARKDOWN.sub("", text)
    return re.sub(r"\[(?:Figure|Table|Fig\.?)\s*\d*\]", " ", text)


# --- references ---------------------------------------------------------------------

_REFERENCES = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\*\*)?(?:[\dIVX]+\.?\s+)?"
                         r"(?:references|bibliography|literature cited)(?:\*\*)?\s*:?\s*$",
                         re.I | re.M)
# What may follow the references: appendices ("## A Experiments", "Appendix", ...).
_AFTER_REFERENCES = re.compile(r"^\s*(?:#{1,6}\s*)(?:appendix|appendices|supplementary|"
                               r"supplemental|[A-H](?:\.\d+)*[.:]?\s+[A-Z])", re.I | re.M)


def drop_references(text: str) -> str:
    """The text without its references section; appendices after it are kept."""
    match = None
    for match in _REFERENCES.finditer(text):
        pass  # the last such heading: a "References" in the body is rare, at the end common
    if match is None:
        return text
    tail = _AFTER_REFERENCES.search(text, match.end())
    return text[:match.start()] + ("\n\n" + text[tail.start():] if tail else "")


# --- sentences ----------------------------------------------------------------------

# --- squashed tokens ----------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+")
# Words ending in "s" that are not plurals ("this" must not become "thi").
_NOT_PLURAL = frozenset("""this thus was has its is as us yes less news series species analysis
basis bias lens gas plus focus virus corpus status versus across always perhaps whereas
does goes various previous numerous famous nervous continuous ambiguous diffusion""".split())


@lru_cache(maxsize=1 << 16)
def norm_token(token: str) -> str:
    """One lowercase token in its comparison form: simple plurals made singular
    ("llms" to "llm", "strategies" to "strategy"); tokens with digits kept."""
    if len(token) < 4 or not token.isalpha() or token in _NOT_PLURAL:
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    """Comparison tokens of already folded text: lowercase alphanumeric runs."""
    return [norm_token(t) for t in _TOKEN.findall(text.lower())]


def squash(text: str, folded: bool = False) -> str:
    """The key a name is compared by: its tokens concatenated, so case, hyphens,
    spaces, underscores and plurals do not matter ("SurgSAM-2" = "SurgSAM2")."""
    return "".join(tokens(text if folded else fold(text)))
