"""A paper's PDF as text: pdfium's text layer, arXiv's side stamp dropped, words
hyphenated across lines joined, section headings found, everything from the
references on left out. pdfium is not thread-safe: one call at a time.
"""

from __future__ import annotations

import re
import statistics
import threading

import pypdfium2 as pdfium

from papergist.errors import MalformedResponse
from papergist.models import PaperText, TextSection

WHAT = "arXiv full text"  # how errors name what failed

_PDFIUM = threading.Lock()  # pdfium is not thread-safe: one call at a time, process-wide
_STAMP = re.compile(r"arXiv:\s?\S+v\d+\s*\[[^\]\n]{1,40}\]\s*\d{1,2}\s*[A-Z][a-z]{2}\s*\d{4}")
_HYPHEN = re.compile(r"(\w+)(?:[\ufffe\x02]\n?|-\n)([^\W\d]+)")
_KEEP_HYPHEN = frozenset("""based level scale wise art end free specific aware like order time
    step term shot head to of the and or in on by with for off up out""".split())
_NUMBERED = re.compile(r"^(\d{1,2})((?:\.\d{1,2}){0,3})\.?\s+([A-Z][^\n]{1,80})\Z")
_NAMED = re.compile(r"^(?:[IVX]{1,5}\.?\s+)?(abstract|introduction|related work|background|"
                    r"conclusions?|discussion|acknowledge?ments?|references|bibliography)\Z", re.I)
_INLINE_ABSTRACT = re.compile(r"^abstract\s*[—–\-.:]\s*(\S.*)\Z", re.I)
_ROMAN = re.compile(r"^([IVX]{1,5})\.\s+([A-Z][A-Z \-]{2,60})\Z")
_END = re.compile(r"^(?:[\dIVX]{1,5}\.?\s+)?(?:references|bibliography)\Z", re.I)


def _page_texts(pdf: bytes, name: str) -> list[str]:
    """The text layer of each page up to the one where the references begin (what
    follows is cut anyway, and an appendix of figures can cost more than the paper);
    pages are closed before the lock is let go."""
    with _PDFIUM:
        doc, texts = None, []
        try:
            doc = pdfium.PdfDocument(pdf)
            for index in range(len(doc)):
                page = doc[index]
                textpage = page.get_textpage()
                texts.append(textpage.get_text_range())
                textpage.close()
                page.close()
                if _references_begin(texts[-1]):
                    break
        except pdfium.PdfiumError as exc:
            locked = "password" in str(exc).lower()
            raise MalformedResponse(f"{WHAT}: " + (f"the PDF of {name} is encrypted" if locked
                                    else f"broken PDF for {name} ({exc})")) from None
        finally:
            if doc is not None:
                doc.close()
        return texts


def _references_begin(page: str) -> bool:
    """True when a line of `page` is the heading of the references."""
    return any(_END.match(" ".join(line.split())) for line in page.splitlines())


def _dehyphenate(match: re.Match[str]) -> str:
    head, tail = match.group(1), match.group(2)
    keep = tail[:1].isupper() or tail.lower() in _KEEP_HYPHEN
    return f"{head}-{tail}" if keep else head + tail


def _lines(pages: list[str]) -> list[str]:
    """Every text line of the PDF: side stamp, page numbers and axis ticks removed."""
    text = "\n".join(_STAMP.sub("", p.replace("\r\n", "\n").replace("\r", "\n")) for p in pages)
    text = _HYPHEN.sub(_dehyphenate, text).replace("\ufffe", "-").replace("\x02", "-")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return [line for line in lines
            if line and not (len(line) <= 12 and not re.search(r"[^\W\d_]", line))]


def _heading(line: str, seen: list[int]) -> bool | None:
    """True for a section heading, False for a sub-heading, None for text.

    Numbered headings must follow in order (`seen`: top-level numbers so far),
    which keeps table rows and figure labels out.
    """
    if _NAMED.match(line) or _ROMAN.match(line):
        return True
    match = _NUMBERED.match(line)
    if not match or line.endswith((".", ",", ";")) or len(line.split()) > 12:
        return None
    top, last = int(match.group(1)), seen[-1] if seen else 0
    if match.group(2):
        return False if top == last else None
    if last < top <= last + 2:
        seen.append(top)
        return True
    return None


def _paragraphs(lines: list[str]) -> str:
    """Lines joined into paragraphs; a short line ending a sentence ends a paragraph."""
    width = statistics.median(len(line) for line in lines) if lines else 0
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        paragraphs[-1].append(line)
        if line.endswith((".", "!", "?", ":")) and len(line) < 0.75 * width:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def parse_pdf(pdf: bytes, paper_id: str, version: str | None) -> PaperText:
    """The text of an arXiv PDF, split into sections at its headings, references dropped.

    Raises `MalformedResponse` for a body that is not a PDF, a broken or
    encrypted PDF, or one without a text layer. Safe to call from any thread.
    """
    name = f"{paper_id}{version or ''}"
    if not pdf.strip():
        raise MalformedResponse(f"{WHAT}: empty PDF for {name}")
    if b"%PDF-" not in pdf[:1024]:
        start = pdf[:40].decode("latin-1").strip()
        raise MalformedResponse(f"{WHAT}: not a PDF for {name} (it starts with {start!r})")
    seen: list[int] = []
    parts: list[tuple[str, list[str]]] = [("", [])]
    for line in _lines(_page_texts(pdf, name)):
        if _END.match(line):
            break
        inline = _INLINE_ABSTRACT.match(line)
        kind = True if inline else _heading(line, seen)
        if kind:
            parts.append(("Abstract", [inline.group(1)]) if inline else (line, []))
        else:
            parts[-1][1].extend(["", line, ""] if kind is False else [line])
    if any(title.lower().endswith("abstract") for title, _ in parts):
        parts = parts[1:]  # title and authors
    sections = []
    for title, lines in parts:
        chunks = "\n".join(lines).split("\n\n")
        text = "\n\n".join(_paragraphs([x for x in c.split("\n") if x]) for c in chunks).strip()
        if text:
            sections.append(TextSection(title=title, text=re.sub(r"\n{3,}", "\n\n", text)))
    if not sections:
        raise MalformedResponse(f"{WHAT}: the PDF of {name} has no text layer "
                                "(a scan?); use the HTML page or the abstract")
    return PaperText(paper_id=paper_id, version=version, origin="pdf", sections=tuple(sections))


# --- abstract and fetching ------------------------------------------------------------
