"""The offline summarizer: quotes sentences of the abstract, never writes any.

Each section is whole sentences copied verbatim from the normalised abstract,
picked by cue words (novelty, method, results); deterministic, no model.
"""

from __future__ import annotations

import hashlib
import itertools
import re

from papergist.errors import SummarizeError, UsageError
from papergist.models import SECTION_KEYS, Paper, PaperText, Sections, Summary, Verdict
from papergist.sentences import split_sentences

PROMPT_VERSION = "extractive-1"
SECTION_CAP = 400  # characters; a section grows past one sentence only below this
MAX_PER_SECTION = 2
EXTRA_MIN_SCORE = 4.0  # a second sentence must score at least this for its section

CUES = {  # section -> (case-insensitive regex, weight)
    "whats_new": (
        (r"\bwe (?:propose|introduce|present)\b", 4),
        (r"\bwe (?:develop|design|build|construct|curate|create|contribute|release|offer|"
         r"formulate|pioneer)\b", 2.5),
        (r"\b(?:this|our) (?:paper|work|study|report|article)\b", 2),
        (r"\bin this (?:paper|work|study|report)\b", 1),
        (r"\b(?:novel|first|new|innovative|unified|simple yet)\b", 1.5),
        (r"\b(?:called|named|dubbed|termed|coined)\b", 1),
        (r"\bto (?:address|tackle|overcome|bridge|solve|fill|mitigate|alleviate)\b", 1),
    ),
    "technical_details": (
        (r"\b(?:architecture|framework|pipeline|module|mechanism|encoder|decoder|attention|"
         r"layers?|loss|objective|tokeni[sz]er|backbone|adapter|router)\b", 1.5),
        (r"\b(?:train(?:ed|ing)?|fine-tun\w*|pre-?train\w*|distill\w*|dataset|corpus|data|"
         r"supervis\w*|reward|reinforcement)\b", 1),
        (r"\b(?:model|approach|method|algorithm|strategy|stage|component|step|process)s?\b", 0.5),
        (r"\bby \w+ing\b", 2),
        (r"\b(?:consists? of|composed of|compris\w+|based on|built (?:up)?on|leverag\w+|"
         r"utili[sz]\w+|employ\w*|incorporat\w+|integrat\w+|combin\w+)\b", 2),
        (r"\bwe (?:(?:first|then|also|further|additionally)\b|(?:us|adopt|appl|train|employ|"
         r"collect|annotat|filter|select|replac|extend|formulat|decompos|generat|construct|"
         r"design|utili|leverag|implement|buil|incorporat|combin|model)\w*)", 1.5),
        (r"\b(?:instead of|rather than|unlike|specifically|in particular|concretely)\b", 1),
        (r"\b(?:first|then|finally|key|core)\b", 0.5),
    ),
    "performance_highlights": (
        (r"\b(?:outperform\w*|surpass\w*|beats?|exceed\w*|state-of-the-art|sota|rival\w*|"
         r"superior|on par|match(?:es|ing))\b", 3),
        (r"\b(?:achiev\w+|improv\w+|boost\w*|gains?|speed-?ups?|faster|reduc\w+|competitive|"
         r"better|best|significant(?:ly)?|comparable|strong)\b", 1.5),
        (r"\b(?:experiments?|results?|evaluations?|benchmarks?|empirical\w*|extensive)\b", 1),
        (r"\b(?:experiments?|results?|evaluations?) (?:show|demonstrate|indicate|reveal)", 3),
        (r"\d(?:\.\d+)?\s?(?:\\?%|×|x\b|pp\b|%p\b|points?\b|times\b|mAP\b|FID\b|BLEU\b)", 3),
        (r"(?<![\w.-])\d+(?:\.\d+)?(?![\w.-])", 0.5),
    ),
}
_CUES = {key: [(re.compile(p, re.I), w) for p, w in cues] for key, cues in CUES.items()}
# The sentence where the authors turn from background to their own work.
_PIVOT = re.compile(r"\bwe (?:propose|introduce|present)\b|\bin this (?:paper|work|study)\b|"
                    r"\bthis (?:paper|work|study|report|survey|tutorial) (?:\w+ly )?"
                    r"(?:\w+s|is|can)\b", re.I)
_PROPOSES = re.compile(r"\b(?:propose|introduce|present)s?\b", re.I)
_AUTHOR_VOICE = re.compile(r"\b(?:we|our|this (?:paper|work|study))\b", re.I)
# Scene-setting, when no pivot says where the background ends.
_BACKGROUND = re.compile(r"\b(?:recent(?:ly)?|existing|current|previous|prior|however|remains?|"
                         r"challeng\w*|limit\w*|suffer\w*|struggl\w*|lack\w*|despite|"
                         r"although|typically)\b", re.I)
_COMPARISON = re.compile(r"\b(?:outperform\w*|surpass\w*|state-of-the-art|better \w+ than|"
                         r"superior to)\b", re.I)
# Links and outlooks say nothing about the paper itself.
_ASIDE = re.compile(r"https?://|github|huggingface\.co|project page|\bcode\b.*\bavailable|"
                    r"\b(?:we hope|we believe|holds? promise|paves? the way|its potential|"
                    r"sheds? light|future (?:[\w-]+ )?(?:work|research|developments?|"
                    r"directions?)|opens? (?:up )?new)\b", re.I)
# The name the paper gives its method: "we propose Online Subspace Descent", "(HiRED)".
_NAMED = re.compile(r"\b(?:propose|introduce|present|termed|called|dubbed|named)\s+"
                    r"([A-Z][\w.+-]*(?: [A-Z][\w.+-]*)*)|\(([A-Z][\w.+-]*[A-Z][\w.+-]*)\)")


def normalize_abstract(text: str) -> str:
    """Undo hard line wraps: paragraph lines joined by single spaces, paragraphs kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _title_name(title: str) -> str:
    """The name a title gives before its colon ("Jamba-1.5: ..."), or ""."""
    head = title.split(":")[0].strip() if ":" in title else ""
    return head if 3 <= len(head) and len(head.split()) <= 3 else ""


def _context_end(sentences: list[str]) -> int:
    """Index of the pivot sentence; the sentences before it are background."""
    for i, sentence in enumerate(sentences):
        if _PIVOT.search(sentence):
            return i
    end = 0
    while end < len(sentences) // 2 and _BACKGROUND.search(sentences[end]):
        end += 1
    return end


def score_sentences(sentences: list[str], title: str = "") -> list[dict[str, float]]:
    """How well each sentence fits each section, from cue words and position."""
    count, pivot, title_name = len(sentences), _context_end(sentences), _title_name(title)
    named = _NAMED.finditer(sentences[pivot] if pivot < count else "")
    names = {n for n in {m.group(1) or m.group(2) for m in named} | {title_name} if len(n) >= 3}
    all_scores = []
    for position, sentence in enumerate(sentences):
        scores = {key: sum(w for rx, w in _CUES[key] if rx.search(sentence)) for key in _CUES}
        relative = position / max(count - 1, 1)
        scores["whats_new"] += 1.0 - relative  # novelty is announced early
        scores["performance_highlights"] += relative  # results come late
        if title_name and _PIVOT.search(sentence) and re.search(
                rf"(?<![\w-]){re.escape(title_name)}(?![\w-])", sentence):
            scores["whats_new"] += 2  # "We present Jamba-1.5" for "Jamba-1.5: ..."
        if position < pivot:  # background: what others did, what is missing
            voiced = bool(_AUTHOR_VOICE.search(sentence))
            for key in SECTION_KEYS:
                scores[key] -= (1.0 if key != "whats_new" else 0.0) if voiced else 2.5
        elif position == pivot and _PROPOSES.search(sentence):
            scores["whats_new"] += 1.5  # the first "we propose" is the main contribution
        elif any(name in sentence for name in names):
            scores["technical_details"] += 1.5  # how the named method works
        if _COMPARISON.search(sentence):  # a result, even when it names parts of the method
            scores["technical_details"] -= 1.5
        if _ASIDE.search(sentence):
            for key in SECTION_KEYS:
                scores[key] -= 5
        all_scores.append(scores)
    return all_scores


def _first_picks(scores: list[dict[str, float]]) -> dict[str, list[int]]:
    """One sentence per section (distinct if 3+), maximising the total; ties go earlier.

    An optimal choice only uses each section's top three, so only those are tried."""
    count, width = len(scores), len(SECTION_KEYS)
    ranked = {key: sorted(range(count), key=lambda i: (-scores[i][key], i)) for key in SECTION_KEYS}
    if count < width:
        return {key: ranked[key][:1] for key in SECTION_KEYS}
    candidates = sorted({i for key in SECTION_KEYS for i in ranked[key][:width]})
    best: tuple[float, tuple[int, ...]] = (float("-inf"), ())
    for triple in itertools.permutations(candidates, width):
        total = sum(scores[i][key] for i, key in zip(triple, SECTION_KEYS))
        if total > best[0] + 1e-9:
            best = (total, triple)
    return {key: [i] for key, i in zip(SECTION_KEYS, best[1])}


def _add_seconds(picks: dict[str, list[int]], scores: list[dict[str, float]],
                 sentences: list[str]) -> None:
    """Give sections a second unused sentence that clearly belongs there and fits."""
    used = {i for chosen in picks.values() for i in chosen}
    best = {i: max(SECTION_KEYS, key=lambda k: (s[k], -SECTION_KEYS.index(k)))
            for i, s in enumerate(scores) if i not in used}
    for i in sorted(best, key=lambda i: (-scores[i][best[i]], i)):
        chosen = picks[best[i]]
        length = sum(len(sentences[j]) + 1 for j in chosen) + len(sentences[i])
        if (scores[i][best[i]] >= EXTRA_MIN_SCORE and len(chosen) < MAX_PER_SECTION
                and length <= SECTION_CAP):
            chosen.append(i)


def choose_sentences(sentences: list[str], title: str = "") -> dict[str, list[str]]:
    """Pick each section's sentences, in abstract order; distinct when there are 3+."""
    if not sentences:
        raise SummarizeError("no abstract to summarize from")
    scores = score_sentences(sentences, title)
    picks = _first_picks(scores)
    if len(sentences) >= len(SECTION_KEYS):
        _add_seconds(picks, scores, sentences)
    return {key: [sentences[i] for i in sorted(picks[key])] for key in SECTION_KEYS}


class OfflineSummarizer:
    """Extractive summaries: sentences of the abstract, quoted, in three sections."""

    name = "extractive"
    model = "extractive"
    prompt_version = PROMPT_VERSION
    wants_fulltext = False
    paid = False  # quoting the abstract costs nothing: no leases

    async def __aenter__(self) -> "OfflineSummarizer":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def source_hash(self, paper: Paper, text: PaperText) -> str:
        """The hash of the normalised abstract, the only text quoted."""
        return hashlib.sha256(normalize_abstract(paper.abstract).encode("utf-8")).hexdigest()

    def sent_body(self, text: PaperText) -> None:
        """Nothing beyond the abstract is read."""
        return None

    def run_notes(self) -> list[str]:
        """Nothing to say: no model, no limits."""
        return []

    async def summarize_text(self, paper: Paper, text: PaperText, language: str,
                             regenerate: Verdict | None = None,
                             tally: object = None, stopwatch: object = None) -> Summary:
        """The pipeline's entry point: the abstract is all this summarizer reads
        (quoting it, it has nothing to regenerate and sends nothing: `regenerate`,
        `tally` and `stopwatch` are ignored)."""
        return self.summarize(paper, language)

    def check_language(self, language: str) -> None:
        """Accept English only ("en", "en-US", "en_GB"): quoting cannot translate."""
        if not re.fullmatch(r"en(?:[-_][A-Za-z0-9]+)*", language.strip(), re.IGNORECASE):
            raise UsageError(
                f"the offline summarizer only quotes the English abstract and cannot write "
                f"{language!r}; translation needs a model: add --model NAME (see papergist digest --help)"
            )

    def summarize(self, paper: Paper, language: str = "en") -> Summary:
        """Quote the abstract of `paper` into the three sections."""
        self.check_language(language)
        abstract = normalize_abstract(paper.abstract)
        if not abstract:
            raise SummarizeError("no abstract to summarize from")
        chosen = choose_sentences(split_sentences(abstract), paper.title)
        return Summary(
            paper_id=paper.id, sections=Sections(**{k: " ".join(v) for k, v in chosen.items()}),
            summarizer=self.name, model="extractive", language="en",
            prompt_version=PROMPT_VERSION, source="abstract",
            source_hash=hashlib.sha256(abstract.encode("utf-8")).hexdigest(),
        )
