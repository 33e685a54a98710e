"""The checker on real summaries (issue 4): the measured targets, so they cannot regress.

Same measurements as `bench/verify_real.py` (which prints them for BENCHMARKS.md):
(a) hand-labelled summaries against their full text, (b) every summary against
its abstract, (c) corrupted copies of real summaries.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import verify_real as real  # noqa: E402
from fakes import shared  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _other_projects_summaries() -> None:
    """Every test here reads the real summaries and full texts of ../shared/fixtures."""
    shared("ko_summaries.json")
    shared("fulltext")


@pytest.fixture(scope="module")
def labelled() -> list[real.Row]:
    return real.measure_labelled()


def test_labels_cover_every_summary_with_a_full_text():
    expected = {(p["arxiv_id"], s["source"]["repo"]) for p in real.load_papers()
                if real.fulltext(p["arxiv_id"]) is not None for s in p["summaries"]}
    labels = real.load_labels()
    assert {(x["id"], x["repo"]) for x in labels} == expected
    assert len(labels) == len(expected) == 24
    assert all(x["label"] in ("faithful", "unfaithful") and x["reason"] for x in labels)


def test_a_every_unfaithful_summary_is_flagged(labelled):
    flagged, total = real.rates(labelled)["unfaithful"]
    assert total >= 3 and flagged == total


def test_a_at_most_one_in_ten_faithful_summaries_is_flagged(labelled):
    flagged, total = real.rates(labelled)["faithful"]
    assert flagged <= total / 10, [(r.paper_id, r.repo, r.unsupported) for r in labelled
                                   if r.label == "faithful" and r.status == "unverified"]


def test_a_flags_name_what_is_wrong(labelled):
    rows = {(r.paper_id, r.repo.split("/")[0]): r for r in labelled}
    assert rows["2408.11857", "l-yohai"].generic  # invented: a medical-imaging model
    assert rows["2408.10701", "l-yohai"].generic  # invented: a Transformer architecture
    assert set(rows["2408.12570", "l-yohai"].unsupported) == {"9999", "88"}  # doubled digits


def test_b_abstract_only_flags_facts_from_the_paper_body():
    rows = real.measure_abstract()
    assert len(rows) == 139
    flagged = {(r.paper_id, r.repo) for r in rows if r.status == "unverified"}
    verified_in_full = {(r.paper_id, r.repo) for r in real.measure_labelled()
                        if r.status == "verified"}
    # No threshold (summaries written from the PDF state what the abstract lacks),
    # but the full text must clear most of those the abstract alone cannot.
    assert len(flagged & verified_in_full) >= 10


@pytest.mark.parametrize("kind", list(real.CORRUPTIONS))
def test_c_corrupted_copies_are_flagged(kind):
    copies = real.CORRUPTIONS[kind]()
    assert len(copies) >= 50
    missed = [(paper_id, note) for paper_id, sections, note in copies
              if real.check(sections, real.best_source(paper_id)).status == "verified"]
    assert len(missed) <= 0.05 * len(copies), missed[:3]


def test_sentences_of_faithful_summaries_are_backed_by_quotes():
    """(d) Measured: of the hand-labelled faithful summaries' sentences 74.8% are backed
    by a quote and 1.3% quoted without being backed; of the unfaithful ones' 50.0% and
    14.3%. The rest (Korean sentences naming no name and no number) cannot be matched."""
    found = real.measure_grounding()
    faithful, unfaithful = found["faithful"], found["unfaithful"]
    assert faithful["backed"] >= 0.70 * sum(faithful.values())
    assert faithful["quoted"] <= 0.05 * sum(faithful.values())
    assert unfaithful["quoted"] >= 0.10 * sum(unfaithful.values())


def test_a_sentence_with_no_word_of_the_paper_flags_no_faithful_summary(labelled):
    """The rule that such a sentence is an unsupported claim leaves (a) as it was."""
    faithful = [r for r in labelled if r.label == "faithful"]
    assert all(not any(u.endswith(".") and " " in u for u in r.unsupported) for r in faithful)


def test_quotes_copied_from_the_papers_are_found_and_miscopied_ones_are_not():
    """bench/cited_check.py, 5 sentences of each paper: every faithful copy (whole,
    clause, elided, in typographic quotes) found; no altered or foreign one."""
    import cited_check
    counts, _, _ = cited_check.measure(per_paper=5)
    assert set(counts) == {"whole sentence", "a clause of 8 words", "elided with ...",
                           "typographic quotes, spacing collapsed", cited_check.REWORDED,
                           cited_check.OTHERS}
    assert all(right == total > 0 for right, total in counts.values()), counts
