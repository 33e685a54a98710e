"""The token budget: estimates, and what of a real paper's text is sent to a model."""

from __future__ import annotations

import re

import pytest

from fakes import HTML_2508, PDF_ATTENTION, PDF_RESNET, shared_bytes
from papergist.models import PaperText, TextSection
from papergist.sources.fulltext import parse_html, parse_pdf
from papergist.summarize.budget import estimate_tokens, select_text

BUDGETS = (200, 500, 2000, 5000, 12000)


@pytest.fixture(scope="module")
def texts() -> dict[str, PaperText]:
    return {
        "html": parse_html(shared_bytes(HTML_2508), "2508.08468", "v6"),
        "resnet": parse_pdf(shared_bytes(PDF_RESNET), "1512.03385", "v1"),
        "attention": parse_pdf(shared_bytes(PDF_ATTENTION), "1706.03762", "v7"),
    }


def headings(selected: str) -> list[str]:
    return [line[3:] for line in selected.split("\n") if line.startswith("## ")]


def bodies(selected: str) -> dict[str, str]:
    parts = re.split(r"(?:^|\n\n)## (.*)\n\n", selected)
    return dict(zip(parts[1::2], parts[2::2]))


# --- estimates ------------------------------------------------------------------------


@pytest.mark.parametrize("text, tokens", [
    ("", 0), ("a", 1), ("abcd", 1), ("abcde", 2), ("x" * 400, 100),
    ("한국어", 3), ("日本語です", 5), ("中文", 2), ("ｶﾀｶﾅ", 4),
    ("αβγδ", 2), ("abc한", 2), ("the model 모델", 5),
])
def test_estimate_tokens(text, tokens):
    assert estimate_tokens(text) == tokens


def test_estimate_errs_high_on_real_text(texts):
    abstract = texts["attention"].sections[0].text
    assert estimate_tokens(abstract) >= len(abstract.split())  # more tokens than words


# --- selection ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["html", "resnet", "attention"])
@pytest.mark.parametrize("budget", BUDGETS)
def test_within_budget_in_paper_order(texts, name, budget):
    text = texts[name]
    selected = select_text(text, budget)
    assert 0 < estimate_tokens(selected) <= budget
    order = [s.title for s in text.sections]
    chosen = headings(selected)
    assert chosen[0] == "Abstract"
    assert [order.index(t) for t in chosen] == sorted(order.index(t) for t in chosen)
    assert select_text(text, budget) == selected  # deterministic


@pytest.mark.parametrize("name", ["html", "resnet", "attention"])
@pytest.mark.parametrize("budget", BUDGETS)
def test_cuts_only_at_sentence_or_word_ends(texts, name, budget):
    sections = {s.title: s.text for s in texts[name].sections}
    for title, body in bodies(select_text(texts[name], budget)).items():
        source = sections[title]
        for block in body.split("\n\n"):
            kept = block.removesuffix(" …")
            at = source.find(kept)
            assert at >= 0, (title, block[:80])
            end = at + len(kept)
            assert end == len(source) or not source[end].isalnum(), (title, kept[-40:])


def test_a_large_budget_keeps_everything(texts):
    for text in texts.values():
        selected = select_text(text, 100_000)
        assert headings(selected) == [s.title for s in text.sections]
        assert bodies(selected) == {s.title: s.text for s in text.sections}


def test_12000_keeps_the_whole_html_paper(texts):
    assert headings(select_text(texts["html"], 12000)) == [s.title for s in texts["html"].sections]


def test_related_work_only_if_room_remains(texts):
    selected = select_text(texts["resnet"], 5000)
    assert headings(selected) == ["Abstract", "1. Introduction", "3. Deep Residual Learning",
                                  "4. Experiments"]
    assert "## 2 Background" not in select_text(texts["attention"], 5000)
    assert "2 Background" in headings(select_text(texts["attention"], 9000))


def test_abstract_and_conclusion_kept_whole_when_possible(texts):
    text = texts["attention"]
    whole = {s.title: s.text for s in text.sections}
    for budget in (2000, 5000):
        chosen = bodies(select_text(text, budget))
        assert chosen["Abstract"] == whole["Abstract"]
        assert chosen["7 Conclusion"] == whole["7 Conclusion"]
        assert len(chosen["3 Model Architecture"]) < len(whole["3 Model Architecture"])


def test_the_largest_parts_shrink_first(texts):
    text = texts["html"]
    whole = {s.title: s.text for s in text.sections}
    chosen = bodies(select_text(text, 5000))
    results = "V Experimental Results"
    assert len(chosen[results]) < len(whole[results])
    assert chosen["III Problem Formulation: Audio–Visual Speech Enhancement"] == \
        whole["III Problem Formulation: Audio–Visual Speech Enhancement"]


def test_results_keep_their_tables(texts):
    chosen = bodies(select_text(texts["html"], 5000))["V Experimental Results"]
    assert "1A | Low-bandwidth | 3 | 160 \\times 120 | 60 | 20 | Very low" in chosen


def test_tiny_budgets_keep_the_abstract_first(texts):
    for text in texts.values():
        for budget in (20, 50, 120):
            selected = select_text(text, budget)
            assert headings(selected)[0] == "Abstract"
            assert estimate_tokens(selected) <= budget
    assert select_text(texts["html"], 1) == ""


def test_abstract_only():
    text = PaperText(paper_id="2401.00001", origin="abstract", sections=(
        TextSection(title="Abstract", text="We propose XNet. It works well. 모델은 빠르다."),))
    assert select_text(text, 1000) == "## Abstract\n\nWe propose XNet. It works well. 모델은 빠르다."
    assert select_text(text, 8) == "## Abstract\n\nWe propose XNet."


def test_without_abstract_and_with_untitled_text():
    text = PaperText(paper_id="2401.00001", origin="html", sections=(
        TextSection(title="", text="A letter without sections."),
        TextSection(title="Acknowledgements", text="Thanks."),
        TextSection(title="References", text="[1] Someone. 2020."),
    ))
    assert select_text(text, 1000) == "A letter without sections.\n\n## Acknowledgements\n\nThanks."
    assert select_text(PaperText(paper_id="x", origin="html", sections=()), 100) == ""
