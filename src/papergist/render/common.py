"""Small pieces every renderer shares: text cleaning, video links, language tags,
the digest's title and the note shown for a summary that is not verified.

Pure functions of strings and models; each renderer escapes the results for
its own format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from papergist.models import (LANGUAGE_TAG_RE, WHY_GENERIC, WHY_NOT_FOUND, WHY_NOTHING_CHECKED,
                              WHY_OFF_TOPIC, Digest, Verdict)

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".qt", ".m4v", ".ogv")
# C0/C1 controls (but tab/newline/CR, which are whitespace), DEL, noncharacters
# U+FFFE/U+FFFF, line/paragraph separators and bidi overrides/isolates: nothing a
# title needs, and each can break XML or spoof a message.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                      "\u2066-\u2069\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")

EXTRACTIVE_NOTE = ("Summaries are extractive: each section quotes sentences of the paper's "
                   "abstract verbatim; no model wrote them.")

UNVERIFIED = "Unverified summary"
UNCHECKED = "Unchecked summary"
NOT_FOUND, GENERIC, OFF_TOPIC, NOTHING_CHECKED = (WHY_NOT_FOUND, WHY_GENERIC, WHY_OFF_TOPIC,
                                                   WHY_NOTHING_CHECKED)


def clean(text: str | None) -> str:
    """Untrusted text on one line: no controls or bidi overrides, lone surrogates
    replaced by U+FFFD (UTF-8 cannot encode them), whitespace collapsed."""
    if not text:
        return ""
    text = _SURROGATE.sub("\ufffd", text)
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def is_video(url: str) -> bool:
    """True when a (vetted) URL's path ends like a video file (.mp4, .webm, ...)."""
    return url.lower().split("#")[0].split("?")[0].endswith(VIDEO_SUFFIXES)


def lang_tag(value: str | None) -> str | None:
    """A BCP 47-looking tag ("ko", "en-GB" from "en_GB"), or None."""
    tag = (value or "").strip().replace("_", "-")
    return tag if LANGUAGE_TAG_RE.fullmatch(tag) else None


KIND_NAMES = {"daily": "Daily Papers", "ids": "arXiv Papers", "weekly": "Weekly Papers",
              "monthly": "Monthly Papers", "arxiv": "arXiv"}


def digest_kind(digest: Digest) -> str:
    """"Daily Papers", "arXiv Papers" (an id list), "Weekly Papers", "Monthly Papers" or
    "arXiv cs.CL, cs.CV" (a day's new papers in those categories)."""
    if digest.kind == "arxiv":
        return f"arXiv {', '.join(digest.categories)}".strip()
    return KIND_NAMES[digest.kind]


def digest_title(digest: Digest) -> str:
    """"Daily Papers (2024-08-26)", "Weekly Papers (2024-W34)", ..."""
    return f"{digest_kind(digest)} ({digest.label})"


@dataclass(frozen=True)
class VerdictNote:
    """What to show under a summary that is not verified: a label ("Unverified
    summary", "Unchecked summary"), a reason, and the claims not found (clean text)."""

    label: str
    reason: str
    claims: tuple[str, ...] = ()
    unchecked: bool = False

    def text(self) -> str:
        """The reason and the claims, on one line: `not found in the paper: “a”, “b”`."""
        if not self.claims:
            return self.reason
        return f"{self.reason}: " + ", ".join(f"“{c}”" for c in self.claims)


def verdict_note(verdict: Verdict | None) -> VerdictNote | None:
    """The note for a summary's verdict, or None when it is verified, has no verdict,
    or the user chose to publish without warnings (`warn` False)."""
    if verdict is None or verdict.status == "verified" or not verdict.warn:
        return None
    if verdict.off_topic:
        return VerdictNote(UNVERIFIED, OFF_TOPIC)
    if verdict.status == "unchecked":
        return VerdictNote(UNCHECKED, NOTHING_CHECKED, unchecked=True)
    claims = tuple(c for c in (clean(c) for c in verdict.unsupported) if c)
    return VerdictNote(UNVERIFIED, NOT_FOUND, claims) if claims else VerdictNote(UNVERIFIED, GENERIC)
