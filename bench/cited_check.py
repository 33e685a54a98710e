"""Measure how papergist finds the quotes a model gives for its sentences: prints
Markdown for BENCHMARKS.md.

No model can be reached from this machine, so the quotes are made from the real
papers of `shared/fixtures/ko_summaries.json` (title + abstract as the HF feed gives
them, hard wraps included, and the 12 full texts) the ways a model copies, and
miscopies, them:

- faithful: a whole sentence; a clause of 8 words from its middle; its first and
  last 5 words elided with "..."; a whole sentence in typographic quotes with its
  spacing collapsed. Target: every one found.
- not the paper's: one word of a whole sentence replaced by a word of another
  paper; a sentence of another paper's abstract. Target: none found (a sentence
  so generic that two papers share it word for word is counted apart).

    python bench/cited_check.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from verify_real import fulltext, load_papers, source  # noqa: E402

from papergist.sentences import split_sentences  # noqa: E402
from papergist.verify import Source  # noqa: E402
from papergist.verify.grounding import cited_keys  # noqa: E402
from papergist.verify.text import drop_references  # noqa: E402

MIN_WORDS = 10  # sentences shorter than this are headings, captions, table cells
PER_PAPER = 20  # sentences sampled from each paper
REWORDED, OTHERS = "one word replaced", "another paper's sentence"


def sentences_of(paper: dict) -> list[str]:
    """The paper's own sentences (abstract as served, full text when we have it, its
    references left out as the checker leaves them out)."""
    text = paper["abstract"] + "\n" + drop_references(fulltext(paper["arxiv_id"]) or "")
    return [s for s in split_sentences(text) if len(s.split()) >= MIN_WORDS
            and "|" not in s and "#" not in s]


def faithful(sentence: str) -> dict[str, str]:
    words = sentence.split()
    middle = len(words) // 2
    return {"whole sentence": sentence,
            "a clause of 8 words": " ".join(words[max(0, middle - 4):middle + 4]),
            "elided with ...": " ".join(words[:5]) + " ... " + " ".join(words[-5:]),
            "typographic quotes, spacing collapsed": "“" + " ".join(words) + "”"}


def reworded(sentence: str, other: str, rng: random.Random) -> str:
    words, strangers = sentence.split(), [w for w in other.split() if w.isalpha()
                                          and len(w) > 5 and w.lower() not in sentence.lower()]
    at = rng.choice([i for i, w in enumerate(words) if w.isalpha() and len(w) > 3] or [0])
    words[at] = rng.choice(strangers or ["teleportation"])
    return " ".join(words)


def found(source: Source, quote: str) -> bool:
    keys = cited_keys(quote)
    return bool(keys) and source.find_span(keys) is not None


def measure(per_paper: int = PER_PAPER, seed: int = 7) -> tuple[dict[str, list[int]], int, float]:
    """{kind of quote: [judged right, total]}, how many of another paper's sentences
    this paper also holds, and the seconds per lookup."""
    rng = random.Random(seed)
    papers = list(load_papers())
    counts: dict[str, list[int]] = {}
    shared = lookups = 0
    seconds = 0.0
    for n, paper in enumerate(papers):
        indexed = source(paper["arxiv_id"], True)
        own = sentences_of(paper)
        other = papers[(n + 1) % len(papers)]
        cases: list[tuple[str, str, bool]] = []
        for sentence in rng.sample(own, min(per_paper, len(own))):
            cases += [(kind, q, True) for kind, q in faithful(sentence).items()]
            cases.append((REWORDED, reworded(sentence, other["abstract"], rng), False))
        for sentence in split_sentences(other["abstract"]):
            if len(sentence.split()) < MIN_WORDS:
                continue
            if found(indexed, sentence):
                shared += 1  # the same sentence word for word in both papers: not an error
            else:
                cases.append((OTHERS, sentence, False))
        for kind, quote, expected in cases:
            start = time.perf_counter()
            hit = found(indexed, quote)
            seconds += time.perf_counter() - start
            lookups += 1
            tally = counts.setdefault(kind, [0, 0])
            tally[0] += hit == expected
            tally[1] += 1
    return counts, shared, seconds / lookups


def main() -> None:
    counts, shared, per_lookup = measure()
    papers = load_papers()
    with_text = sum(1 for p in papers if fulltext(p["arxiv_id"]))
    print(f"{len(papers)} papers ({with_text} with their full text), up to {PER_PAPER} "
          "sentences of each.\n")
    print("| quote | judged right |\n|---|---|")
    for kind, (right, total) in counts.items():
        what = "not found" if kind in (REWORDED, OTHERS) else "found"
        print(f"| {kind} ({what}) | {right}/{total} ({right / total:.1%}) |")
    print(f"\nSentences of another paper's abstract that this paper also holds word for word: "
          f"{shared}.\nMean time to look for one quote: {per_lookup * 1e6:.0f} µs "
          "(the sources indexed beforehand).")


if __name__ == "__main__":
    main()
