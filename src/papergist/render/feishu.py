"""A digest as Feishu (Lark) custom-bot messages: rich-text "post" bodies.

A post is lines of tags: `text` (shown literally: no Markdown, and `<at ...>`
in a title is text, never a mention) and `a` (a link; only http(s) URLs, as
every chat format here). Feishu refuses a request body over 20 KB, so papers
are packed into messages by their encoded size, a paper is never split across
messages, and a paper too large alone has its lines clipped until it fits.
"""

from __future__ import annotations

import json
from typing import Any

from papergist.models import Digest
from papergist.render.chat import ELLIPSIS, Card, archive_link, card, clip, count_text
from papergist.render.common import EXTRACTIVE_NOTE, digest_title

FEISHU_MAX_BYTES = 20_000  # Feishu's limit on a request body
FEISHU_ROOM = 400  # bytes kept free: the signature, the "(2/3)" of a title, the encoder
LINE_LIMITS = (1_500, 600, 200)  # characters of a card line, tried in turn until it fits
LOCALE = "zh_cn"  # the post's one locale (Feishu shows it whatever the reader's language)

Tag = dict[str, str]


def _text(text: str) -> Tag:
    return {"tag": "text", "text": text}


def _link(text: str, url: str) -> Tag:
    return {"tag": "a", "text": text, "href": url}


def size(body: dict[str, Any]) -> int:
    """Bytes of a body as JSON, escaped to ASCII (the most any encoder can send)."""
    return len(json.dumps(body, ensure_ascii=True, separators=(",", ":")))


def _paper(c: Card, line_limit: int) -> list[list[Tag]]:
    lines: list[list[Tag]] = [[_link(f"{c.rank}. {c.title}", c.url)]]
    if c.meta:
        lines.append([_text(c.meta)])
    if c.links:
        links: list[Tag] = []
        for label, url in c.links:
            links += [_text(" · ")] if links else []
            links.append(_link(label, url))
        lines.append(links)
    for line in c.lines:
        mark = "⚠ " if line.warning else ""
        lines.append([_text(clip(f"{mark}{line.label}: {line.text}", line_limit))])
    return lines + [[_text("")]]


def _fitted(c: Card, budget: int) -> list[list[Tag]]:
    """The paper's lines, clipped as little as lets them fit one message."""
    for limit in LINE_LIMITS:
        lines = _paper(c, limit)
        if size(_post("", lines)) <= budget:
            return lines
    return _paper(c, LINE_LIMITS[-1])[:1] + [[_text(f"{ELLIPSIS} (too long for Feishu)")]]


def _post(title: str, lines: list[list[Tag]]) -> dict[str, Any]:
    return {"msg_type": "post",
            "content": {"post": {LOCALE: {"title": title, "content": lines}}}}


def feishu_payloads(digest: Digest, *, archive_url: str | None = None) -> list[dict[str, Any]]:
    """Custom-bot request bodies, in order, each under `FEISHU_MAX_BYTES` once signed."""
    title = clip(f"{digest_title(digest)} · {count_text(len(digest.items))}", 200)
    budget = FEISHU_MAX_BYTES - FEISHU_ROOM
    head: list[list[Tag]] = [[_text(EXTRACTIVE_NOTE)]] if digest.extractive else []
    if not digest.items:
        head.append([_text("No papers.")])
    groups = [_fitted(card(item), budget - size(_post(title, []))) for item in digest.items]
    archive = archive_link(archive_url)
    if archive:
        groups.append([[_text("Full digest: "), _link(archive, archive)]])
    messages = [head]
    for group in groups:
        if messages[-1] and size(_post(title, messages[-1] + group)) > budget:
            messages.append([])
        messages[-1].extend(group)
    total = len(messages)
    return [_post(title if total == 1 else f"{title} ({n}/{total})", lines)
            for n, lines in enumerate(messages, 1)]


def feishu_notice(text: str) -> dict[str, Any]:
    """A one-line message (the note that a digest was updated), as a post: a "text"
    message would read `<at user_id="all">` in it as a mention."""
    return _post("", [[_text(text)]])
