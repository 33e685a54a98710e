"""Reading a model's reply into `Sections`, whatever shape it arrives in.

Handles what real servers send: JSON in Markdown fences or with prose around
it, sections as lists of {"sentence", "quote"} objects (what we ask for), as
plain text or as lists of strings (what some models send instead: kept, with no
quotes), keys spelled "What's New", empty content, truncated replies.
Anything that cannot become three non-empty sections raises `ReplyProblem`
with a reason short enough to tell the model in a repair turn.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from pydantic import ValidationError

from papergist.models import SECTION_KEYS, Cited, Sections
from papergist.summarize.language import check_language, language_name

_SENTENCE: dict[str, Any] = {
    "type": "object",
    "properties": {"sentence": {"type": "string"}, "quote": {"type": "string"}},
    "required": ["sentence", "quote"],
    "additionalProperties": False,
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {key: {"type": "array", "items": _SENTENCE} for key in SECTION_KEYS},
    "required": list(SECTION_KEYS),
    "additionalProperties": False,
}
"""Each section a list of sentences, each with the passage of the paper it rests on."""
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_KEY_ALIASES = {re.sub(r"[^a-z]", "", key): key for key in SECTION_KEYS}


SECTION_MAX_CHARS = 3000  # a section longer than this is a spoiled reply, never stored
QUOTE_MAX_CHARS = 1000  # a "quote" longer than this is a runaway, not a passage


class ReplyProblem(ValueError):
    """A reply that cannot be used as it is; the message says why.

    `kind` is "spoiled" (empty, cut off, not JSON, the wrong shape, far too
    long: what a flaky server sends, worth asking again) or "language" (the
    model wrote another language: worth one repair turn, not more).
    """

    def __init__(self, message: str, kind: str = "spoiled"):
        super().__init__(message)
        self.kind = kind


def _json_object(content: str, truncated: bool) -> dict[str, Any]:
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    candidate = text[start:end + 1] if start >= 0 and end > start else text
    try:
        value = json.loads(candidate)
    except ValueError:
        if truncated:
            raise ReplyProblem("the reply was cut off before the JSON object ended") from None
        raise ReplyProblem("the reply was not a valid JSON object") from None
    if not isinstance(value, dict):
        raise ReplyProblem(f"the reply was a JSON {type(value).__name__}, not an object")
    return value


class Reply(NamedTuple):
    """A usable reply: the three sections, and the passage quoted for each sentence
    that came with one (none when the model wrote its sections as plain text)."""

    sections: Sections
    cited: tuple[Cited, ...]


def _sentences(key: str, value: Any) -> tuple[Any, list[Cited]]:
    """A section given as a list of {"sentence", "quote"} objects, as its text and
    citations; any other value as it is (plain text, a list of strings)."""
    if not isinstance(value, list) or not any(isinstance(item, dict) for item in value):
        return value, []
    sentences, cited = [], []
    for item in value:
        sentence = item.get("sentence", item.get("text")) if isinstance(item, dict) else item
        if not isinstance(sentence, str):
            raise ReplyProblem(f"every item of {key!r} must have a string \"sentence\"")
        quote = item.get("quote") if isinstance(item, dict) else None
        if isinstance(quote, str) and len(quote) > QUOTE_MAX_CHARS:
            raise ReplyProblem(f"a quote of {key!r} is longer than {QUOTE_MAX_CHARS:,} "
                               "characters: quote the one sentence that supports it")
        sentences.append(sentence.strip())
        if isinstance(quote, str) and quote.strip() and sentence.strip():
            cited.append(Cited(section=key, sentence=sentence.strip(), quote=quote.strip()))
    return [s for s in sentences if s], cited


def _sections(value: dict[str, Any]) -> Reply:
    found, cited = {}, []
    for key, text in value.items():
        canonical = _KEY_ALIASES.get(re.sub(r"[^a-z]", "", str(key).lower()))
        if canonical:
            found[canonical], quotes = _sentences(canonical, text)
            cited += quotes
    missing = [k for k in SECTION_KEYS if k not in found]
    if missing:
        raise ReplyProblem(f"the JSON object lacks {', '.join(repr(k) for k in missing)}")
    try:
        sections = Sections(**found)
    except ValidationError:
        raise ReplyProblem("every section must be a list of sentences") from None
    empty = [k for k in SECTION_KEYS if not getattr(sections, k).strip()]
    if empty:
        raise ReplyProblem(f"the section(s) {', '.join(repr(k) for k in empty)} are empty")
    long = [k for k in SECTION_KEYS if len(getattr(sections, k)) > SECTION_MAX_CHARS]
    if long:
        raise ReplyProblem(f"the section(s) {', '.join(repr(k) for k in long)} are longer "
                           f"than {SECTION_MAX_CHARS:,} characters")
    return Reply(sections, tuple(cited))


def parse_reply(content: str | None, finish_reason: str | None, language: str,
                max_chars: int | None = None) -> Reply:
    """Three sections from a reply, checked to be in `language`, with the passages
    quoted for their sentences; or `ReplyProblem`. (The quotes are the paper's own
    words, in its language: only the sections are checked for `language`.)

    `max_chars`: a reply longer than this is far beyond the length asked for
    (a runaway or a hostile server) and is refused before it is parsed.
    """
    if not content or not content.strip():
        raise ReplyProblem("the reply was empty")
    if max_chars is not None and len(content) > max_chars:
        raise ReplyProblem(f"the reply was {len(content):,} characters, far beyond the length "
                           "asked for")
    reply = _sections(_json_object(content, finish_reason == "length"))
    text = " ".join(reply.sections.model_dump().values())
    if check_language(text, language) is False:
        raise ReplyProblem(f"the sections are not written in {language_name(language)}",
                           kind="language")
    return reply
