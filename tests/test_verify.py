"""Claim extraction and support checking (papergist.verify), on hand-made text.

Korean, Japanese, Chinese and English: numbers with their units and forms, Latin
names inside any script, normalisation, evidence sentences, generic summaries.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from papergist.models import Verdict
from papergist.verify import Source, check, extract_claims, verify
from papergist.verify.claims import is_acronym
from papergist.sentences import split_sentences
from papergist.verify.text import drop_references, fold, squash


def numbers(text: str) -> list[str]:
    return [c.key for c in extract_claims(text) if c.kind == "number"]


def names(text: str) -> list[str]:
    return [c.text for c in extract_claims(text) if c.kind == "name"]


# --- numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    ("속도가 16.3× 빨라졌다", "16.3x"),
    ("속도가 16.3배 빨라졌다", "16.3x"),
    ("a 16.3 times speed-up", "16.3x"),
    ("a 16.3x speed-up", "16.3x"),
    ("速度は16.3倍になった", "16.3x"),
    ("速度提高了16.3倍", "16.3x"),
    ("정확도 2.00% 향상", "2%"),
    ("精度が2.0パーセント向上", "2%"),
    ("latency of 0.0780 s", "0.078s"),
    ("편집당 0.5초", "0.5s"),
    ("推理耗时500毫秒", "0.5s"),
    ("8B 모델", "8000000000"),
    ("1,024개의 GPU", "1024"),
    ("13.7점 향상", "13.7pt"),
    ("13.7点の向上", "13.7pt"),
    ("提升了13.7分", "13.7pt"),
    ("2.4백만 장의 이미지", "2400000"),
    ("2.4百万枚の画像", "2400000"),
    ("1.5万条数据", "15000"),
    ("3亿参数", "300000000"),
    ("3억 개", "300000000"),
    ("1만3366장", "13366"),
    ("2.3%p 개선", "2.3pp"),
    ("80GB GPU", "80GB"),
    ("1:7 비율", "1:7"),
    ("1/16 스케일", "1/16"),
    ("512x384 해상도", "512x384"),
    ("1024 × 1024 images", "1024x1024"),
])
def test_number_forms(text, key):
    assert numbers(text) == [key]


@pytest.mark.parametrize("text, key", [
    ("10x-70x 빠르다", "10-70x"),
    ("10배에서 70배", "10-70x"),
    ("30-50번의 NFE", "30-50"),
    ("60M부터 1B 파라미터", "60000000-1000000000"),
    ("models from 60M to 7B parameters", "60000000-7000000000"),
    ("from 0.3 to 2 billion", "300000000-2000000000"),
])
def test_ranges_share_their_unit(text, key):
    assert numbers(text) == [key]


@pytest.mark.parametrize("text", [
    "1) 백본 2) 정제 모듈",              # list markers
    "두 가지 전략과 세 가지 데이터셋",     # spelled out
    "two strategies and three datasets",
    "8개의 레이어와 top 2 전문가",          # small counts
    "2024년에 발표된 연구",                 # a year
    "In 2023, models improved",
    "Table 2 and Figure 3 show it",        # references
    "표 2와 그림 3 참조",
    "GPT-4와 SAM2, C4, 3D 장면",             # digits inside names
    "released 2024-08-26",                  # a date
    "3.2절과 第3章, 제2장, 2번째 실험",        # sections and ordinals
])
def test_not_number_claims(text):
    assert numbers(text) == []


def test_equivalent_forms_share_a_key():
    keys = {numbers(t)[0] for t in ("2.4백만", "2.4M", "2,400,000", "2.4 million", "2.4百万")}
    assert keys == {"2400000"}
    assert numbers("2.0%") == numbers("2.00%") == numbers("2%")
    claim = extract_claims("1.2배")[0]
    assert claim.values == (Decimal("1.2"),) and claim.unit == "x"


# --- names --------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("LLaMA-3-70B는 GSM8K와 FID-30K에서 평가되었다", ["LLaMA-3-70B", "GSM8K", "FID-30K"]),
    ("Idefics3-8B는 DocVQA에서 13.7점 높다", ["Idefics3-8B", "DocVQA"]),
    ("NeuFlow v2는 Jetson Orin Nano에서 동작한다", ["NeuFlow v2", "Jetson Orin Nano"]),
    ("Hermes 3와 Llama 3.1을 비교", ["Hermes 3", "Llama 3.1"]),
    ("Tanks and Temples 데이터셋", ["Tanks and Temples"]),
    ("本手法はGSM8KとMMLUで評価した", ["GSM8K", "MMLU"]),
    ("该方法在ImageNet-1K上超过了ViT-B", ["ImageNet-1K", "ViT-B"]),
])
def test_latin_names_inside_any_script(text, expected):
    assert names(text) == expected


def test_lowercase_glosses_are_not_claims():
    text = "교차 주의(cross-attention)와 지식 증류(distillation)를 사용하고 prompt를 조정한다"
    assert extract_claims(text) == []


def test_english_sentence_initial_words_are_not_names():
    text = ("Moreover, the model is fast. Notably, Ferret beats Rainbow Teaming. "
            "Training uses LoRA. Ferret is open.")
    assert names(text) == ["Ferret", "Rainbow Teaming", "LoRA"]
    assert names("The GSM8K scores rise. Large Language Models (LLMs) help.") == [
        "GSM8K", "Large Language Models", "LLMs"]


def test_acronym_and_expansion_are_alternatives():
    claims = {c.text: c for c in extract_claims(
        "Online Subspace Descent (OSD)와 FVD(Frechet Video Distance), 프루닝(Efficient Frame "
        "Pruning, EFP), ConvNet(CNN)")}
    assert claims["OSD"].alts == ("onlinesubspacedescent",)
    assert claims["Frechet Video Distance"].alts == ("fvd",)
    assert claims["EFP"].alts == ("efficientframepruning",)
    assert claims["CNN"].alts == ()  # not an acronym of ConvNet
    assert is_acronym("MoE", "Mixture-of-Experts") and not is_acronym("LibriSpeech", "Large Scale")


def test_name_keys_ignore_case_hyphens_spaces_plurals_accents():
    assert squash("SurgSAM-2") == squash("SurgSAM2") == squash("surgsam 2")
    assert squash("LLMs") == squash("LLM")
    assert squash("Fréchet Video Distances") == squash("Frechet video distance")
    assert squash("NeuFlow_v2") == squash("NeuFlow v2")


# --- text helpers -------------------------------------------------------------------

def test_fold_and_sentences():
    assert fold("Ｘ２ – “95\\%” Fréchet") == 'X2 - "95%" Frechet'
    assert split_sentences("We use e.g. LoRA. It works.\nNext line. 한국어 문장입니다. 다음.") == [
        "We use e.g. LoRA.", "It works.", "Next line.", "한국어 문장입니다.", "다음."]


def test_drop_references_keeps_appendix():
    text = "Body 95%.\n\n### References\n[1] GSM8K paper.\n\n### A Experiments\nMore 42%."
    kept = drop_references(text)
    assert "GSM8K" not in kept and "Body" in kept and "More 42%" in kept


# --- support ------------------------------------------------------------------------

TITLE = "Ferret: Faster Red Teaming with Reward-Based Scoring"
ABSTRACT = """We propose Ferret, a novel approach that builds upon Rainbow Teaming.
Our results demonstrate that Ferret improves the overall attack success rate (ASR)
to 95%, which is 46% higher than Rainbow Teaming, and is 3 times faster."""
FULLTEXT = """## 1 Introduction
Ferret uses Llama Guard as a scoring function. The archive holds 2.4M prompts.
Training took 0.5 seconds per step on 8 80GB GPUs, a 16.30x speed-up.

### References
[1] Anonymous. GSM8K: grade school math. 2021.
"""


@pytest.fixture(scope="module")
def source() -> Source:
    return Source.build(TITLE, ABSTRACT, FULLTEXT)


@pytest.mark.parametrize("text", [
    "Ferret는 ASR을 95%로 높였고 Rainbow Teaming보다 46% 높습니다.",
    "Ferret은 3배 빠르며 2.4백만 개의 프롬프트를 사용합니다.",          # 3 times, 2.4M
    "Ferret의 속도 향상은 16.3배이고 스텝당 0.5초입니다.",              # 16.30x, 0.5 seconds
    "Ferret은 Llama Guard를 점수 함수(scoring function)로 씁니다.",
    "Ferret是在Rainbow Teaming基础上提出的，速度提高了3倍。",
    "FerretはRainbow Teamingより46%高い攻撃成功率を達成した。",
    "Ferret uses Llama Guard and reaches a 95% ASR.",
    "Ferret runs on 8 80GB GPUs with 2,400,000 prompts.",
])
def test_supported_summaries_verify(source, text):
    verdict = check({"summary": text}, source)
    assert verdict.status == "verified", verdict.unsupported
    assert not verdict.generic and verdict.checked == len(verdict.evidence)


@pytest.mark.parametrize("text, unsupported", [
    ("Ferret은 ASR을 97%로 높였습니다.", ("97%",)),                       # number changed
    ("Ferret은 4배 빠릅니다.", ("4배",)),
    ("Ferret은 GSM8K에서 평가되었습니다.", ("GSM8K",)),                    # only in references
    ("Ferret은 HellaSwag와 MMLU를 씁니다.", ("HellaSwag", "MMLU")),
    ("Ferret은 2.5백만 개의 프롬프트를 사용합니다.", ("2.5백만",)),
])
def test_unsupported_claims_are_listed(source, text, unsupported):
    verdict = check({"summary": text}, source)
    assert verdict.status == "unverified" and verdict.unsupported == unsupported


def test_evidence_is_the_source_sentence(source):
    verdict = check({"a": "Ferret은 ASR 95%", "b": "Llama Guard, 0.5초"}, source)
    evidence = {e.claim: e.sentence for e in verdict.evidence}
    assert evidence["95%"].startswith("Our results demonstrate that Ferret improves")
    assert evidence["Llama Guard"] == "Ferret uses Llama Guard as a scoring function."
    assert evidence["0.5초"].startswith("Training took 0.5 seconds")
    assert evidence["Ferret"] == TITLE


@pytest.mark.parametrize("text, status", [
    ("이 논문은 새로운 딥러닝 모델을 제안하며 기존 방법보다 우수합니다.", "unchecked"),
    ("제안된 모델은 Transformer 아키텍처와 Self-Attention을 사용하여 LLM 성능을 높입니다.",
     "unverified"),
    ("This paper proposes a novel approach that outperforms existing methods.", "unchecked"),
    ("本文提出了一种基于Transformer的新方法。", "unverified"),
])
def test_generic_summaries_are_never_verified(source, text, status):
    verdict = check({"summary": text}, source)
    assert verdict.generic and verdict.status == status


def test_a_distinctive_term_is_enough_not_to_be_generic(source):
    verdict = check({"summary": "자동화된 레드 팀(red teaming) 방법으로 적대적 프롬프트를 고릅니다."},
                    source)
    assert not verdict.generic and not verdict.off_topic  # a title pair
    assert verdict.status == "unchecked" and verdict.checked == 0  # but no claim to check


def test_parenthesised_expansion_supports_acronym():
    src = Source.build("Memory-Efficient Training", "We propose Online Subspace Descent, "
                       "a new optimizer, and report its state-of-the-art results.")
    verdict = check({"s": "Online Subspace Descent (OSD)는 새 옵티마이저입니다. OSD는 SOTA입니다."}, src)
    assert verdict.status == "verified", verdict.unsupported


def test_numbers_only_in_tables_or_citations_do_not_support_counts():
    src = Source.build("X", "We propose X.", "Results [23] are good.\n"
                       "Acc 1.2 3.4 5 17 23 99 Speed 7 8 9\n15")
    assert check({"s": "X는 23개의 작업을 다룹니다"}, src).unsupported == ("23",)
    assert check({"s": "X는 15개의 작업을 다룹니다"}, src).unsupported == ("15",)
    assert check({"s": "X의 점수는 3.4입니다"}, src).unsupported == ()


def test_rounding_to_fewer_decimals_is_supported():
    src = Source.build("XNet", "XNet improves accuracy by 15.17% and speed by 2.0x.")
    assert check({"s": "XNet은 정확도가 15.2% 높고 속도가 2배 빠릅니다"}, src).status == "verified"
    assert check({"s": "XNet은 15% 높습니다"}, src).unsupported == ("15%",)


def test_verify_hand_made_example():
    title = "TableBench: A Comprehensive and Complex Benchmark for Table Question Answering"
    abstract = ("We propose TableBench, including 18 fields within four major categories of "
                "table question answering (TableQA) capabilities. We introduce TableLLM, trained "
                "on TableInstruct, achieving comparable performance with GPT-3.5.")
    fulltext = "# 3 Data\nUltimately, we collect 3681 tables covering 20 major topics."
    good = {"whats_new": "TableBench는 18개 필드를 포함하는 TableQA 벤치마크입니다.",
            "technical_details": "총 3,681개의 테이블과 20개의 주제를 다룹니다.",
            "performance_highlights": "TableLLM은 GPT-3.5와 비슷한 성능을 보입니다."}
    verdict = verify(good, title, abstract, fulltext)
    assert isinstance(verdict, Verdict) and verdict.status == "verified"
    assert {e.claim for e in verdict.evidence} >= {"TableBench", "3,681", "GPT-3.5"}
    bad = dict(good, performance_highlights="TableLLM은 GPT-4o보다 12.5% 높습니다.")
    verdict = verify(bad, title, abstract, fulltext)
    assert verdict.status == "unverified" and verdict.unsupported == ("GPT-4o", "12.5%")
    assert verify(good, title, abstract).unsupported == ("3,681", "20")  # abstract only
