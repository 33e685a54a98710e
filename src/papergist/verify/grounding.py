"""Sentence-level grounding: each sentence of a summary, and the quote that backs it.

For every sentence of every section, the source sentence that backs it best:
the one holding its claims (numbers and names, as `check` finds them), and most
of its content words; when that one holds less than `MIN_SHARE` of them, the
source sentence holding most of the rest joins it (a summary sentence often
joins two of the paper's). A sentence is *backed* when every claim it states is
found and, for a sentence written in Latin script, at least `MIN_SHARE` of its
content words (words about the paper itself, "paper", "authors", left out) are
in its quote; a sentence of claims only is backed by them, in any language.
A sentence with neither claims nor Latin content words (a Korean sentence
without a name or number, say) cannot be matched word for word and is left
without a quote: `backed` False, `share` None.

When the model quoted a passage for a sentence (`Cited`), that passage is looked
for in the paper word for word (case, spacing and punctuation aside, normalised as
the paper is; parts elided with "..." found in order): found, the source sentences
holding it are the sentence's quote, in any language; not found, the sentence is
not backed and the invented quote counts against the summary. A passage of fewer than
`MIN_CITED_WORDS` words is no quote, and the sentence is matched as if it had none.

Grounding is shown to readers (JSON, the paper's page) and counted; the verdict's
status rests on the claims, the sentences with nothing of the paper in them and the
invented quotes (see `support.check`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from papergist.models import Cited, Grounding
from papergist.sentences import split_sentences
from papergist.verify.claims import extract_claims
from papergist.verify.text import fold, strip_markdown, tokens, unelide
from papergist.verify.topic import content_words

if TYPE_CHECKING:  # `support.check` calls `ground`: the import goes one way
    from papergist.verify.support import Source

MIN_SHARE = 0.5  # of a Latin sentence's content words, in its quote
MIN_CITED_WORDS = 4  # a shorter quoted passage ("the model") backs nothing
_ELISION = re.compile(r"\.\.\.|…|\[\s*\.\.\.\s*\]")
CLAIM_WEIGHT = 1  # a claim found in a source sentence counts as one more shared word
JOIN = " … "  # between the two source sentences of a two-part quote
META = frozenset(content_words("paper papers author authors study work article research "
                               "propose proposes present presents introduce introduces "
                               "show shows demonstrate demonstrates"))


def ground(sections: Mapping[str, str], source: Source,
           cited: Iterable[Cited] = ()) -> tuple[Grounding, ...]:
    """Each sentence of `sections` (name -> text) with its best quote from `source`,
    the one its model `cited` for it when the paper holds that."""
    quoted = {(c.section, part): c.quote for c in cited for part in split_sentences(c.sentence)}
    return tuple(_cited(name, sentence, quoted.get((name, sentence)), source)
                 for name, text in sections.items()
                 for sentence in split_sentences(text or ""))


def cited_keys(quote: str) -> list[str]:
    """The squashed parts of a quoted passage, split where it elides ("..."); empty
    when it holds fewer than `MIN_CITED_WORDS` words (too short to back anything)."""
    parts = [tokens(unelide(fold(strip_markdown(part)))) for part in _ELISION.split(quote)]
    if sum(map(len, parts)) < MIN_CITED_WORDS:
        return []
    return ["".join(part) for part in parts if part]


def _cited(section: str, sentence: str, quote: str | None, source: Source) -> Grounding:
    """`_ground`, with the passage the model quoted for the sentence checked first."""
    keys = cited_keys(quote) if quote else []
    if not keys:
        return _ground(section, sentence, source)
    span = source.find_span(keys)
    if span is None:
        return _ground(section, sentence, source).model_copy(
            update={"backed": False, "cited": quote})
    return _quoted(section, sentence, source, span).model_copy(
        update={"cited": quote, "cited_found": True})


def _quoted(section: str, sentence: str, source: Source, span: list[int]) -> Grounding:
    """Grounding of one sentence by the source sentences `span` (its model's quote):
    backed when its claims are in the paper and, in Latin script, enough of its words
    in the quote."""
    words_of, _ = source.word_index
    claims_found = all(source.find(claim) is not None for claim in extract_claims(sentence))
    mine = content_words(fold(sentence)) - META
    covered = mine & set().union(*(words_of[i] for i in span))
    share = round(len(covered) / len(mine), 3) if mine else None
    return Grounding(section=section, sentence=sentence, share=share,
                     backed=claims_found and (share is None or share >= MIN_SHARE),
                     quote=JOIN.join(source.sentences[i] for i in span))


def _ground(section: str, sentence: str, source: Source) -> Grounding:
    words_of, postings = source.word_index
    claims = extract_claims(sentence)
    hits = [source.find(claim) for claim in claims]
    mine = content_words(fold(sentence)) - META
    votes: Counter[int] = Counter()
    for hit in hits:
        if hit is not None:
            votes[hit] += CLAIM_WEIGHT
    for word in mine:
        votes.update(postings.get(word, ()))
    if not votes:  # no claim found, no content word in the paper (share 0), or none at all
        return Grounding(section=section, sentence=sentence, share=0.0 if mine else None)
    quote = [_best(votes)]
    covered = mine & words_of[quote[0]]
    if mine and len(covered) < MIN_SHARE * len(mine):
        rest: Counter[int] = Counter()
        for word in mine - covered:
            rest.update(postings.get(word, ()))
        if rest:
            quote = sorted({quote[0], _best(rest)})
            covered = mine & set().union(*(words_of[i] for i in quote))
    share = round(len(covered) / len(mine), 3) if mine else None
    claims_found = all(hit is not None for hit in hits)
    words_found = share is None or share >= MIN_SHARE
    backed = claims_found and words_found and (bool(claims) or share is not None)
    return Grounding(section=section, sentence=sentence, backed=backed, share=share,
                     quote=JOIN.join(source.sentences[i] for i in quote))


def _best(votes: Counter[int]) -> int:
    """The sentence with the most votes; ties: the earlier one."""
    return max(votes, key=lambda i: (votes[i], -i))
