"""The offline (extractive) summarizer: it only ever quotes the abstract."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import HF_FIXTURES, shared
from papergist.errors import SummarizeError, UsageError
from papergist.models import SECTION_KEYS, Paper
from papergist.sentences import split_sentences
from papergist.summarize.offline import (
    OfflineSummarizer,
    choose_sentences,
    normalize_abstract,
)

HF_DAYS = sorted(HF_FIXTURES.glob("*.json"))


def _hf_papers() -> list[Paper]:
    papers = []
    for path in HF_DAYS:
        for entry in json.loads(path.read_text(encoding="utf-8")):
            p = entry["paper"]
            papers.append(Paper(
                id=p["id"],
                title=" ".join(p["title"].split()),
                abstract=p["summary"],
                authors=tuple(a["name"] for a in p["authors"]),
            ))
    return papers


def _ko_papers() -> list[Paper]:
    rows = json.loads(shared("ko_summaries.json").read_text(encoding="utf-8"))
    return [Paper(id=r["arxiv_id"], title=" ".join(r["title"].split()), abstract=r["abstract"],
                  authors=tuple(r["authors"])) for r in rows]


HF_PAPERS = _hf_papers()
# The 73 papers of ko_summaries.json are all in the HF days, field for field
# (test_the_papers_of_the_korean_summaries_are_all_in_the_hf_days): the HF days cover them.
ALL_PAPERS = HF_PAPERS
BY_ID = {p.id: p for p in ALL_PAPERS}
SUMMARIZER = OfflineSummarizer()


def _summary(paper_id: str):
    return SUMMARIZER.summarize(BY_ID[paper_id], "en")


def _as_abstract_sentences(section: str, sentences: list[str]) -> list[int]:
    """Indices of the abstract sentences whose single-space join is `section`, or fail."""
    def match(rest: str, start: int) -> list[int] | None:
        for i in range(start, len(sentences)):
            sentence = sentences[i]
            if rest == sentence:
                return [i]
            if rest.startswith(sentence + " "):
                tail = match(rest[len(sentence) + 1:], i + 1)
                if tail is not None:
                    return [i, *tail]
        return None

    indices = match(section, 0)
    assert indices, f"not whole abstract sentences in order: {section!r}"
    return indices


# -- the guarantee: every section of every real paper is quoted from its abstract --

def test_fixtures_are_all_there():
    assert len(HF_DAYS) >= 10
    assert len(HF_PAPERS) > 150


def test_the_papers_of_the_korean_summaries_are_all_in_the_hf_days():
    ko_papers = _ko_papers()
    assert len(ko_papers) == 73
    assert [p for p in ko_papers if BY_ID.get(p.id) != p] == []


@pytest.mark.parametrize("paper", ALL_PAPERS, ids=lambda p: p.id)
def test_every_real_paper_verifies(paper: Paper):
    summary = SUMMARIZER.summarize(paper, "en")
    abstract = normalize_abstract(paper.abstract)
    sentences = split_sentences(abstract)
    picked: list[list[int]] = []
    for key in SECTION_KEYS:
        text = getattr(summary.sections, key)
        assert text.strip(), f"{key} is empty"
        # Independently of how the abstract was split: each quoted sentence is in it.
        for sentence in split_sentences(text):
            assert sentence in abstract, f"{key}: {sentence!r} is not in the abstract"
        indices = _as_abstract_sentences(text, sentences)
        assert indices == sorted(indices)
        assert len(indices) == 1 or len(text) <= 400, f"{key} too long: {len(text)}"
        assert len(indices) <= 2
        picked.append(indices)
    flat = [i for indices in picked for i in indices]
    if len(sentences) >= 3:
        assert len(flat) == len(set(flat)), f"sentence reused across sections: {picked}"


@pytest.mark.parametrize("paper", ALL_PAPERS, ids=lambda p: p.id)
def test_summary_fields(paper: Paper):
    summary = SUMMARIZER.summarize(paper, "en")
    assert summary.paper_id == paper.id
    assert summary.summarizer == "extractive" and summary.extractive
    assert summary.model == "extractive"
    assert summary.language == "en"
    assert summary.prompt_version == "extractive-1"
    assert summary.source == "abstract"
    expected = hashlib.sha256(normalize_abstract(paper.abstract).encode("utf-8")).hexdigest()
    assert summary.source_hash == expected


def test_deterministic():
    first = [SUMMARIZER.summarize(p, "en") for p in ALL_PAPERS]
    second = [OfflineSummarizer().summarize(p, "en") for p in ALL_PAPERS]
    assert first == second


def test_link_sentences_are_not_quoted_when_there_is_better():
    for paper in ALL_PAPERS:
        sentences = split_sentences(normalize_abstract(paper.abstract))
        if len(sentences) >= 6:
            summary = SUMMARIZER.summarize(paper, "en")
            for key in SECTION_KEYS:
                assert "https://" not in getattr(summary.sections, key), (paper.id, key)


# -- cue-based choice on real abstracts --

def test_performance_quotes_the_numbers():
    perf = _summary("2408.13010").sections.performance_highlights  # Federated learning web app
    assert "reducing transferred bytes by up to 64% and CPU time by up to 46%" in perf
    perf = _summary("2408.12569").sections.performance_highlights  # Sapiens
    assert "Humans-5K (pose) by 7.6 mAP" in perf
    perf = _summary("2408.10945").sections.performance_highlights  # HiRED
    assert perf.startswith("Empirically, when applied to LLaVA-Next-7B")


def test_performance_quotes_experiments_show():
    perf = _summary("2408.12885").sections.performance_highlights  # T3M
    assert perf == ("The experiment results demonstrate that T3M can greatly outperform the "
                    "state-of-the-art methods in both quantitative metrics and qualitative "
                    "evaluations.")


def test_whats_new_quotes_the_proposal():
    new = _summary("2408.13239").sections.whats_new  # CustomCrafter
    assert new.startswith("In this paper, we propose CustomCrafter, a novel framework")
    assert _summary("2408.13257").sections.whats_new == (
        "To tackle these issues, we introduce MME-RealWorld.")
    new = _summary("2408.12570").sections.whats_new  # Jamba-1.5: the title's model, not a part
    assert new.startswith("We present Jamba-1.5, new instruction-tuned")


def test_technical_details_quote_the_method_not_the_background():
    tech = _summary("2408.12857").sections.technical_details  # Online Subspace Descent
    assert "updates the projection matrix with online PCA" in tech
    tech = _summary("2408.13257").sections.technical_details  # MME-RealWorld
    assert tech.startswith("Specifically, we collect more than 300K images")
    for paper_id in ("2408.10945", "2408.12894", "2408.12885"):  # first sentence is background
        first = split_sentences(normalize_abstract(BY_ID[paper_id].abstract))[0]
        assert first not in _summary(paper_id).sections.technical_details


def test_outlook_sentence_is_not_a_detail():
    tech = _summary("2408.13233").sections.technical_details
    assert "we hope" not in tech
    assert "almost linear time" in tech


# -- short and missing abstracts --

def _paper(abstract: str, title: str = "A Paper") -> Paper:
    return Paper(id="2408.00001", title=title, abstract=abstract, authors=("A. Author",))


def test_one_sentence_abstract_fills_every_section():
    summary = SUMMARIZER.summarize(_paper("We propose X, which outperforms Y by 3%."), "en")
    for key in SECTION_KEYS:
        assert getattr(summary.sections, key) == "We propose X, which outperforms Y by 3%."


def test_two_sentence_abstract_reuses_but_chooses():
    abstract = ("We introduce a novel tokenizer for speech.\n"
                "Experiments show it outperforms the baseline by 12%.")
    sections = SUMMARIZER.summarize(_paper(abstract), "en").sections
    assert sections.whats_new == "We introduce a novel tokenizer for speech."
    assert sections.performance_highlights == "Experiments show it outperforms the baseline by 12%."
    assert sections.technical_details in split_sentences(normalize_abstract(abstract))


@pytest.mark.parametrize("abstract", ["", "   ", "\n\n  \n"])
def test_empty_abstract_is_an_error(abstract: str):
    with pytest.raises(SummarizeError, match="no abstract to summarize from"):
        SUMMARIZER.summarize(_paper(abstract), "en")


def test_choose_sentences_refuses_nothing():
    with pytest.raises(SummarizeError):
        choose_sentences([])


# -- language --

@pytest.mark.parametrize("language", ["en", "EN", "en-US", "en_GB", "en-gb"])
def test_english_is_accepted(language: str):
    SUMMARIZER.check_language(language)
    assert SUMMARIZER.summarize(_paper("We propose X."), language).language == "en"


@pytest.mark.parametrize("language", ["ko", "ko-KR", "fr", "de", "zh-Hans", "", "eng", "english"])
def test_other_languages_need_a_model(language: str):
    with pytest.raises(UsageError) as info:
        SUMMARIZER.check_language(language)
    message = str(info.value)
    assert "\n" not in message
    assert "English" in message and "--model" in message and "model" in message


def test_summarize_checks_the_language_too():
    with pytest.raises(UsageError):
        SUMMARIZER.summarize(_paper("We propose X."), "ko")


# -- normalisation --

def test_normalize_joins_hard_wraps_and_keeps_paragraphs():
    text = "  First line\nwraps here.   Next\nsentence.\n\nSecond   paragraph.\n"
    assert normalize_abstract(text) == "First line wraps here. Next sentence.\n\nSecond paragraph."


def test_paragraph_break_ends_a_sentence():
    assert split_sentences("Ends without a stop\n\nnew paragraph here.") == [
        "Ends without a stop", "new paragraph here."]


# -- the sentence splitter --

@pytest.mark.parametrize("text, expected", [
    ("We test it. It works.", ["We test it.", "It works."]),
    ("Does it work? Yes! It does.", ["Does it work?", "Yes!", "It does."]),
    ("Models (e.g. GPT-4) fail. We fix that.", ["Models (e.g. GPT-4) fail.", "We fix that."]),
    ("Use tools, e.g. Python and Rust. Then stop.",
     ["Use tools, e.g. Python and Rust.", "Then stop."]),
    ("Some tasks, i.e. QA, are hard. We help.", ["Some tasks, i.e. QA, are hard.", "We help."]),
    ("As shown by Smith et al. (2023), it fails. We fix it.",
     ["As shown by Smith et al. (2023), it fails.", "We fix it."]),
    ("Smith et al. Showed this. We agree.", ["Smith et al. Showed this.", "We agree."]),
    ("GPT-4 vs. Claude is close. We compare.", ["GPT-4 vs. Claude is close.", "We compare."]),
    ("See Fig. 3 and Eq. 2 for details. Done.", ["See Fig. 3 and Eq. 2 for details.", "Done."]),
    ("Accuracy rose by 3.5 points to 91.2%. Cost fell.",
     ["Accuracy rose by 3.5 points to 91.2%.", "Cost fell."]),
    ("We use Llama 3.1 and Qwen2.5. It helps.", ["We use Llama 3.1 and Qwen2.5.", "It helps."]),
    ("Inspired by James P. Carse, we play. It is fun.",
     ["Inspired by James P. Carse, we play.", "It is fun."]),
    ("Code: https://github.com/a/b.c and https://x.io/y. Next one.",
     ["Code: https://github.com/a/b.c and https://x.io/y.", "Next one."]),
    ("Tasks (translation, QA, ... Summaries) are hard. Next.",
     ["Tasks (translation, QA, ... Summaries) are hard.", "Next."]),
    ("It ends here. 3D scenes are next.", ["It ends here.", "3D scenes are next."]),
    ('It ends. "Quoted" starts.', ["It ends.", '"Quoted" starts.']),
    ("It ends. (Parenthetical) starts.", ["It ends.", "(Parenthetical) starts."]),
    ("We build it. xGen-MM is the name.", ["We build it.", "xGen-MM is the name."]),
    ("Costs are high.We fix that.", ["Costs are high.", "We fix that."]),
    ("Smith et al.Then more.", ["Smith et al.Then more."]),
    ("lower case after. stays together.", ["lower case after. stays together."]),
    ("Dr.LLM routes layers. It is fast.", ["Dr.LLM routes layers.", "It is fast."]),
    ("Shadows, reflections, etc.) remain. We fix them.",
     ["Shadows, reflections, etc.) remain.", "We fix them."]),
    ("Tested in the U.S. Army labs. Fine.", ["Tested in the U.S. Army labs.", "Fine."]),
    ("Online Demo: https://x.co/SAM2Point . Code: https://y.io/z",
     ["Online Demo: https://x.co/SAM2Point .", "Code: https://y.io/z"]),
    ("No terminal stop", ["No terminal stop"]),
    ("", []),
])
def test_split_sentences(text: str, expected: list[str]):
    assert split_sentences(text) == expected


def test_split_real_abstract():
    sentences = split_sentences(normalize_abstract(BY_ID["2408.10701"].abstract))
    joined = " ".join(sentences)
    assert "transferable i.e. effective on other" in joined  # "i.e." kept inside
    assert joined == normalize_abstract(BY_ID["2408.10701"].abstract)


def _in_order(sentences: list[str], text: str) -> bool:
    """True when the sentences cover `text` in order, nothing but whitespace between."""
    position = 0
    for sentence in sentences:
        found = text.find(sentence, position)
        if found < 0 or text[position:found].strip():
            return False
        position = found + len(sentence)
    return not text[position:].strip()


@pytest.mark.parametrize("paper", ALL_PAPERS, ids=lambda p: p.id)
def test_splitting_loses_nothing(paper: Paper):
    abstract = normalize_abstract(paper.abstract)
    assert _in_order(split_sentences(abstract), abstract)


def test_missing_space_after_a_stop_still_splits():
    text = normalize_abstract(BY_ID["2510.12276"].abstract)
    sentences = split_sentences(text)
    assert any(s.startswith("We propose Spatial Forcing (SF)") for s in sentences)
    assert any(s.endswith("performance of depth estimators.") for s in sentences)
    assert split_sentences("See x.com/Foo and Dr.LLM now. Done.") == [
        "See x.com/Foo and Dr.LLM now.", "Done."]


_WORD = st.text(alphabet="abcXYZ019.,!?()\"' ", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORD, min_size=1, max_size=40))
def test_split_and_summarize_never_invent(words: list[str]):
    text = normalize_abstract(" ".join(words))
    sentences = split_sentences(text)
    assert _in_order(sentences, text)
    if text:
        summary = SUMMARIZER.summarize(_paper(text), "en")
        for key in SECTION_KEYS:
            section = getattr(summary.sections, key)
            assert section and _as_abstract_sentences(section, sentences)
