"""Reading a model's reply into `Sections`, whatever shape it arrives in.

Handles what real servers send: JSON in Markdown fences or with prose around
it, sections as lists, keys spelled "What's New", empty content, truncated
replies. Anything that cannot become three non-empty sections raises
`ReplyProblem` with a reason short enough to tell the model in a repair turn.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from papergist.models import SECTION_KEYS, Sections
from papergist.summarize.language import check_language, language_name

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {key: {"type": "string"} for key in SECTION_KEYS},
    "required": list(SECTION_KEYS),
    "additionalProperties": False,
}
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_KEY_ALIASES = {re.sub(r"[^a-z]", "", key): key for key in SECTION_KEYS}


SECTION_MAX_CHARS = 3000  # a section longer than this is a spoiled reply, never stored


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


def _sections(value: dict[str, Any]) -> Sections:
    found = {}
    for key, text in value.items():
        canonical = _KEY_ALIASES.get(re.sub(r"[^a-z]", "", str(key).lower()))
        if canonical:
            found[canonical] = text
    missing = [k for k in SECTION_KEYS if k not in found]
    if missing:
        raise ReplyProblem(f"the JSON object lacks {', '.join(repr(k) for k in missing)}")
    try:
        sections = Sections(**found)
    except ValidationError:
        raise ReplyProblem("every section must be a string") from None
    empty = [k for k in SECTION_KEYS if not getattr(sections, k).strip()]
    if empty:
        raise ReplyProblem(f"the section(s) {', '.join(repr(k) for k in empty)} are empty")
    long = [k for k in SECTION_KEYS if len(getattr(sections, k)) > SECTION_MAX_CHARS]
    if long:
        raise ReplyProblem(f"the section(s) {', '.join(repr(k) for k in long)} are longer "
                           f"than {SECTION_MAX_CHARS:,} characters")
    return sections


def parse_reply(content: str | None, finish_reason: str | None, language: str,
                max_chars: int | None = None) -> Sections:
    """Three sections from a reply, checked to be in `language`; or `ReplyProblem`.

    `max_chars`: a reply longer than this is far beyond the length asked for
    (a runaway or a hostile server) and is refused before it is parsed.
    """
    if not content or not content.strip():
        raise ReplyProblem("the reply was empty")
    if max_chars is not None and len(content) > max_chars:
        raise ReplyProblem(f"the reply was {len(content):,} characters, far beyond the length "
                           "asked for")
    sections = _sections(_json_object(content, finish_reason == "length"))
    text = " ".join(sections.model_dump().values())
    if check_language(text, language) is False:
        raise ReplyProblem(f"the sections are not written in {language_name(language)}",
                           kind="language")
    return sections
