"""The digest as chat messages: Slack (Block Kit), Discord (embeds), Telegram (HTML).

Pure functions of a `Digest`: they build the bodies a delivery layer posts and
send nothing. Every platform limit is enforced here, so a body that is built can
be posted as is; long digests become several messages, split between papers.

Titles, authors, summaries, failure reasons and URLs are untrusted text:

* Slack: `&`, `<`, `>` are escaped in mrkdwn (so nothing can form a link, a user
  or channel mention or `<!channel>`), and every text object is `verbatim`, so
  Slack does not auto-link or auto-mention either.
* Discord: Markdown is backslash-escaped, `@everyone`/`@here` are broken with a
  zero-width space, and every message carries `allowed_mentions: {"parse": []}`.
* Telegram: `&`, `<`, `>` and quotes are HTML-escaped; only `b`, `i` and `a href`
  tags are produced, every tag is closed in the message that opens it.

Links go only to http(s) URLs (`safe_url`); everything else is shown as text or
dropped. Lengths are counted in UTF-16 code units (what Telegram counts, and never
less than the characters Slack or Discord count).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from papergist.models import SECTION_KEYS, SECTION_TITLES, Digest, DigestItem
from papergist.render.common import (EXTRACTIVE_NOTE, clean, digest_title, is_video,
                                     verdict_note)
from papergist.render.markdown import safe_url

# --- shared text helpers (also used by the email renderer) ---------------------------

MAX_URL = 1000  # a longer link is dropped rather than allowed to eat a message
AUTHORS_LISTED = 6  # more authors than this are shortened to the first three, "et al."
AUTHORS_KEPT = 3
TITLE_LIMIT = 500  # characters of a title any chat format shows
LINE_LIMIT = 5_000  # characters of one line of a card (a summary section is ~300-1,500)
ELLIPSIS = "…"


def one_line(text: str) -> str:
    """Untrusted text on one line (`common.clean`): controls removed, whitespace collapsed."""
    return clean(text)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (characters outside the BMP count twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip(text: str, limit: int, measure: Callable[[str], int] = utf16_len) -> str:
    """`text`, or its longest prefix (cut at a word when one is near) plus "…", such
    that `measure` of the result is at most `limit`. `measure` is applied to the raw
    text, so it can include the escaping the text will get."""
    if measure(text) <= limit:
        return text
    if measure(ELLIPSIS) > limit:
        return ""
    low, high = 0, min(len(text), limit)  # the longest prefix that fits, by bisection:
    while low < high:  # a character may measure several units (escaped, astral)
        mid = (low + high + 1) // 2
        if measure(text[:mid].rstrip() + ELLIPSIS) <= limit:
            low = mid
        else:
            high = mid - 1
    n = low
    space = text.rfind(" ", 0, n + 1)
    if space > n * 0.7:
        n = space
    while 0 < n < len(text) and unicodedata.combining(text[n]):
        n -= 1  # never keep a letter without its accent
    return text[:n].rstrip() + ELLIPSIS


def count_text(n: int) -> str:
    """"1 paper", "11 papers"."""
    return f"{n} paper" if n == 1 else f"{n} papers"




def author_line(authors: tuple[str, ...]) -> str:
    """The authors, one line, as "A, B, C et al." when there are many."""
    names = [n for n in (one_line(a) for a in authors) if n]
    if len(names) > AUTHORS_LISTED:
        return ", ".join(names[:AUTHORS_KEPT]) + " et al."
    return ", ".join(names)


def paper_links(item: DigestItem) -> list[tuple[str, str]]:
    """(label, http(s) URL) of the paper's code and project page, when safe."""
    found = []
    for label, url in (("Code", item.paper.github_repo), ("Project page", item.paper.project_page)):
        link = safe_url(url)
        if link and len(link) <= MAX_URL:
            found.append((label, link))
    return found


@dataclass
class Line:
    """One labelled line of a paper: "What's New: ...", or a warning."""

    label: str
    text: str
    warning: bool = False


@dataclass
class Card:
    """What every chat format shows of one paper, as clean one-line texts."""

    rank: int
    title: str
    url: str
    votes: int | None
    authors: str
    links: list[tuple[str, str]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def meta(self) -> str:
        """"Vote: 26 · Authors: A, B" (either part may be missing)."""
        parts = [] if self.votes is None else [f"Vote: {self.votes}"]
        if self.authors:
            parts.append(f"Authors: {self.authors}")
        return " · ".join(parts)


def card(item: DigestItem, *, abstract_limit: int | None = 600) -> Card:
    """The displayable parts of one paper; a paper without summary shows why, then
    (the start of) its abstract."""
    paper = item.paper
    lines: list[Line] = []
    if item.summary is not None:
        sections = item.summary.sections.model_dump()
        lines = [Line(SECTION_TITLES[k], _line(sections[k])) for k in SECTION_KEYS]
        note = verdict_note(item.summary.verification)
        if note:
            lines.append(Line(note.label, clip(note.text(), LINE_LIMIT), warning=True))
    else:
        reason = _line(item.failure.reason) if item.failure else ""
        lines.append(Line("No summary", reason or "no summary", warning=True))
        abstract = _line(paper.abstract) or "(no abstract)"
        lines.append(Line("Abstract", clip(abstract, min(abstract_limit or LINE_LIMIT,
                                                         LINE_LIMIT))))
    if item.relevance is not None and item.relevance.reasons:  # ranked for a reader
        lines.insert(0, Line(f"For {clip(one_line(item.relevance.reader), TITLE_LIMIT)}",
                             _line(", ".join(item.relevance.reasons))))
    return Card(rank=item.rank, title=clip(one_line(paper.title) or paper.id, TITLE_LIMIT), url=paper.url,
                votes=item.upvotes, authors=author_line(paper.authors),
                links=paper_links(item), lines=lines)


def _line(text: str) -> str:
    """One line of a card, at most LINE_LIMIT characters (clipped before it is cleaned,
    so a hostile 5 MB text costs no more than a long one)."""
    cut = len(text) > 4 * LINE_LIMIT
    return clip(one_line(text[:4 * LINE_LIMIT]) + (f" {ELLIPSIS}" if cut else ""), LINE_LIMIT)


def archive_link(archive_url: str | None) -> str | None:
    """The archive's page of a digest, if it is a safe http(s) URL of sensible length."""
    link = safe_url(archive_url)
    return link if link and len(link) <= MAX_URL else None


# --- Slack ---------------------------------------------------------------------------

SLACK_MAX_BLOCKS = 50
SLACK_SECTION_TEXT = 3000
SLACK_HEADER_TEXT = 150
SLACK_TITLE = 300  # characters of a title shown (a title has no business being longer)
SLACK_AUTHORS = 500


def slack_escape(text: str) -> str:
    """Text for Slack mrkdwn: the three characters Slack asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_len(text: str) -> int:
    return utf16_len(slack_escape(text))


def _slack_link(url: str, text: str) -> str:
    return f"<{slack_escape(url)}|{slack_escape(text)}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _slack_paper(c: Card) -> list[dict[str, Any]]:
    title = clip(f"{c.rank}. {c.title}", SLACK_TITLE, _slack_len)
    head = [f"*{_slack_link(c.url, title)}*"]
    if c.meta:
        meta = clip(c.meta, SLACK_AUTHORS, _slack_len)
        head.append(slack_escape(meta))
    links = " · ".join(_slack_link(url, label) for label, url in c.links)
    if links and utf16_len("\n".join([*head, links])) <= SLACK_SECTION_TEXT:
        head.append(links)
    blocks = [{"type": "divider"}, _slack_section("\n".join(head))]
    # The lines, as few section blocks as the 3,000-character limit allows.
    texts = []
    for line in c.lines:
        prefix = f"{'⚠️ ' if line.warning else ''}*{line.label}*: "
        budget = SLACK_SECTION_TEXT - utf16_len(prefix)
        texts.append(prefix + slack_escape(clip(line.text, budget, _slack_len)))
    current = ""
    for text in texts:
        joined = f"{current}\n\n{text}" if current else text
        if utf16_len(joined) <= SLACK_SECTION_TEXT:
            current = joined
        else:
            blocks.append(_slack_section(current))
            current = text
    if current:
        blocks.append(_slack_section(current))
    return blocks


def slack_payloads(digest: Digest, *, archive_url: str | None = None) -> list[dict[str, Any]]:
    """Incoming-webhook bodies (`{"text": fallback, "blocks": [...]}`), in order.

    Each message has at most 50 blocks, section texts of at most 3,000 characters and a
    header of at most 150; a paper is never split across messages. Link unfurling is
    off, so the arXiv links do not each add a preview.
    """
    title = digest_title(digest)
    first: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": clip(f"{title} · {count_text(len(digest.items))}",
                                                 SLACK_HEADER_TEXT)}}]
    if digest.extractive:
        first.append({"type": "context", "elements": [_mrkdwn(f"_{EXTRACTIVE_NOTE}_")]})
    if not digest.items:
        first.append(_slack_section("No papers."))
    groups = [_slack_paper(card(item)) for item in digest.items]
    archive = archive_link(archive_url)
    if archive:
        groups.append([{"type": "divider"},
                       _slack_section(f"Full digest: {_slack_link(archive, archive)}")])
    messages = [first]
    for group in groups:
        if len(messages[-1]) + len(group) > SLACK_MAX_BLOCKS:
            messages.append([])
        messages[-1].extend(group)
    total = len(messages)
    fallback = f"{title}: {count_text(len(digest.items))}"
    return [{"text": slack_escape(fallback if total == 1 else f"{fallback} ({n}/{total})"),
             "blocks": blocks, "unfurl_links": False, "unfurl_media": False}
            for n, blocks in enumerate(messages, 1)]


# --- Discord -------------------------------------------------------------------------

DISCORD_MAX_EMBEDS = 10
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_FIELD_VALUE = 1024
DISCORD_EMBEDS_TOTAL = 6000
DISCORD_CONTENT = 2000
DISCORD_AUTHORS = 400
DISCORD_COLOR = 0xFFD21E  # the Hugging Face yellow
_DISCORD_MD = re.compile(r"([\\*_~`|<>\[\]#])")
_DISCORD_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_DISCORD_LEADING = re.compile(r"^(?:([-+])|(\d+)\.)")  # a list item at the start of a line


def discord_escape(text: str) -> str:
    """Text for Discord Markdown: formatting, links, mentions and quotes made literal.

    Discord hides a backslash before any punctuation, so `\\*` shows as `*`; a
    zero-width space after `@` keeps `@everyone` from being a mention.
    """
    text = _DISCORD_MD.sub(r"\\\1", text)
    text = _DISCORD_LEADING.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\.", text)
    return _DISCORD_MENTION.sub("@\u200b", text)


def _discord_len(text: str) -> int:
    return utf16_len(discord_escape(text))


def embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards an embed's 6,000 (UTF-16 units here)."""
    parts = [embed.get("title", ""), embed.get("description", ""),
             embed.get("footer", {}).get("text", ""), embed.get("author", {}).get("name", "")]
    for f in embed.get("fields", []):
        parts += [f["name"], f["value"]]
    return sum(utf16_len(p) for p in parts)


def _fit(texts: list[str], budget: int, measure: Callable[[str], int]) -> list[str]:
    """Clip the texts so their measures sum to at most `budget`, shortest kept whole."""
    result = list(texts)
    if sum(measure(t) for t in texts) <= budget:
        return result
    order = sorted(range(len(texts)), key=lambda i: measure(texts[i]))
    left = budget
    for done, i in enumerate(order):
        share = left // (len(order) - done)
        result[i] = clip(texts[i], max(share, 0), measure)
        left -= measure(result[i])
    return result


def _discord_embed(c: Card, thumbnail: str | None) -> dict[str, Any]:
    rank = f"{c.rank}. "
    title = clip(c.title, DISCORD_TITLE - len(rank), _discord_len)
    embed: dict[str, Any] = {"title": rank + discord_escape(title), "url": c.url,
                             "color": DISCORD_COLOR}
    fields = []
    if c.votes is not None:
        fields.append({"name": "Votes", "value": str(c.votes), "inline": True})
    if c.authors:
        fields.append({"name": "Authors", "inline": False, "value": discord_escape(
            clip(c.authors, DISCORD_AUTHORS, _discord_len))})
    if c.links:
        links = " · ".join(f"[{label}]({url})" for label, url in c.links)
        if utf16_len(links) <= DISCORD_FIELD_VALUE:
            fields.append({"name": "Links", "value": links, "inline": False})
    if fields:
        embed["fields"] = fields
    link = safe_url(thumbnail)
    if link and len(link) <= MAX_URL and not is_video(link):
        embed["thumbnail"] = {"url": link}
    prefixes = [f"{'⚠️ ' if line.warning else ''}**{line.label}**: " for line in c.lines]
    room = min(DISCORD_DESCRIPTION, DISCORD_EMBEDS_TOTAL - embed_length(embed))
    room -= sum(utf16_len(p) for p in prefixes) + 2 * (len(prefixes) - 1)
    texts = _fit([line.text for line in c.lines], room, _discord_len)
    embed["description"] = "\n\n".join(p + discord_escape(t) for p, t in zip(prefixes, texts))
    return embed


def discord_payloads(digest: Digest, *, archive_url: str | None = None) -> list[dict[str, Any]]:
    """Webhook bodies (`{"content", "embeds", "allowed_mentions"}`), in order.

    One embed per paper (title linked to arXiv, votes, authors, links, the three
    sections); at most 10 embeds and 6,000 embed characters per message, title ≤ 256,
    description ≤ 4,096, field values ≤ 1,024, content ≤ 2,000. No message can
    mention anyone (`allowed_mentions: {"parse": []}`).
    """
    embeds = [_discord_embed(card(item), item.paper.thumbnail) for item in digest.items]
    groups: list[list[dict[str, Any]]] = [[]]
    for embed in embeds:
        group = groups[-1]
        if group and (len(group) >= DISCORD_MAX_EMBEDS or sum(map(embed_length, group))
                      + embed_length(embed) > DISCORD_EMBEDS_TOTAL):
            groups.append([])
        groups[-1].append(embed)
    head = f"**{digest_title(digest)}** · {count_text(len(digest.items))}"
    archive = archive_link(archive_url)
    if archive:
        head += f" · full digest: <{archive}>"
    if digest.extractive:
        head += f"\n_{EXTRACTIVE_NOTE}_"
    if not digest.items:
        head += "\nNo papers."
    messages = []
    for n, group in enumerate(groups):
        message: dict[str, Any] = {"allowed_mentions": {"parse": []}}
        content = head if n == 0 else f"**{digest_title(digest)}** ({n + 1}/{len(groups)})"
        message["content"] = clip(content, DISCORD_CONTENT)
        if group:
            message["embeds"] = group
        messages.append(message)
    return messages


# --- Telegram ------------------------------------------------------------------------

TELEGRAM_LIMIT = 4096
TELEGRAM_TITLE = 300  # units of a title (and of the authors) in a paper cut to fit a message
TELEGRAM_AUTHORS = 300


def _tg(text: str) -> str:
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class Run:
    """Text inside zero or more tags, opened and closed around it."""

    text: str
    open: str = ""
    close: str = ""

    def render(self, text: str | None = None) -> str:
        return f"{self.open}{_tg(self.text if text is None else text)}{self.close}"


def _bold(text: str) -> Run:
    return Run(text, "<b>", "</b>")


def _italic(text: str) -> Run:
    return Run(text, "<i>", "</i>")


def _link(text: str, url: str, bold: bool = False) -> Run:
    a = f'<a href="{html.escape(url, quote=True)}">'
    return Run(text, f"<b>{a}", "</a></b>") if bold else Run(text, a, "</a>")


def _tg_paper(c: Card) -> list[list[Run]]:
    lines = [[_link(f"{c.rank}. {c.title}", c.url, bold=True)]]
    if c.meta:
        lines.append([Run(c.meta)])
    if c.links:
        runs: list[Run] = []
        for label, url in c.links:
            runs += ([Run(" · ")] if runs else []) + [_link(label, url)]
        lines.append(runs)
    for line in c.lines:
        if line.warning:
            lines.append([Run("⚠️ "), _italic(f"{line.label}: {line.text}")])
        else:
            lines.append([_bold(line.label), Run(f": {line.text}")])
    return lines


def _render_lines(lines: list[list[Run]]) -> str:
    return "\n".join("".join(r.render() for r in line) for line in lines)


class _Packer:
    """Fills messages of at most TELEGRAM_LIMIT units, in order."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.current = ""

    def room(self, sep: str) -> int:
        return TELEGRAM_LIMIT - utf16_len(self.current + sep if self.current else "")

    def add(self, text: str, sep: str) -> bool:
        """Append `text` (after `sep`) when it fits in the current message."""
        if utf16_len(text) > self.room(sep):
            return False
        self.current = f"{self.current}{sep}{text}" if self.current else text
        return True

    def flush(self) -> None:
        if self.current.strip():
            self.messages.append(self.current)
        self.current = ""

    def place(self, text: str, sep: str) -> None:
        """Append here, or start the next message with it (`text` fits one message)."""
        if not self.add(text, sep):
            self.flush()
            self.add(text, sep)


def _tg_len(text: str) -> int:
    return utf16_len(_tg(text))


def _tg_block(c: Card) -> str:
    """A paper's message text, shortened to fit one message when it is longer.

    The title (linked to arXiv, where the rest is) stays; the lines share what room
    is left, the shortest kept whole, each cut one ending in "…".
    """
    block = _render_lines(_tg_paper(c))
    if utf16_len(block) <= TELEGRAM_LIMIT:
        return block
    c = replace(c, title=clip(c.title, TELEGRAM_TITLE, _tg_len),
                authors=clip(c.authors, TELEGRAM_AUTHORS, _tg_len))
    bare = replace(c, lines=[replace(line, text="") for line in c.lines])
    room = TELEGRAM_LIMIT - utf16_len(_render_lines(_tg_paper(bare)))
    if room < TELEGRAM_LIMIT // 4:  # long code/project links: the text matters more
        c, bare = replace(c, links=[]), replace(bare, links=[])
        room = TELEGRAM_LIMIT - utf16_len(_render_lines(_tg_paper(bare)))
    texts = _fit([line.text for line in c.lines], room, _tg_len)
    fitted = replace(c, lines=[replace(line, text=t) for line, t in zip(c.lines, texts)])
    return _render_lines(_tg_paper(fitted))


def telegram_messages(digest: Digest, *, archive_url: str | None = None) -> list[str]:
    """Texts for `sendMessage` with `parse_mode: "HTML"`, in order.

    Each is at most 4,096 UTF-16 units of markup (a stricter bound than Telegram's,
    which counts the text after parsing), made of `<b>`, `<i>` and `<a href>` only,
    every tag closed in its own message. Messages split between papers; a paper
    never takes more than one message (see `_tg_block`).
    """
    packer = _Packer()
    head = f"<b>{_tg(digest_title(digest))}</b> · {count_text(len(digest.items))}"
    if digest.extractive:
        head += f"\n<i>{_tg(EXTRACTIVE_NOTE)}</i>"
    if not digest.items:
        head += "\nNo papers."
    packer.add(head, "")
    for item in digest.items:
        packer.place(_tg_block(card(item, abstract_limit=1500)), "\n\n")
    archive = archive_link(archive_url)
    if archive:
        packer.place("Full digest: " + _link(archive, archive).render(), "\n\n")
    packer.flush()
    return packer.messages
