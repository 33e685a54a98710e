"""Sentence-level grounding: each sentence of a summary with the quote that backs it."""

from __future__ import annotations

import json

import pytest

from papergist.verify import verify
from papergist.verify.grounding import JOIN

TITLE = "Building and better understanding vision-language models: insights and future directions"
ABSTRACT = ("The field of vision-language models (VLMs), which take images and texts as inputs "
            "and output texts, is rapidly evolving. We introduce Idefics3-8B, a powerful VLM "
            "that significantly outperforms its predecessor Idefics2-8B, while being trained "
            "efficiently. We release the dataset Docmatix, 240 times larger than the previous "
            "one.")


def grounding(**sections: str):
    return verify(sections, TITLE, ABSTRACT).grounding


def test_a_sentence_joining_two_of_the_papers_is_backed_by_both():
    [g] = grounding(whats_new="The paper introduces Idefics3-8B, a vision-language model "
                              "that outperforms Idefics2-8B.")
    assert g.backed and g.share == 1.0
    assert g.quote == TITLE + JOIN + "We introduce Idefics3-8B, a powerful VLM that " \
        "significantly outperforms its predecessor Idefics2-8B, while being trained efficiently."


def test_a_paraphrase_is_backed_by_the_sentence_it_restates():
    [g] = grounding(whats_new="It releases Docmatix, a dataset 240 times larger.")
    assert g.backed and g.quote == "We release the dataset Docmatix, 240 times larger than " \
        "the previous one."


@pytest.mark.parametrize("sentence", ["The authors also invented teleportation.",
                                      "Quantum gravity explains everything here."])
def test_an_invented_sentence_has_no_quote(sentence):
    [g] = grounding(whats_new=sentence)
    assert (g.backed, g.quote) == (False, None)


def test_a_wrong_number_beside_a_right_quote_is_quoted_but_not_backed():
    [g] = grounding(whats_new="It releases Docmatix, a dataset 300 times larger.")
    assert not g.backed and g.quote and "Docmatix" in g.quote


def test_korean_is_backed_by_its_claims_or_left_unmatched():
    with_claims, without = grounding(whats_new="Docmatix는 240배 더 크다.",
                                     technical_details="이 모델은 매우 효율적으로 학습되었다.")
    assert with_claims.backed and "Docmatix" in with_claims.quote and with_claims.share == 1.0
    assert (without.backed, without.quote, without.share) == (False, None, None)


def test_every_sentence_of_every_section_is_there_in_order():
    found = grounding(whats_new="We release Docmatix. It is 240 times larger.",
                      technical_details="Idefics3-8B is a VLM.")
    assert [(g.section, g.sentence) for g in found] == [
        ("whats_new", "We release Docmatix."), ("whats_new", "It is 240 times larger."),
        ("technical_details", "Idefics3-8B is a VLM.")]


def test_the_json_and_the_papers_page_show_the_quotes(cli, llm, tmp_path):
    code, out, err = cli("digest", "2024-08-26", "--model", "fake-gpt", "-f", "json")
    assert code == 0, err
    paper = next(p for p in json.loads(out)["papers"] if p["id"] == "2408.12637")
    found = paper["verification"]["grounding"]
    assert found and {g["section"] for g in found} == {"whats_new", "technical_details",
                                                       "performance_highlights"}
    assert all(g["quote"] for g in found if g["backed"])
    assert cli("site", "public")[0] == 0
    page = (tmp_path / "public" / "2024/08/26/2408.12637.html").read_text(encoding="utf-8")
    backed = sum(g["backed"] for g in found)
    assert f"Where each sentence comes from: {backed} of {len(found)} backed" in page


def test_an_extractive_summary_is_its_own_quote(cli, tmp_path):
    code, out, _ = cli("digest", "2024-08-26", "-f", "json")
    found = [g for p in json.loads(out)["papers"] if p["verification"]
             for g in p["verification"]["grounding"]]
    assert found and all(g["backed"] and g["share"] == 1.0 for g in found)
    assert cli("site", "public")[0] == 0
    page = (tmp_path / "public" / "2024/08/26/2408.12637.html").read_text(encoding="utf-8")
    assert "Where each sentence comes from" not in page


def test_a_sentence_sharing_no_word_with_the_paper_makes_the_summary_unverified():
    """Measured: none of the 21 faithful hand-labelled summaries has such a sentence, 2 of
    the 3 unfaithful ones do (BENCHMARKS.md (d))."""
    faithful = "We release Docmatix, 240 times larger, with Idefics3-8B."
    assert verify({"whats_new": faithful}, TITLE, ABSTRACT).status == "verified"
    invented = faithful + " The authors also invented teleportation."
    verdict = verify({"whats_new": invented}, TITLE, ABSTRACT)
    assert verdict.status == "unverified"
    assert verdict.unsupported == ("The authors also invented teleportation.",)


def test_a_korean_sentence_without_claims_is_not_held_against_the_summary():
    verdict = verify({"whats_new": "Docmatix는 240배 더 크다. 이 모델은 매우 효율적이다."},
                     TITLE, ABSTRACT)
    assert verdict.status == "verified" and verdict.unsupported == ()
