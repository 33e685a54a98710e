"""Grounding in the pipeline: model summaries checked, regenerated once, then policy."""

from __future__ import annotations

import json
from datetime import date

import pytest

from fake_openai import Fault
from fakes import HF_FIXTURES, load_day
from papergist.sources.hf_daily import parse_day
from papergist.summarize.offline import OfflineSummarizer
from papergist.verify import verify

DAY = "2024-08-26"
TARGET = "Building and better understanding"  # the title of 2408.12637


def invent_for_target(times: int):
    """The fake answers with another paper's summary for the target, `times` times."""
    seen = []

    def plan(index, request):
        if TARGET in request["messages"][1]["content"] and len(seen) < times:
            seen.append(index)
            return Fault("other_paper")
        return None
    return plan


@pytest.mark.parametrize("day", sorted(p.stem for p in HF_FIXTURES.glob("*.json")))
def test_offline_summaries_always_verify(day):
    summarizer = OfflineSummarizer()
    daily, _ = parse_day(date.fromisoformat(day), load_day(day))
    for entry in daily.entries:
        paper = entry.paper
        summary = summarizer.summarize(paper, "en")
        verdict = verify(summary.sections.model_dump(), paper.title, paper.abstract)
        assert verdict.status == "verified", (paper.id, verdict.unsupported, verdict.generic)


def target(out: str) -> dict:
    return next(p for p in json.loads(out)["papers"] if p["id"] == "2408.12637")


def test_an_invented_summary_is_regenerated_once_and_then_verifies(cli, llm):
    llm.plan = invent_for_target(1)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 0, err
    paper = target(out)
    assert paper["verification"]["status"] == "verified"
    assert paper["usage"]["requests"] == 2
    regenerate = [c for c in llm.calls if TARGET in c.request["messages"][1]["content"]][1]
    note = regenerate.request["messages"][-1]["content"]
    assert "failed a check against the paper" in note and "which the paper does not" in note


def test_still_invented_is_published_with_a_warning(cli, llm):
    llm.plan = invent_for_target(2)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt")
    assert code == 0, err
    assert "1 unverified" in err
    block = out.split("(https://arxiv.org/abs/2408.12637)")[1].split("\n### ")[0]
    # another paper's summary: off topic (it shares almost no word with this paper)
    assert "> **Unverified summary**: it does not read as a summary of this paper" in block
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    verification = target(out)["verification"]  # from the store: no new request
    assert verification["status"] == "unverified" and verification["unsupported"]
    assert verification["off_topic"] and verification["overlap"] < 0.2
    assert len([c for c in llm.calls if TARGET in c.request["messages"][1]["content"]]) == 2


def test_drop_publishes_the_abstract_instead(cli, llm):
    llm.plan = invent_for_target(2)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--on-unverified", "drop")
    assert code == 3
    assert "failed 2408.12637 (verify): summary dropped, it does not read as a summary of " \
           "this paper" in err
    block = out.split("(https://arxiv.org/abs/2408.12637)")[1].split("\n### ")[0]
    assert "> **No summary**: summary dropped" in block and "- **Abstract**: " in block


def test_keep_publishes_without_a_warning_but_the_json_tells(cli, llm):
    llm.plan = invent_for_target(2)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--on-unverified", "keep")
    assert code == 0 and "Unverified summary" not in out
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--on-unverified", "keep",
                         "-f", "json")
    assert target(out)["verification"]["status"] == "unverified"


def test_verify_command_on_a_hand_written_file(cli, tmp_path):
    items = [
        {"title": "Phased Consistency Model", "abstract": "We propose PCM. It improves FID "
         "by 12.5% over LCM on COCO-2014.", "sections": {"whats_new": "PCM improves FID by "
         "12.5% over LCM."}},
        {"title": "Phased Consistency Model", "abstract": "We propose PCM. It improves FID "
         "by 12.5% over LCM on COCO-2014.", "sections": {"whats_new": "PCM beats GPT-4 by "
         "31.7% on GSM8K."}},
    ]
    (tmp_path / "mine.json").write_text(json.dumps(items))
    code, out, err = cli("verify", "mine.json")
    assert code == 3
    first, second = json.loads(out)
    assert first["status"] == "verified" and first["unsupported"] == []
    assert second["status"] == "unverified"
    assert {"GPT-4", "31.7%", "GSM8K"} <= set(second["unsupported"])


@pytest.mark.parametrize("content, message", [
    ("not json", "is not valid JSON"),
    ("[]", "a non-empty list"),
    ('{"title": "t", "abstract": "a"}', "needs 'sections'"),
    ('{"title": 1, "abstract": "a", "sections": {"x": "y"}}', "needs 'title' as text"),
])
def test_verify_command_bad_input(cli, tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    code, out, err = cli("verify", "bad.json")
    assert code == 2 and message in err and out == ""
