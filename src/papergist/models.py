"""Plain data passed between the stages. No I/O here.

The stages (sources, store, summarize, render) only share these models, so each
can be tested, replaced or reused on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ARXIV_ABS_URL = "https://arxiv.org/abs/{id}"
SECTION_KEYS = ("whats_new", "technical_details", "performance_highlights")
SECTION_TITLES = {
    "whats_new": "What's New",
    "technical_details": "Technical Details",
    "performance_highlights": "Performance Highlights",
}
SummarySource = Literal["abstract", "fulltext", "none"]

# New-style ids (2007+: 0704.0001, 2408.12637) and old-style ones (hep-th/9901001).
# Use `fullmatch`; the `\Z` (not `$`, which also matches before a final newline)
# keeps even a `.match` from passing "2408.12637\n".
ARXIV_ID_RE = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z.\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?\Z")
# A BCP 47-looking language tag ("ko", "zh-TW", "en_GB"), matched whole.
LANGUAGE_TAG_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


class Frozen(BaseModel):
    """Base of every model: immutable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Paper(Frozen):
    """One paper, with its metadata exactly as the source gave it."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    published_at: datetime | None = None
    version: str | None = None
    thumbnail: str | None = None
    media_urls: tuple[str, ...] = ()
    github_repo: str | None = None
    project_page: str | None = None
    organization: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    comments: int | None = None
    source: Literal["hf", "arxiv"] = "hf"
    # Fields cut to their size limit when the paper came in, with their original
    # length. Left out of dumps (JSON, store), so an unclipped paper reads as before.
    clipped: tuple[tuple[str, int], ...] = Field(default=(), exclude=True)

    @property
    def url(self) -> str:
        """The paper's arXiv abstract page."""
        return ARXIV_ABS_URL.format(id=self.id)


class ListedPaper(Frozen):
    """A paper as it stood in a list: its rank in the feed and its upvotes then."""

    paper: Paper
    rank: int
    upvotes: int | None = None


class DailyList(Frozen):
    """One day of the HF Daily Papers feed (or an arXiv id list), in feed order."""

    day: date
    entries: tuple[ListedPaper, ...]
    source: Literal["hf", "arxiv"] = "hf"


def _as_text(value: Any) -> str:
    """A section as plain text: a list of strings becomes one paragraph."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return " ".join(v.strip() for v in value if v.strip())
    raise ValueError(f"a section must be text or a list of text, not {type(value).__name__}")


class Sections(Frozen):
    """The three sections of a summary, always as text (lists are joined)."""

    whats_new: str
    technical_details: str
    performance_highlights: str

    @field_validator(*SECTION_KEYS, mode="before")
    @classmethod
    def _coerce_text(cls, value: Any) -> str:
        return _as_text(value)


class TextSection(Frozen):
    """One section of a paper's text: its heading (may be empty) and plain text."""

    title: str
    text: str


class PaperText(Frozen):
    """What a summary can be written from: the paper's full text, or its abstract.

    `origin` says where the text came from: the arXiv HTML (LaTeXML) page, the
    PDF, or only the abstract. Section texts are plain: math as its alt text,
    tables as text, references and navigation dropped.
    """

    paper_id: str
    version: str | None = None
    origin: Literal["html", "pdf", "abstract"]
    sections: tuple[TextSection, ...]

    @property
    def source(self) -> SummarySource:
        """`fulltext` or `abstract`, as recorded with a summary."""
        return "abstract" if self.origin == "abstract" else "fulltext"


class Usage(Frozen):
    """Tokens a model reported for one paper (all attempts) or for a run."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     requests=self.requests + other.requests)


class Evidence(Frozen):
    """A claim of a summary and the source sentence that supports it."""

    claim: str
    sentence: str


class Cited(Frozen):
    """A sentence of a summary and the passage of the paper its model quoted for it,
    as the model wrote them (checked by `papergist.verify.grounding`)."""

    section: str
    sentence: str
    quote: str


class Grounding(Frozen):
    """One sentence of a summary and the source sentence that backs it best
    (`papergist.verify.grounding`): `share` of its content words found in `quote`
    (None when it has none in Latin script); `backed` when its claims and words are.

    `cited` is the passage the model quoted for this sentence (None when it gave
    none); `cited_found` whether the paper holds it word for word. A found
    citation is the sentence's `quote`; one the paper lacks leaves it unbacked."""

    section: str
    sentence: str
    quote: str | None = None
    backed: bool = False
    share: float | None = None
    cited: str | None = None
    cited_found: bool = False


VerdictStatus = Literal["verified", "unverified", "unchecked"]


# Why a summary is not verified: the one wording for readers and for the model.
WHY_NOT_FOUND = "not found in the paper"
WHY_GENERIC = "it names nothing specific to this paper"
WHY_OFF_TOPIC = "it does not read as a summary of this paper"
WHY_NOTHING_CHECKED = "nothing in this summary could be checked against the paper"


class Verdict(Frozen):
    """Whether every number and name a summary states is found in its source.

    `status` is one of:

    * ``verified``: something was checked (`checked` > 0: numbers, names, or -
      for a summary stating neither - sentences quoted word for word) and all of
      it is in the source; the summary is neither generic nor off topic;
    * ``unverified``: a claim is not in the source (listed in `unsupported`, as
      written in the summary), or the summary is `generic` (names nothing
      distinctive of the paper), or `off_topic`;
    * ``unchecked``: the summary states nothing that could be checked
      (`checked` == 0): never shown as verified, since a reply such as "PWNED"
      (a model obeying an instruction hidden in the abstract) holds no claim.

    `off_topic` is True when the summary shares almost none of its content words
    with the source (`overlap`, the share found, is below
    `papergist.verify.topic.OFF_TOPIC_BELOW`) and names nothing distinctive of
    the paper; such a summary is ``unverified`` even when nothing was checked.
    `overlap` is None when the summary has no Latin-script content word (then it
    cannot be judged). `warn` is False when the user chose to publish summaries
    that are not verified without a warning (`keep`).
    """

    status: VerdictStatus
    unsupported: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    generic: bool = False
    checked: int = 0
    warn: bool = True
    off_topic: bool = False
    overlap: float | None = None
    grounding: tuple[Grounding, ...] = ()  # each sentence and its quote

    @property
    def backed(self) -> tuple[int, int]:
        """(sentences backed by a quote, sentences)."""
        return sum(1 for g in self.grounding if g.backed), len(self.grounding)

    @property
    def verified(self) -> bool:
        """True only for ``verified``."""
        return self.status == "verified"


class Summary(Frozen):
    """A summary of one paper, with everything that produced it."""

    paper_id: str
    sections: Sections
    summarizer: str
    model: str
    language: str
    prompt_version: str
    source: SummarySource
    source_hash: str
    paper_version: str | None = None
    usage: Usage = Usage()
    verification: Verdict | None = None
    cited: tuple[Cited, ...] = ()  # the passage quoted for each sentence, if the model gave
    # When this summary was written (UTC); None in digests stored before it was kept.
    # The Atom entry's `updated` comes from it, so a re-summarized paper is an update.
    created_at: datetime | None = None

    @property
    def extractive(self) -> bool:
        """True when every sentence is quoted from the source (no model wrote it)."""
        return self.summarizer == "extractive"


class PaperFailure(Frozen):
    """Why one paper has no summary; it still appears in the digest."""

    paper_id: str
    stage: str
    reason: str
    attempts: int = 0  # model requests sent for it in this run, resends included


class Relevance(Frozen):
    """How much a paper matters to one reader (`papergist.rank`), and why."""

    reader: str
    score: float = 0.0
    reasons: tuple[str, ...] = ()  # "diffusion (title)", "Kaiming He (author)", ...


class DigestItem(Frozen):
    """One paper of the digest: exactly one of `summary` or `failure` is set;
    `relevance` only in a digest ranked for a reader."""

    paper: Paper
    rank: int
    upvotes: int | None = None
    summary: Summary | None = None
    failure: PaperFailure | None = None
    attempts: int = 0  # model requests sent for this paper in the run that built it
    source_notes: tuple[str, ...] = ()  # why a better text was not used ("html: HTTP 404")
    relevance: Relevance | None = None


DigestKind = Literal["daily", "ids", "weekly", "monthly", "arxiv"]
PeriodKind = Literal["weekly", "monthly"]
PERIODS: dict[PeriodKind, tuple[str, str]] = {  # kind -> (HF's query parameter, example)
    "weekly": ("week", "2024-W34"),
    "monthly": ("month", "2024-08"),
}


def period_start(kind: PeriodKind, label: str) -> date:
    """The first day of an ISO week ("2024-W34": its Monday) or a month ("2024-08");
    a ValueError naming the form otherwise."""
    example = PERIODS[kind][1]
    text = label.strip()
    try:
        if kind == "weekly" and re.fullmatch(r"\d{4}-W\d{2}", text):
            return date.fromisocalendar(int(text[:4]), int(text[6:]), 1)
        if kind == "monthly" and re.fullmatch(r"\d{4}-\d{2}", text):
            return date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        pass
    form = "YYYY-Www (an ISO week)" if kind == "weekly" else "YYYY-MM"
    raise ValueError(f"invalid {PERIODS[kind][0]} {label!r}: use {form}, e.g. {example}")


def period_label(kind: str, start: date) -> str:
    """"2024-W34" for the week starting `start`, "2024-08" for a month, else the day."""
    if kind == "weekly":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start:%Y-%m}" if kind == "monthly" else start.isoformat()


def digest_args(kind: str, start: date, categories: Sequence[str] = ()) -> str:
    """How `papergist digest` names a digest: "2024-08-26", "--week 2024-W34",
    "2024-08-26 --arxiv cs.CL,cs.CV", ..."""
    label = period_label(kind, start)
    if kind == "arxiv":
        return f"{label} --arxiv {','.join(categories) or 'CATEGORY'}"
    return f"--{PERIODS[kind][0]} {label}" if kind in PERIODS else label  # type: ignore[index]


class Digest(Frozen):
    """A digest, papers in reading order (upvotes descending, ties in feed order).

    `date` is the day of a daily digest, the day an id digest was made, the day
    an arXiv digest lists the submissions of (to `categories`), or the first day
    of the week or month of a weekly or monthly one (`label` names it).
    """

    date: date
    items: tuple[DigestItem, ...]
    kind: DigestKind = "daily"
    categories: tuple[str, ...] = ()  # of an "arxiv" digest: cs.CL, ...

    @property
    def label(self) -> str:
        """"2024-08-26", "2024-W34" or "2024-08"."""
        return period_label(self.kind, self.date)

    @property
    def delivery_label(self) -> str:
        """The name its deliveries are recorded under: its label, kind first for an id
        or arXiv digest ("arxiv:2024-08-26"), which are not the daily digest of that day."""
        return f"{self.kind}:{self.label}" if self.kind in ("ids", "arxiv") else self.label

    @property
    def extractive(self) -> bool:
        """True when every summary in the digest is extractive."""
        summaries = [i.summary for i in self.items if i.summary]
        return bool(summaries) and all(s.extractive for s in summaries)


class Fallback(Frozen):
    """A paper whose summary was written from a lesser text than the HTML page, and why."""

    paper_id: str
    to: Literal["pdf", "abstract"]
    notes: tuple[str, ...] = ()  # why each better text was not used ("html: HTTP 404")


class RunReport(Frozen):
    """What one run did: what was fetched, summarized and what failed, and why.

    `retries` (HTTP and model requests sent again), `throttled` (429s) and
    `window_decreases` count what this run (one day) went through; `fallbacks`
    lists the papers that fell back to the PDF or the abstract when the full
    text was wanted (a model was used).
    """

    day: date | None
    fetched: int
    summarized: int
    cached: int = 0
    from_fulltext: int = 0
    unverified: int = 0
    usage: Usage = Usage()
    failures: tuple[PaperFailure, ...] = ()
    retries: int = 0
    throttled: int = 0
    window_decreases: int = 0
    fallbacks: tuple[Fallback, ...] = ()

    @property
    def to_pdf(self) -> int:
        """Papers read from the PDF because the HTML page could not be used."""
        return sum(1 for f in self.fallbacks if f.to == "pdf")

    @property
    def to_abstract(self) -> int:
        """Papers summarized from the abstract because no full text could be used."""
        return sum(1 for f in self.fallbacks if f.to == "abstract")

    @property
    def complete(self) -> bool:
        """True when every fetched paper has its summary."""
        return not self.failures and self.summarized == self.fetched


class ArchiveEntry(Frozen):
    """One stored digest, as an archive lists it."""

    date: date
    kind: DigestKind
    label: str  # "2024-08-26", "2024-W34", "2024-08"
    papers: int
    built_at: datetime | None = None


class SearchHit(Frozen):
    """A paper a search found, with the digest it is in and a snippet of the match.

    `highlights` are (start, end) offsets of the matched words in `snippet`.
    """

    paper_id: str
    title: str
    authors: tuple[str, ...] = ()
    date: date  # of the digest it is in (the first day of a week or month)
    kind: DigestKind = "daily"
    upvotes: int | None = None
    snippet: str = ""
    highlights: tuple[tuple[int, int], ...] = ()
    score: float = 0.0  # higher is better; comparable within one search only


class SearchResults(Frozen):
    """The best matches of a query in one language, best first; `by` words (full-text)
    or meaning (embeddings)."""

    query: str
    language: str
    hits: tuple[SearchHit, ...] = ()
    by: Literal["words", "meaning"] = "words"
