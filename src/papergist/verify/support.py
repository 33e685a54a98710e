"""Is each claim of a summary in the paper? The source index and the verdict.

`Source.build` reads the title, the abstract and (optionally) the full text once:
sentences, every number with its unit, and all tokens squashed into one string
so a name is found whatever its case, hyphens, spaces or plural. `check` then
looks each claim of a summary up and returns a `papergist.models.Verdict`.

A claim is supported when the source has it after normalisation:
  * numbers: the same value (``2.0`` = ``2.00``; ``2.4백만`` = ``2.4M`` = ``2,400,000``;
    ``0.5초`` = ``500 ms``; ``3배`` = ``3×`` = "three times") in a compatible unit
    (see `_COMPATIBLE`); a value written with fewer decimals than the source's may
    be its rounding (``15.2`` for ``15.17``); every end of a range must be there;
  * names: the squashed tokens at token boundaries inside one sentence, or the
    acronym/expansion written beside it in the summary; failing that, the same
    without a generic head noun ("Stable Video Diffusion *Model*"), a multi-word
    name's content words close together in one sentence, or - for an acronym - a
    run of capitalised words or a hyphenated compound with those initials
    ("Online Subspace Descent" for OSD, "state-of-the-art" for SOTA).
  Numbers in citation brackets, lone page numbers and bare integers in table-like
  lines support nothing; the references section is not indexed at all.

A summary is *generic* - unverified even with every claim supported - when it
names nothing distinctive of the paper: none of its names is, in the title or
abstract, an identifier (``SurgSAM-2``, ``GSM8K``), the title's own name, a
multi-word term (``Distance Awareness Energy Function``) or a word the abstract
capitalises mid-sentence (``Ferret``), field-wide terms (``LLM``, ``Transformer``,
`lexicon.UBIQUITOUS`) excepted; and its Latin text shares no pair of content words
with the title or abstract (``medical question answering``, glosses included).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate

from papergist.models import Cited, Evidence, Verdict, VerdictStatus
from papergist.verify.claims import Claim, acronym_like, extract_claims
from papergist.verify.grounding import ground
from papergist.verify.lexicon import (FUNCTION_WORDS, GENERIC_HEADS, GENERIC_WORDS, NUMBER_WORDS,
                                      STOPWORDS, UBIQUITOUS)
from papergist.verify.numbers import find_number_words, find_numbers, rounded_keys, value_key
from papergist.sentences import split_sentences
from papergist.verify.text import (drop_references, fold, norm_token,
                                   strip_markdown, tokens, unelide)
from papergist.verify.topic import content_words, off_topic, overlap, too_short

# Source units a claim's unit accepts. A bare number (a count, "20 FPS") is found
# as a bare number or a score, never as 20% or 20 GB; a percentage written with
# decimals may also be a bare number in the source (tables drop the %).
_COMPATIBLE: dict[str, frozenset[str]] = {
    "": frozenset({"", "pt"}), "%": frozenset({"%", "pp"}), "pp": frozenset({"pp", "%", "pt", ""}),
    "pt": frozenset({"pt", "", "%", "pp"}), "x": frozenset({"x"}),
    "time": frozenset({"time"}), "gb": frozenset({"gb"}), "mb": frozenset({"mb"}),
    "tb": frozenset({"tb"}), "kb": frozenset({"kb"}),
}
_PAIR_FORMS = ("dim", "ratio", "frac")
QUOTE_TOKENS = 8  # a sentence this long found word for word is a checked quote
_MAX_CANDIDATES = 2000  # occurrences of a key tried before giving up (pathological text)
_CITATION = re.compile(r"\[\s*\d+(?:\s*[,\-]\s*\d+)*\s*\]")  # "[9, 33]", "[2-4]": references
_WORDS = re.compile(r"[A-Za-z]{2,}")
_DIGIT = re.compile(r"\d")
_LATIN_RUN = re.compile(r"[A-Za-z0-9]+(?:[ \-][A-Za-z0-9]+)*")
_NUMBER_WORD_TOKENS = frozenset(norm_token(w) for w in NUMBER_WORDS) | {"factor"}
_FUNCTION = frozenset(norm_token(w) for w in FUNCTION_WORDS)
_GENERIC = frozenset(norm_token(w) for w in GENERIC_WORDS)
_JOIN = {"dim": "x", "ratio": ":", "frac": "/"}
_COMPOUND = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z]+(?:-[A-Za-z]+)+")
_CAPITAL_WORD = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z][A-Za-z0-9]*|\d+)(?:-[A-Za-z0-9]+)*")


def _pair_key(form: str, keys: tuple[str, ...]) -> str:
    return _JOIN[form].join(keys)


@dataclass
class Source:
    """Everything a summary may be checked against, indexed once.

    `sentences[:head]` are the title and the abstract; the rest is the full text."""

    sentences: list[str]
    head: int
    squashed: str = ""
    bounds: set[int] = field(default_factory=set)
    starts: list[int] = field(default_factory=list)
    numbers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    rounded: dict[tuple[str, int], list[tuple[str, int]]] = field(default_factory=dict)
    pairs: dict[str, list[int]] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)  # every token, in order
    token_sentence: list[int] = field(default_factory=list)  # position -> sentence
    _postings: dict[str, list[int]] | None = None
    title: str = ""
    abstract: str = ""
    title_key: str = ""
    title_count: int = 0
    _terms: frozenset[str] | None = None
    _acronyms: dict[str, int] | None = None
    _vocabulary: frozenset[str] | None = None
    _words: tuple[list[set[str]], dict[str, list[int]]] | None = None

    @classmethod
    def build(cls, title: str, abstract: str, fulltext: str | None = None) -> "Source":
        """Index a paper: its title, abstract and optional full text (plain text or
        Markdown; a references section is dropped, appendices after it kept)."""
        head = [fold(" ".join(title.split()))] if title.strip() else []
        head += split_sentences(unelide(fold(" ".join(abstract.split()))))
        body = (split_sentences(unelide(fold(strip_markdown(drop_references(fulltext)))))
                if fulltext else [])
        source = cls(sentences=head + body, head=len(head), title=title, abstract=abstract,
                     title_key=_title_key(title), title_count=1 if title.strip() else 0)
        source._index()
        return source

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every comparison token of the source (computed on first use)."""
        if self._vocabulary is None:
            self._vocabulary = frozenset(self.tokens)
        return self._vocabulary

    @property
    def word_index(self) -> tuple[list[set[str]], dict[str, list[int]]]:
        """The content words of each sentence, and the sentences holding each word
        (computed on first use; sentence-level grounding reads them)."""
        if self._words is None:
            words = [content_words(s) for s in self.sentences]
            postings: dict[str, list[int]] = {}
            for i, found in enumerate(words):
                for word in found:
                    postings.setdefault(word, []).append(i)
            self._words = words, postings
        return self._words

    @property
    def terms(self) -> frozenset[str]:
        """Content-word pairs of the title and abstract (computed on first use)."""
        if self._terms is None:
            self._terms = frozenset(_term_pairs(self.title) | _term_pairs(self.abstract))
        return self._terms

    # --- indexing -------------------------------------------------------------------

    def _index(self) -> None:
        """Squashed tokens with their boundaries, numbers by value."""
        all_tokens: list[str] = []
        for i, sentence in enumerate(self.sentences):
            toks = tokens(sentence)
            self.starts.append(len(all_tokens))  # token index for now, offset below
            all_tokens.extend(toks)
            self.token_sentence.extend([i] * len(toks))
            if _DIGIT.search(sentence) or _NUMBER_WORD_TOKENS.intersection(toks):
                self._index_numbers(sentence, i)
        offsets = list(accumulate(map(len, all_tokens), initial=0))
        self.starts = [offsets[k] for k in self.starts]
        self.squashed, self.bounds, self.tokens = "".join(all_tokens), set(offsets), all_tokens

    def _index_numbers(self, sentence: str, i: int) -> None:
        """Every number of one sentence, under each of its values (and roundings).

        Citation brackets ("[9, 33]") are no numbers of the paper, and a line with
        fewer than two words (a page number, a stray table cell) supports none. In a
        table-like line (more numbers than words) a bare integer is left out: among
        so many, any small count a summary states would be found by chance."""
        words = len(_WORDS.findall(sentence))
        if words < 2:
            return
        sentence = _CITATION.sub(" ", sentence)
        mentions = find_numbers(sentence)
        table = len(mentions) >= 6 and len(mentions) >= words
        for m in mentions + find_number_words(sentence):
            if table and not (m.unit or m.scaled or m.decimals or m.form in _PAIR_FORMS):
                continue
            if m.form in _PAIR_FORMS:
                self.pairs.setdefault(_pair_key(m.form, m.keys), []).append(i)
                entries = [(key, "", 0) for key in m.keys]
            else:
                entries = [(key, m.unit, m.decimals) for key in m.keys]
            for (key, unit, decimals), value in zip(entries, m.values):
                self.numbers.setdefault(key, []).append((unit, i))
                if not m.scaled:
                    for rkey, d in rounded_keys(value, decimals):
                        self.rounded.setdefault((rkey, d), []).append((unit, i))

    # --- lookups ----------------------------------------------------------------------

    def sentence_at(self, offset: int) -> int:
        """Index of the sentence a squashed offset falls in."""
        return bisect.bisect_right(self.starts, offset) - 1

    def _at_bounds(self, key: str, start: int = 0, limit: int | None = None) -> Iterator[int]:
        """Offsets from `start` where squashed `key` begins and ends at token boundaries
        (at most `_MAX_CANDIDATES` occurrences looked at: pathological text)."""
        i = self.squashed.find(key, start, limit)
        for _ in range(_MAX_CANDIDATES):
            if i == -1:
                return
            if i in self.bounds and i + len(key) in self.bounds:
                yield i
            i = self.squashed.find(key, i + 1, limit)

    def find_key(self, key: str, head_only: bool = False) -> int | None:
        """Sentence holding squashed `key` at token boundaries, or None."""
        if not key:
            return None
        limit = self.starts[self.head] if head_only and self.head < len(self.starts) else None
        for i in self._at_bounds(key, 0, limit):
            if self.sentence_at(i) == self.sentence_at(i + len(key) - 1):
                return self.sentence_at(i)
        return None

    def find_span(self, keys: list[str]) -> list[int] | None:
        """The sentences of the first place where squashed `keys` occur in order at
        token boundaries, each after the one before (a quote, and the parts of one
        elided with "..."; a part may run across sentences); or None."""
        found: list[int] = []
        at = 0
        for key in keys:
            i = next(self._at_bounds(key, at), None)
            if i is None:
                return None
            at = i + len(key)
            found += range(self.sentence_at(i), self.sentence_at(at - 1) + 1)
        return sorted(set(found)) or None

    def cooccur(self, words: list[str]) -> int | None:
        """First sentence where all `words` (comparison tokens) occur close together
        (within a window a few tokens wider than the phrase), or None."""
        if self._postings is None:
            self._postings = {}
            for k, tok in enumerate(self.tokens):
                self._postings.setdefault(tok, []).append(k)
        found = [self._postings.get(w) for w in words]
        lists = [positions for positions in found if positions]
        if len(lists) < len(found):
            return None
        window = len(words) + 2
        rarest = min(lists, key=len)
        for p in rarest:
            if all(self._near(positions, p, window) for positions in lists):
                return self.token_sentence[p]
        return None

    def _near(self, positions: list[int], p: int, window: int) -> bool:
        """True when some position lies within `window` of `p`, in the same sentence."""
        k = bisect.bisect_left(positions, p - window)
        while k < len(positions) and positions[k] <= p + window:
            if self.token_sentence[positions[k]] == self.token_sentence[p]:
                return True
            k += 1
        return False

    def acronym(self, letters: str) -> int | None:
        """Sentence with capitalised words whose initials spell `letters`, or None."""
        if self._acronyms is None:
            self._acronyms = _capital_initials(self.sentences)
        return self._acronyms.get(letters)

    def find_number(self, claim: Claim) -> int | None:
        """Sentence supporting a number claim (every value of a range), or None."""
        if claim.unit in _PAIR_FORMS:
            paired = self.pairs.get(_pair_key(claim.unit, tuple(value_key(v) for v in claim.values)))
            return paired[0] if paired else None
        accepted = _COMPATIBLE.get(claim.unit, frozenset({claim.unit}))
        if claim.unit == "%" and claim.decimals:
            accepted = accepted | {""}
        per_value = []
        for value in claim.values:
            hits: list[tuple[str, int]] = list(self.numbers.get(value_key(value), []))
            if claim.decimals and not claim.scaled:
                hits += self.rounded.get((value_key(value), claim.decimals), [])
            sentences = {i for unit, i in hits if unit in accepted}
            if not sentences:
                return None
            per_value.append(sentences)
        common = set.intersection(*per_value)  # a range's ends stated together
        return min(common) if common else None

    def find_name(self, claim: Claim) -> int | None:
        """Sentence supporting a name claim, trying the fallbacks in order."""
        for key in (claim.key,) + claim.alts:
            hit = self.find_key(key)
            if hit is not None:
                return hit
        words = tokens(claim.text)
        content = [w for w in words if w not in STOPWORDS]
        while len(content) > 1 and content[-1] in GENERIC_HEADS:
            content = content[:-1]
            hit = self.find_key("".join(content))
            if hit is not None:
                return hit
        content = [w for w in content if w not in GENERIC_HEADS]
        if len(content) >= 2 and " " in claim.text.strip():
            hit = self.cooccur(content)
            if hit is not None:
                return hit
        if acronym_like(claim.text):
            return self.acronym("".join(c for c in claim.text if c.isupper() or c.isdigit()))
        return None

    def find(self, claim: Claim) -> int | None:
        """Index of a sentence supporting `claim`, or None when the source lacks it."""
        return self.find_number(claim) if claim.kind == "number" else self.find_name(claim)

    def names_distinctive(self, claim: Claim) -> bool:
        """True when a name claim is distinctive of this paper: found in the title or
        abstract, not field-wide, and an identifier, a multi-word term, the title's
        name, or a word the abstract capitalises mid-sentence ("Ferret", "Mamba")."""
        if claim.kind != "name":
            return False
        for key in (claim.key,) + claim.alts:
            if key in UBIQUITOUS or len(key) < 3 or self.find_key(key, head_only=True) is None:
                continue
            if key == self.title_key or key != claim.key or claim.strong:
                return True  # the title's name, an acronym/expansion, an identifier
        content = [w for w in tokens(claim.text) if w not in STOPWORDS and w not in GENERIC_HEADS]
        if len(content) >= 2:
            return "".join(content) not in UBIQUITOUS and (
                self.find_key(claim.key, head_only=True) is not None)
        return (claim.key not in UBIQUITOUS and " " not in claim.text
                and self._capitalised_inside(claim.text))

    def _capitalised_inside(self, word: str) -> bool:
        """True when an abstract sentence has `word`, capitalised, not as its first word."""
        pattern = re.compile(r"(?<![A-Za-z0-9])" + re.escape(word) + r"(?![a-z])")
        for sentence in self.sentences[self.title_count:self.head]:
            for m in pattern.finditer(sentence):
                if sentence[:m.start()].strip(" \"'([-"):
                    return True
        return False


# --- distinctive terms ----------------------------------------------------------------

def _title_key(title: str) -> str:
    """Squashed name a title gives before its colon ("Jamba-1.5: ..."), or ""."""
    head = fold(title).split(":")[0].strip() if ":" in title else ""
    return "".join(tokens(head)) if head and len(head.split()) <= 3 else ""


def _latin_runs(text: str) -> list[list[str]]:
    """Comparison tokens of each run of Latin words (joined by spaces or hyphens)."""
    runs = _LATIN_RUN.findall(fold(text))
    return [tokens(run) for run in runs]


def _term_pairs(text: str) -> set[str]:
    """Adjacent content-word pairs of the Latin runs of `text`, squashed, where at
    least one word is not a field-wide word ("counting loss", "cross embodied")."""
    pairs = set()
    for words in _latin_runs(text):
        for a, b in zip(words, words[1:]):
            if (a not in _FUNCTION and b not in _FUNCTION and not a.isdigit() and not b.isdigit()
                    and (a not in _GENERIC or b not in _GENERIC)):
                pairs.add(a + b)
    return {p for p in pairs if p not in UBIQUITOUS}


def _capital_initials(sentences: list[str]) -> dict[str, int]:
    """Initials -> first sentence, for every run of 2-6 consecutive capitalised
    words ("Online Subspace Descent": OSD) and every hyphenated compound
    ("state-of-the-art": SOTA and, without its small words, SA)."""
    out: dict[str, int] = {}
    for i, sentence in enumerate(sentences):
        run: list[re.Match] = []
        for m in list(_CAPITAL_WORD.finditer(sentence)) + [None]:
            if m is not None and (not run or sentence[run[-1].end():m.start()] == " "):
                run.append(m)
                continue
            letters = [w.group()[0].upper() for w in run]
            for a in range(len(letters)):
                for b in range(a + 2, min(a + 6, len(letters)) + 1):
                    out.setdefault("".join(letters[a:b]), i)
            run = [m] if m is not None else []
        for compound in _COMPOUND.findall(sentence):
            parts = compound.split("-")
            out.setdefault("".join(p[0].upper() for p in parts), i)
            out.setdefault("".join(p[0].upper() for p in parts if p.lower() not in STOPWORDS), i)
    return out


# --- verdicts ---------------------------------------------------------------------------

def _mentions_terms(sections: Mapping[str, str], source: Source) -> bool:
    """True when the summary's Latin text shares a content-word pair with the title
    or abstract ("medical question answering", "cross-embodied")."""
    return any(_term_pairs(text or "") & source.terms for text in sections.values())


def _quotes(sections: Mapping[str, str], source: Source) -> list[Evidence]:
    """Sentences of the summary (of `QUOTE_TOKENS` tokens or more) that the source
    has word for word: what an extractive summary states, checked as a whole."""
    found = []
    for text in sections.values():
        for sentence in split_sentences(fold(text or "")):
            words = tokens(sentence)
            if len(words) >= QUOTE_TOKENS:
                hit = source.find_key("".join(words))
                if hit is not None:
                    found.append(Evidence(claim=sentence, sentence=source.sentences[hit]))
    return found


def _status(unsupported: list[str], generic: bool, off: bool, checked: int) -> VerdictStatus:
    """Off topic is unverified whatever else holds; nothing checked is unchecked."""
    if off:
        return "unverified"
    if not checked:
        return "unchecked"
    return "unverified" if unsupported or generic else "verified"


def check(sections: Mapping[str, str], source: Source, cited: Iterable[Cited] = ()) -> Verdict:
    """The verdict on a summary (section name -> text) against an indexed source.

    `verified` only when something was checked, every claim is supported, every
    passage its model `cited` is in the paper, the summary is not generic and not
    off topic (see `papergist.models.Verdict`)."""
    claims: dict[tuple[str, str], Claim] = {}
    for text in sections.values():
        for claim in extract_claims(text or ""):
            claims.setdefault((claim.kind, claim.key), claim)
    unsupported: list[str] = []
    evidence: list[Evidence] = []
    named = False
    for claim in claims.values():
        hit = source.find(claim)
        if hit is None:
            if claim.text not in unsupported:
                unsupported.append(claim.text)
            continue
        evidence.append(Evidence(claim=claim.text, sentence=source.sentences[hit]))
        named = named or source.names_distinctive(claim)
    quotes = _quotes(sections, source) if not claims else []
    generic = not (named or _mentions_terms(sections, source))
    shared, total = overlap(sections, source.vocabulary)
    off = too_short(sections) or (not named and off_topic(shared, total))
    grounding = ground(sections, source, cited)
    invented = [g.cited for g in grounding if g.cited and not g.cited_found]
    unquoted = [g.sentence for g in grounding  # not one word of it is there
                if g.quote is None and g.share is not None and not g.cited]
    unsupported += [s for s in invented + unquoted if s not in unsupported]
    found = sum(1 for g in grounding if g.cited_found)
    checked = len(claims) + len(quotes) + len(unquoted) + len(invented) + found
    return Verdict(status=_status(unsupported, generic, off, checked),
                   unsupported=tuple(unsupported), evidence=tuple(evidence + quotes),
                   generic=generic, checked=checked, off_topic=off,
                   overlap=round(shared / total, 3) if total else None,
                   grounding=grounding)


def verify(sections: Mapping[str, str], title: str, abstract: str,
           fulltext: str | None = None, cited: Iterable[Cited] = ()) -> Verdict:
    """Check a summary against a paper in one call (builds the `Source` each time)."""
    return check(sections, Source.build(title, abstract, fulltext), cited)
