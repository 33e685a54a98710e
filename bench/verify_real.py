"""Measure the checker on real summaries (issue 4): prints Markdown for BENCHMARKS.md.

(a) The summaries of `shared/fixtures/ko_summaries.json` whose paper has a full
    text in `shared/fixtures/fulltext/`, hand-labelled in `bench/labels.json`,
    checked against title + abstract + full text. Target: every unfaithful one
    flagged, at most 1 in 10 faithful ones flagged.
(b) All 139 real summaries checked against title + abstract only: how many are
    flagged and why (no target: summaries written from the PDF state facts the
    abstract lacks).
(c) Corrupted copies of real summaries (a number changed, a name swapped for one
    the paper never mentions, another paper's summary, a generic summary): share
    flagged per kind. Target: at least 95% each.

`tests/test_verify_real.py` imports the functions below and asserts the targets.

    python bench/verify_real.py
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from papergist.verify import Source, check, extract_claims  # noqa: E402
from papergist.verify.lexicon import UBIQUITOUS  # noqa: E402
from papergist.verify.text import squash  # noqa: E402

# Not redistributed with papergist (other projects' summaries, papers' full texts):
# beside the clone, or where PAPERGIST_SHARED_FIXTURES says (as in tests/fakes.py).
FIXTURES = Path(os.environ.get("PAPERGIST_SHARED_FIXTURES") or ROOT.parent / "shared" / "fixtures")
FULLTEXT = FIXTURES / "fulltext"
LABELS = ROOT / "bench" / "labels.json"
_SECTION = re.compile(r"^\s*-\s*\*\*(.+?)\*\*\s*:?\s*(.*?)(?=^\s*-\s*\*\*|\Z)", re.S | re.M)


# --- data -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def load_papers() -> tuple[dict, ...]:
    """The 73 papers of ko_summaries.json, as stored."""
    path = FIXTURES / "ko_summaries.json"
    if not path.exists() or not FULLTEXT.is_dir():
        raise SystemExit(f"needs {FIXTURES}/ko_summaries.json and fulltext/ (other projects' "
                         "summaries and papers' full texts are not redistributed with papergist)")
    return tuple(json.loads(path.read_text(encoding="utf-8")))


def split_sections(text: str) -> dict[str, str]:
    """A summary's `- **Section**: text` bullets as {section: text}."""
    sections = {m.group(1).strip(): m.group(2).strip() for m in _SECTION.finditer(text)}
    return sections or {"summary": text.strip()}


def fulltext(paper_id: str) -> str | None:
    """The paper's full text (Markdown) if the fixtures have it."""
    path = FULLTEXT / f"{paper_id}.md"
    return path.read_text(encoding="utf-8") if path.exists() else None


@lru_cache(maxsize=None)
def source(paper_id: str, with_fulltext: bool) -> Source:
    """The indexed paper: title + abstract, plus its full text when asked and present."""
    paper = next(p for p in load_papers() if p["arxiv_id"] == paper_id)
    return Source.build(paper["title"], paper["abstract"],
                        fulltext(paper_id) if with_fulltext else None)


def load_labels() -> list[dict]:
    """The hand labels of bench/labels.json."""
    return json.loads(LABELS.read_text(encoding="utf-8"))["labels"]


def summary_of(paper_id: str, repo: str) -> str:
    """The text of one real summary, by paper and repository."""
    paper = next(p for p in load_papers() if p["arxiv_id"] == paper_id)
    return next(s["text"] for s in paper["summaries"] if s["source"]["repo"] == repo)


# --- (a) labelled summaries against the full text --------------------------------------

@dataclass
class Row:
    paper_id: str
    repo: str
    label: str
    status: str
    generic: bool
    unsupported: tuple[str, ...]
    checked: int
    reason: str = ""


def measure_labelled() -> list[Row]:
    """Each labelled summary checked against title + abstract + full text."""
    rows = []
    for item in load_labels():
        verdict = check(split_sections(summary_of(item["id"], item["repo"])),
                        source(item["id"], True))
        rows.append(Row(item["id"], item["repo"], item["label"], verdict.status, verdict.generic,
                        verdict.unsupported, verdict.checked, item["reason"]))
    return rows


def rates(rows: list[Row]) -> dict[str, tuple[int, int]]:
    """(flagged, total) for the unfaithful and the faithful summaries."""
    out = {}
    for label in ("unfaithful", "faithful"):
        group = [r for r in rows if r.label == label]
        out[label] = (sum(r.status == "unverified" for r in group), len(group))
    return out


# --- (b) every summary against its abstract ---------------------------------------------

def measure_abstract() -> list[Row]:
    """All real summaries checked against title + abstract only."""
    rows = []
    for paper in load_papers():
        src = source(paper["arxiv_id"], False)
        for s in paper["summaries"]:
            verdict = check(split_sections(s["text"]), src)
            rows.append(Row(paper["arxiv_id"], s["source"]["repo"], "", verdict.status,
                            verdict.generic, verdict.unsupported, verdict.checked))
    return rows


# --- (c) corruptions ----------------------------------------------------------------------

SWAP_POOL = ("GSM8K", "MMLU", "ImageNet-1K", "HumanEval", "COCO", "CIFAR-10", "SQuAD",
             "LLaMA-2-13B", "Mistral-7B", "GPT-4o", "Qwen2-VL", "DocVQA", "Kinetics-400",
             "ScanNet", "LibriSpeech", "WMT14", "ARC-Challenge", "HellaSwag", "MT-Bench",
             "Stable Diffusion XL")

# Generic summaries that name nothing of any paper (written for this benchmark, in
# the three-section style of the real ones; two are other languages).
GENERIC = (
    {"What's New": "이 논문은 새로운 딥러닝 모델을 소개합니다. 이 모델은 기존 방법의 한계를 극복하고 더 나은 정확도를 제공합니다.",
     "Technical Details": "제안된 모델은 Transformer 아키텍처를 기반으로 하며, Self-Attention 메커니즘을 활용해 입력 데이터를 효과적으로 처리합니다.",
     "Performance Highlights": "실험 결과, 제안된 모델은 다양한 벤치마크에서 기존 최첨단 모델들을 능가하는 성능을 보였습니다."},
    {"What's New": "본 연구는 효율적인 학습 방법을 제안합니다. 기존 연구의 문제점을 분석하고 이를 해결하는 새로운 접근 방식을 소개합니다.",
     "Technical Details": "제안된 방법은 단순하면서도 효과적인 구조로 설계되었으며, 추가적인 계산 비용이 거의 들지 않습니다.",
     "Performance Highlights": "여러 데이터셋에서 실험한 결과 기존 방법보다 일관되게 우수한 성능을 보였습니다."},
    {"What's New": "대규모 언어 모델(LLMs)의 성능을 향상시키기 위한 새로운 프레임워크를 제안합니다.",
     "Technical Details": "데이터 증강(Data Augmentation)과 정규화(Regularization) 기법을 사용하여 과적합(overfitting)을 방지했습니다.",
     "Performance Highlights": "제안된 방법은 기존의 CNN 기반 모델 대비 평균 5% 이상의 정확도 향상을 보였습니다."},
    {"What's New": "새로운 이미지 생성(image generation) 방법을 소개합니다. 사용자는 더 정밀하게 결과를 제어할 수 있습니다.",
     "Technical Details": "확산 모델(diffusion model)을 기반으로 하며, 교차 주의(cross-attention) 레이어를 수정하여 조건 정보를 통합합니다.",
     "Performance Highlights": "정량적 및 정성적 평가에서 기존 방법보다 높은 품질의 결과를 생성했습니다."},
    {"What's New": "This paper proposes a novel approach that addresses the limitations of existing methods.",
     "Technical Details": "The method builds on a Transformer-based architecture with an improved attention mechanism and a lightweight training recipe.",
     "Performance Highlights": "Extensive experiments on several benchmarks show that it outperforms state-of-the-art baselines by a large margin."},
    {"What's New": "本文提出了一种新的方法，解决了现有方法的局限性。",
     "Technical Details": "该方法基于Transformer架构，并引入了改进的注意力机制。",
     "Performance Highlights": "在多个基准测试上，该方法取得了最先进的性能，准确率提高了10%。"},
)


def best_source(paper_id: str) -> Source:
    """The text a summary would be checked against: the full text if we have it."""
    return source(paper_id, fulltext(paper_id) is not None)


def _change_digit(number: str) -> str:
    """The number with the last digit of its first numeral moved by 3 (never to 0)."""
    m = re.search(r"\d+(?:[.,]\d+)*", number)
    digits = [i for i in range(m.start(), m.end()) if number[i].isdigit()]
    i = digits[-1]
    d = int(number[i])
    return number[:i] + str(d + 3 if d <= 6 else d - 3) + number[i + 1:]


def _replace_first(text: str, old: str, new: str) -> str | None:
    """`text` with the first stand-alone `old` replaced, or None when absent."""
    pattern = re.escape(old)
    if old[:1].isalnum():
        pattern = r"(?<![\w.,-])" + pattern if old[0].isdigit() else r"(?<![A-Za-z0-9])" + pattern
    if old[-1:].isalnum():
        pattern += r"(?![\d.,]\d)(?![A-Za-z0-9])" if old[-1].isdigit() else r"(?![A-Za-z0-9])"
    m = re.search(pattern, text)
    return None if m is None else text[:m.start()] + new + text[m.end():]


def _corrupt(sections: dict[str, str], old: str, new: str) -> dict[str, str] | None:
    """The summary with `old` replaced by `new` in the first section holding it."""
    for key, text in sections.items():
        changed = _replace_first(text, old, new)
        if changed is not None:
            return {**sections, key: changed}
    return None


def _verified_originals() -> list[tuple[str, dict[str, str]]]:
    """Real summaries that verify against their best source: the ones a corruption
    could hide in (paper id, sections)."""
    out = []
    for paper in load_papers():
        src = best_source(paper["arxiv_id"])
        for s in paper["summaries"]:
            sections = split_sections(s["text"])
            if check(sections, src).status == "verified":
                out.append((paper["arxiv_id"], sections))
    return out


Copy = tuple[str, dict[str, str], str]  # paper id, sections, what was changed


def number_corruptions() -> list[Copy]:
    """Each number of each verified summary changed, one copy per number."""
    out = []
    for paper_id, sections in _verified_originals():
        claims = [c for t in sections.values() for c in extract_claims(t) if c.kind == "number"]
        for claim in {c.key: c for c in claims}.values():
            new = _change_digit(claim.text)
            copy = _corrupt(sections, claim.text, new)
            if copy is not None:
                out.append((paper_id, copy, f"{claim.text} -> {new}"))
    return out


def name_corruptions() -> list[Copy]:
    """Each distinctive name of each verified summary swapped for a well-known
    name the paper never mentions, one copy per name."""
    out, turn = [], 0
    for paper_id, sections in _verified_originals():
        src = best_source(paper_id)
        claims = [c for t in sections.values() for c in extract_claims(t)
                  if c.kind == "name" and c.strong and c.key not in UBIQUITOUS]
        for claim in {c.key: c for c in claims}.values():
            pool = [n for n in SWAP_POOL if src.find_key(squash(n)) is None]
            new = pool[turn % len(pool)]
            turn += 1
            copy = _corrupt(sections, claim.text, new)
            if copy is not None:
                out.append((paper_id, copy, f"{claim.text} -> {new}"))
    return out


def swapped_summaries() -> list[Copy]:
    """Every real summary checked as if it were the next paper's (cycled)."""
    papers = load_papers()
    out = []
    for i, paper in enumerate(papers):
        other = papers[(i + 1) % len(papers)]
        for s in other["summaries"]:
            out.append((paper["arxiv_id"], split_sections(s["text"]),
                        f"summary of {other['arxiv_id']}"))
    return out


def generic_summaries() -> list[Copy]:
    """Every generic template as the summary of every paper."""
    return [(p["arxiv_id"], dict(t), f"template {i + 1}") for p in load_papers()
            for i, t in enumerate(GENERIC)]


CORRUPTIONS = {
    "number changed": number_corruptions,
    "name swapped": name_corruptions,
    "another paper's summary": swapped_summaries,
    "generic summary": generic_summaries,
}


def measure_corruptions() -> dict[str, tuple[int, int, list[Copy]]]:
    """Per kind: (flagged, total, the copies that passed)."""
    out = {}
    for kind, make in CORRUPTIONS.items():
        copies = make()
        missed = [copy for copy in copies
                  if check(copy[1], best_source(copy[0])).status == "verified"]
        out[kind] = (len(copies) - len(missed), len(copies), missed)
    return out


# --- report ---------------------------------------------------------------------------------

def _why(row: Row) -> str:
    """A flagged summary's reason: generic, or which kinds of claim were not found."""
    if row.generic:
        return "generic (names nothing of the paper)"
    nums = any(re.match(r"[<\d.]", u) for u in row.unsupported)
    names = any(not re.match(r"[<\d.]", u) for u in row.unsupported)
    return {(True, True): "numbers and names not in the abstract",
            (True, False): "only numbers not in the abstract",
            (False, True): "only names not in the abstract"}[nums, names]


# --- (d) sentence-level grounding ---------------------------------------------------

def measure_grounding() -> dict[str, Counter]:
    """Sentences of every real summary against its best source: backed by a quote, quoted
    but not backed, or with nothing to match (no claim, no Latin content word); and the
    same for the hand-labelled faithful and unfaithful summaries."""
    labels = {(x["id"], x["repo"]): x["label"] for x in load_labels()}
    out: dict[str, Counter] = {"all": Counter(), "faithful": Counter(), "unfaithful": Counter()}
    for paper in load_papers():
        for summary in paper["summaries"]:
            verdict = check(split_sections(summary["text"]), best_source(paper["arxiv_id"]))
            kinds = Counter("backed" if g.backed else "quoted" if g.quote else "unmatched"
                            for g in verdict.grounding)
            out["all"].update(kinds)
            label = labels.get((paper["arxiv_id"], summary["source"]["repo"]))
            if label:
                out[label].update(kinds)
    return out


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.1f}%)" if b else "0/0"


def report() -> str:
    """The three measurements as Markdown."""
    lines = ["### (a) Hand-labelled summaries against title + abstract + full text", ""]
    rows = measure_labelled()
    r = rates(rows)
    lines += [f"Unfaithful flagged: **{_pct(*r['unfaithful'])}** (target: all). "
              f"Faithful flagged: **{_pct(*r['faithful'])}** (target: at most 10%).", "",
              "| paper | summary by | label | verdict | unsupported (or generic) |",
              "|---|---|---|---|---|"]
    for row in rows:
        why = ", ".join(f"`{u}`" for u in row.unsupported) + (" generic" if row.generic else "")
        lines.append(f"| {row.paper_id} | {row.repo.split('/')[0]} | {row.label} | "
                     f"{row.status} | {why} |")
    lines += ["", "### (b) All real summaries against title + abstract only", ""]
    rows = measure_abstract()
    flagged = [x for x in rows if x.status == "unverified"]
    lines.append(f"Flagged: **{_pct(len(flagged), len(rows))}**; generic: "
                 f"{sum(x.generic for x in rows)}.")
    lines += ["", "| summaries by | flagged | generic | unsupported numbers | unsupported names |",
              "|---|---|---|---|---|"]
    for repo in sorted({x.repo for x in rows}):
        group = [x for x in rows if x.repo == repo]
        bad = [x for x in group if x.status == "unverified"]
        nums = sum(1 for x in bad for u in x.unsupported if re.match(r"[\d<.]", u))
        names = sum(len(x.unsupported) for x in bad) - nums
        lines.append(f"| {repo} | {_pct(len(bad), len(group))} | {sum(x.generic for x in group)} "
                     f"| {nums} | {names} |")
    full = {(x.paper_id, x.repo) for x in measure_labelled() if x.status == "verified"}
    rescued = [x for x in flagged if (x.paper_id, x.repo) in full]
    have_text = [x for x in rows if fulltext(x.paper_id) is not None]
    lines += ["", f"Of the {len(have_text)} summaries whose full text we have, "
              f"{sum(x.status == 'unverified' for x in have_text)} are flagged against the "
              f"abstract and {len(rescued)} of those verify against the full text: the facts "
              "came from the paper body.", ""]
    kinds = Counter(_why(x) for x in flagged)
    lines.append("Why flagged: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()) + ".")
    counts = Counter(u for x in flagged for u in x.unsupported)
    lines.append("Most frequent unsupported claims: " +
                 ", ".join(f"`{u}` ({n})" for u, n in counts.most_common(12)) + ".")
    lines += ["", "### (c) Corrupted copies of real summaries", "",
              "| corruption | flagged | target |", "|---|---|---|"]
    misses = []
    for kind, (caught, total, missed) in measure_corruptions().items():
        lines.append(f"| {kind} | {_pct(caught, total)} | ≥ 95% |")
        misses += [f"{paper_id} ({note})" for paper_id, _, note in missed]
    r = rates(measure_labelled())
    lines += ["", "The originals, uncorrupted, against the full text: faithful flagged "
              f"{_pct(*r['faithful'])}, as in (a)."]
    if misses:
        lines.append("Not caught: " + "; ".join(misses) + " (the changed value also occurs "
                     "in the paper with the same unit).")
    lines.append("Bases: the real summaries that verify against their best source (full "
                 "text when we have it, else the abstract); one copy per number or name.")
    lines += ["", "### (d) Sentence-level grounding of the real summaries", "",
              "| summaries | sentences | backed by a quote | quoted, not backed | nothing to match |",
              "|---|---|---|---|---|"]
    for group, kinds in measure_grounding().items():
        total = sum(kinds.values())
        lines.append(f"| {group} | {total} | {_pct(kinds['backed'], total)} | "
                     f"{_pct(kinds['quoted'], total)} | {_pct(kinds['unmatched'], total)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
