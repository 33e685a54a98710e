"""The HF Daily Papers source against the recorded responses, over real HTTP."""

from __future__ import annotations

import json
from datetime import date

import pytest

from conftest import local_env
from fakes import HF_FIXTURES, FakeHF, Reply, load_day
from papergist.errors import MalformedResponse, SourceRejected, SourceUnavailable, UsageError
from papergist.http import HttpClient
from papergist.settings import load_settings
from papergist.sources.hf_daily import HFDailySource, parse_day
from papergist.sources.text import unwrap

ALL_DAYS = sorted(p.stem for p in HF_FIXTURES.glob("*.json"))


@pytest.mark.parametrize("day", ALL_DAYS)
def test_every_field_generation_parses_whole(day):
    raw = load_day(day)
    daily, failures = parse_day(date.fromisoformat(day), raw)
    assert failures == ()
    assert [e.paper.id for e in daily.entries] == [r["paper"]["id"] for r in raw]
    for entry, r in zip(daily.entries, raw):
        paper = entry.paper
        assert paper.authors == tuple(a["name"] for a in r["paper"]["authors"])
        assert "\n" not in paper.title and "\n" not in paper.abstract.replace("\n\n", "")
        assert paper.title == " ".join(r["paper"]["title"].split())
        assert paper.abstract.split() == r["paper"]["summary"].split()
        assert entry.upvotes == r["paper"]["upvotes"]
        assert paper.thumbnail and paper.thumbnail.startswith("https://")


def test_2024_05_media_url_generation():
    daily, _ = parse_day(date(2024, 5, 29), load_day("2024-05-29"))
    first = daily.entries[0].paper
    assert first.thumbnail == ("https://cdn-thumbnails.huggingface.co/social-thumbnails/"
                               "papers/2405.18407.png")
    assert first.authors[:2] == ("Fu-Yun Wang", "Zhaoyang Huang")


def test_2025_and_2026_fields():
    daily, _ = parse_day(date(2026, 8, 20), load_day("2026-08-20"))
    zetta = daily.entries[0].paper
    assert zetta.github_repo == "https://github.com/air-embodied-brain/Zetta-Embodiment"
    assert zetta.project_page == "https://air-embodied-brain.github.io/zetta/"
    assert zetta.ai_summary.startswith("Zetta is a closed-loop embodied harness")
    assert "LIBERO-Pro" in zetta.ai_keywords
    assert zetta.published_at.isoformat() == "2026-08-17T00:00:00+00:00"
    org_day, _ = parse_day(date(2025, 10, 15), load_day("2025-10-15"))
    assert org_day.entries[0].paper.organization == "AMAP-ML"


def test_video_media_kept_and_thumbnail_preferred():
    daily, _ = parse_day(date(2024, 8, 26), load_day("2024-08-26"))
    t3m = next(e.paper for e in daily.entries if e.paper.id == "2408.12885")
    assert t3m.media_urls[0].endswith(".mp4")
    assert t3m.thumbnail.endswith("2408.12885.png")


def test_unwrap_keeps_paragraphs_and_joins_wraps():
    assert unwrap("  a line\nwrapped  here\n\nsecond\npara\n  third ") == (
        "a line wrapped here\n\nsecond para\n\nthird")


def test_indented_line_starts_a_paragraph_as_on_arxiv():
    raw = next(e for e in load_day("2024-08-21") if "\n  " in e["paper"]["summary"])
    paper = parse_day(date(2024, 8, 21), [raw])[0].entries[0].paper
    assert paper.abstract.count("\n\n") == raw["paper"]["summary"].count("\n  ")


def test_entry_missing_fields_is_a_failure_not_a_drop():
    raw = load_day("2024-08-26")
    del raw[1]["paper"]["title"], raw[1]["title"]
    raw[2] = {"paper": {"title": "no id"}}
    raw[3]["paper"]["authors"] = [{"_id": "x"}]
    daily, failures = parse_day(date(2024, 8, 26), raw)
    assert len(daily.entries) == len(raw) - 3
    reasons = {f.paper_id: f.reason for f in failures}
    assert "no title" in reasons["2408.13252"]
    assert "paper.id missing" in reasons["entry-3"]
    assert "author has no name" in reasons[raw[3]["paper"]["id"]]
    assert [e.rank for e in daily.entries] == list(range(1, len(daily.entries) + 1))


def test_paging_reads_until_the_day_is_whole(tmp_path):
    sixty = [dict(e, paper=dict(e["paper"], id=f"2410.{10000 + i}"))
             for i, e in enumerate((load_day("2024-10-25") * 3)[:60])]
    with FakeHF({"2024-10-25": sixty}) as hf:
        settings = load_settings(env=local_env(tmp_path, hf.url))
        with HttpClient(settings) as http:
            daily, failures = HFDailySource(http, settings).fetch(date(2024, 10, 25))
        pages = [r.query["p"] for r in hf.hits("/api/daily_papers")]
    assert len(daily.entries) == 60 and not failures
    assert pages == ["0", "1"]
    assert [e.paper.id for e in daily.entries] == [e["paper"]["id"] for e in sixty]


def test_small_pages_still_whole(tmp_path):
    with FakeHF() as hf:
        env = local_env(tmp_path, hf.url, PAPERGIST_HF_PAGE_SIZE="4")
        settings = load_settings(env=env)
        with HttpClient(settings) as http:
            daily, _ = HFDailySource(http, settings).fetch(date(2024, 8, 26))
        assert len(hf.hits("/api/daily_papers")) == 3  # 4 + 4 + 3
    assert len(daily.entries) == 11


@pytest.mark.parametrize("body, message", [
    ('[{"paper": {"id": "2408.1', "invalid JSON"),
    ("<html>Bad gateway</html>", "invalid JSON"),
    ('{"papers": []}', "not the list"),
])
def test_malformed_replies(settings, http, fake_hf, body, message):
    fake_hf.fail = lambda req: Reply(200, body)
    with pytest.raises(MalformedResponse, match=message):
        HFDailySource(http, settings).fetch(date(2024, 8, 26))


def test_retries_then_succeeds(settings, http, fake_hf):
    calls = []

    def flaky(req):
        calls.append(req)
        if len(calls) < 3:
            return Reply(503, "busy", {"Retry-After": "0"})
        fake_hf.fail = None
        return fake_hf._daily_papers(req)

    fake_hf.fail = flaky
    daily, _ = HFDailySource(http, settings).fetch(date(2024, 8, 26))
    assert len(daily.entries) == 11 and len(calls) == 3


def test_down_gives_a_clear_error(settings, http, fake_hf):
    fake_hf.fail = lambda req: Reply(502, "<html>Bad Gateway</html>")
    with pytest.raises(SourceUnavailable, match=r"HF Daily Papers is unavailable after 3 "
                                                r"attempts \(HTTP 502\)"):
        HFDailySource(http, settings).fetch(date(2024, 8, 26))
    assert len(fake_hf.hits("/api/daily_papers")) == 3


def test_timeout_gives_a_clear_error(tmp_path, fake_hf):
    settings = load_settings(env=local_env(tmp_path, fake_hf.url, PAPERGIST_HTTP_TIMEOUT="0.2",
                                          PAPERGIST_HTTP_ATTEMPTS="2"))
    fake_hf.fail = lambda req: Reply(200, "[]", delay=1.0)
    with HttpClient(settings) as http, pytest.raises(SourceUnavailable, match="timed out"):
        HFDailySource(http, settings).fetch(date(2024, 8, 26))


def test_connection_refused_is_unavailable(tmp_path):
    settings = load_settings(env=local_env(tmp_path, "http://127.0.0.1:9"))
    with HttpClient(settings) as http, pytest.raises(SourceUnavailable, match="cannot connect to 127.0.0.1"):
        HFDailySource(http, settings).fetch(date(2024, 8, 26))


def test_hf_400_is_a_usage_error(settings, http, fake_hf):
    fake_hf.today = "2024-08-27"
    with pytest.raises(UsageError, match="must be a date before"):
        HFDailySource(http, settings).fetch(date(2024, 8, 30))


def test_other_4xx_is_rejected(settings, http, fake_hf):
    fake_hf.fail = lambda req: Reply(403, json.dumps({"error": "Forbidden"}))
    with pytest.raises(SourceRejected, match="HTTP 403: Forbidden"):
        HFDailySource(http, settings).fetch(date(2024, 8, 26))


def test_newest_day_looks_back(settings, http, fake_hf):
    fake_hf.today = "2024-08-31"
    source = HFDailySource(http, settings)
    assert source.newest_day(date(2024, 8, 31)).day == date(2024, 8, 30)
    fake_hf.days = {}
    assert source.newest_day(date(2024, 8, 31)).day is None
