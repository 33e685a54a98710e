"""The digest as an email: multipart/alternative, plain text and HTML.

The HTML is a table layout (what Outlook, Gmail and Apple Mail all lay out the
same way) whose CSS is inlined by css_inline, since many clients drop `<style>`.
Untrusted text (titles, authors, summaries, reasons) is HTML-escaped, links and
images only ever point to http(s) URLs, and no script, form or remote stylesheet
is produced. A digest too big for `max_bytes` of HTML (Gmail clips messages past
about 102 kB) keeps as many papers as fit and ends with "N more papers: <archive>".

Pure: nothing is sent and no clock is read; `Date` and `Message-ID` are set only
when given (otherwise the sender adds them).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape

import css_inline

from papergist.models import Digest, DigestItem
from papergist.render.chat import EXTRACTIVE_NOTE, card, count_text, one_line
from papergist.render.common import digest_kind, digest_title, is_video, lang_tag
from papergist.render.markdown import safe_url

HF_PAPER_URL = "https://huggingface.co/papers/{id}"
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False,
                                 keep_link_tags=False)

CSS = """
body { margin: 0; padding: 0; background-color: #f4f4f5; }
.outer { background-color: #f4f4f5; }
.main { background-color: #ffffff; border: 1px solid #e4e4e7; max-width: 640px; width: 100%; }
.cell { padding: 20px 24px; font-size: 15px; line-height: 1.55; color: #18181b;
        font-family: Helvetica, Arial, 'Apple SD Gothic Neo', 'Malgun Gothic', sans-serif; }
.paper { border-top: 1px solid #e4e4e7; }
h1 { font-size: 22px; line-height: 1.3; margin: 0 0 4px 0; color: #18181b; }
h2 { font-size: 18px; line-height: 1.35; margin: 0 0 8px 0; }
h2 a { color: #1d4ed8; text-decoration: none; }
a { color: #1d4ed8; }
p { margin: 0 0 10px 0; }
.note { color: #52525b; font-size: 13px; }
.meta { color: #52525b; font-size: 13px; }
.links { font-size: 13px; }
.label { font-weight: bold; }
.warning { background-color: #fef3c7; border-left: 4px solid #d97706; padding: 8px 10px;
           color: #78350f; font-size: 14px; }
.thumb { display: block; width: 100%; max-width: 592px; height: auto; border: 0;
         margin: 0 0 10px 0; }
.more { font-weight: bold; }
"""


def _e(text: str) -> str:
    return escape(text, quote=True)


def _a(url: str, text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<a{attr} href="{_e(url)}">{_e(text)}</a>'


def _links(item: DigestItem) -> list[tuple[str, str]]:
    found = [("arXiv", item.paper.url)]
    if item.paper.source == "hf":
        found.append(("Hugging Face", HF_PAPER_URL.format(id=item.paper.id)))
    return found + card(item).links


def _thumbnail_html(item: DigestItem) -> str:
    link = safe_url(item.paper.thumbnail)
    if link is None:
        return ""
    if is_video(link):
        return f'<p class="links">{_a(link, "Video")}</p>'
    return (f'<a href="{_e(item.paper.url)}"><img class="thumb" src="{_e(link)}" '
            f'width="592" alt=""></a>')


def _item_html(item: DigestItem) -> str:
    c = card(item, abstract_limit=None)
    parts = [f'<h2>{_a(c.url, f"{c.rank}. {c.title}")}</h2>', _thumbnail_html(item)]
    if c.meta:
        parts.append(f'<p class="meta">{_e(c.meta)}</p>')
    parts.append('<p class="links">' + " · ".join(_a(url, label) for label, url in _links(item))
                 + "</p>")
    for line in c.lines:
        if line.warning:
            parts.append(f'<p class="warning"><span class="label">{_e(line.label)}</span>: '
                         f'{_e(line.text)}</p>')
        else:
            parts.append(f'<p><span class="label">{_e(line.label)}</span><br>{_e(line.text)}</p>')
    return f'<tr><td class="cell paper">\n{"".join(parts)}\n</td></tr>'


def _more_line(hidden: int, archive: str | None) -> str:
    if archive:
        return f"{hidden} more {'paper' if hidden == 1 else 'papers'}: {archive}"
    return f"{hidden} more {'paper is' if hidden == 1 else 'papers are'} not in this email."


def _lang(digest: Digest) -> str:
    for item in digest.items:
        tag = lang_tag(item.summary.language) if item.summary else None
        if tag:
            return tag
    return "en"


def _html(digest: Digest, shown: int, archive: str | None) -> str:
    title = digest_title(digest)
    head = [f"<h1>{_e(title)}</h1>", f'<p class="note">{_e(count_text(len(digest.items)))}']
    if archive:
        head.append(f" · {_a(archive, 'read it on the web')}")
    head.append("</p>")
    if digest.extractive:
        head.append(f'<p class="note">{_e(EXTRACTIVE_NOTE)}</p>')
    if not digest.items:
        head.append("<p>No papers.</p>")
    rows = [f'<tr><td class="cell">{"".join(head)}</td></tr>']
    rows += [_item_html(item) for item in digest.items[:shown]]
    hidden = len(digest.items) - shown
    if hidden:
        line = _more_line(hidden, archive)
        if archive:
            line = f"{_e(line.removesuffix(archive))}{_a(archive, archive)}"
        else:
            line = _e(line)
        rows.append(f'<tr><td class="cell paper"><p class="more">{line}</p></td></tr>')
    body = "\n".join(rows)
    document = f"""<!DOCTYPE html>
<html lang="{_e(_lang(digest))}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<table role="presentation" class="outer" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td align="center" style="padding: 16px 8px;">
<table role="presentation" class="main" width="640" cellpadding="0" cellspacing="0" border="0">
{body}
</table>
</td></tr>
</table>
</body>
</html>
"""
    return _INLINER.inline(document)


def _item_text(item: DigestItem) -> str:
    c = card(item, abstract_limit=None)
    lines = [f"{c.rank}. {c.title}", c.url]
    if c.meta:
        lines.append(c.meta)
    lines += [f"{label}: {url}" for label, url in _links(item)[1:]]
    for line in c.lines:
        lines += ["", f"{line.label}: {line.text}" if line.warning else f"{line.label}:\n{line.text}"]
    return "\n".join(lines)


def _text(digest: Digest, shown: int, archive: str | None) -> str:
    head = [f"{digest_title(digest)} · {count_text(len(digest.items))}"]
    if archive:
        head.append(archive)
    if digest.extractive:
        head += ["", EXTRACTIVE_NOTE]
    if not digest.items:
        head += ["", "No papers."]
    parts = ["\n".join(head)]
    parts += [_item_text(item) for item in digest.items[:shown]]
    hidden = len(digest.items) - shown
    if hidden:
        parts.append(_more_line(hidden, archive))
    return "\n\n----\n\n".join(parts) + "\n"


def subject(digest: Digest) -> str:
    """"Daily Papers 2024-08-26: 11 papers"."""
    return f"{digest_kind(digest)} {digest.label}: {count_text(len(digest.items))}"


def message_id(*keys: str, domain: str | None = None) -> str:
    """A Message-ID that is a function of `keys` (e.g. day, language, channel,
    destination, digest version): a retried email is recognisably the same one, a
    changed digest gets a new one. `domain` defaults to "papergist.invalid"."""
    digest = hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()[:32]
    return f"<papergist.{digest}@{domain or 'papergist.invalid'}>"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cte(text: str) -> str:
    """7-bit safe for any SMTP server: readable quoted-printable for ASCII, base64
    (a third of quoted-printable's size) for text with Hangul and other scripts."""
    return "quoted-printable" if text.isascii() else "base64"


def render_email(digest: Digest, *, sender: str, to: list[str], archive_url: str | None = None,
                 max_bytes: int = 100_000, date: datetime | None = None,
                 message_id: str | None = None) -> EmailMessage:
    """The digest as one email: text/plain and text/html alternatives, UTF-8.

    The HTML part (UTF-8 bytes, before transfer encoding) never exceeds `max_bytes`:
    papers that do not fit are left out, in reading order from the end, and both
    parts end with "N more papers: <archive_url>". Raises ValueError when not even
    the heading fits, when `to` is empty, or (from `email`) when a header is invalid.
    """
    if not to:
        raise ValueError("an email needs at least one recipient")
    archive = safe_url(archive_url)
    total = len(digest.items)
    html = _html(digest, total, archive)
    shown = total
    if _size(html) > max_bytes:
        low, high = 0, total - 1  # the answer is the largest count that fits
        best = None
        while low <= high:
            mid = (low + high) // 2
            candidate = _html(digest, mid, archive)
            if _size(candidate) <= max_bytes:
                best, shown, low = candidate, mid, mid + 1
            else:
                high = mid - 1
        if best is None:
            raise ValueError(f"max_bytes={max_bytes} cannot hold even the digest's heading")
        html = best
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = one_line(sender)
    message["To"] = ", ".join(one_line(a) for a in to)
    if date is not None:
        message["Date"] = format_datetime(date)
    if message_id is not None:
        message["Message-ID"] = message_id
    text = _text(digest, shown, archive)
    message.set_content(text, subtype="plain", charset="utf-8", cte=_cte(text))
    message.add_alternative(html, subtype="html", charset="utf-8", cte=_cte(html))
    return message
