"""The Python API: the public names of `papergist`, and docs/python-api.md, whose
every ```python block runs here, in order, against local fakes of HF Daily Papers,
arXiv, an OpenAI-compatible model and a Slack webhook."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conftest import TODAY, local_env
from fakes import FakeServer, Reply
import papergist
from papergist.models import Digest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"
SLACK_PATH = "/services/T000/B000/secret-slack-token"


def page_blocks() -> list[str]:
    """The ```python blocks of docs/python-api.md, in order."""
    return re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), re.M | re.S)


@pytest.fixture
def slack():
    """A fake Slack incoming webhook that accepts every message."""
    with FakeServer() as server:
        server.routes[f"POST {SLACK_PATH}"] = lambda req: Reply(200, "ok")
        yield server


@pytest.fixture
def api_env(tmp_path, fake_hf, arxiv, llm, slack, monkeypatch):
    """The environment the page's examples run in: every server local, home in tmp_path."""
    for key in [k for k in os.environ if k.startswith("PAPERGIST_") or k == "HF_ENDPOINT"]:
        monkeypatch.delenv(key)
    env = local_env(tmp_path / "home", fake_hf.url, arxiv.url,
                    PAPERGIST_SLACK_WEBHOOK_URL=slack.url + SLACK_PATH)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return env


def run_page(capsys) -> tuple[dict, str]:
    """Every block of the page in one namespace, in order; the namespace and stdout."""
    namespace: dict = {"__name__": "python_api_page"}
    for n, block in enumerate(page_blocks(), 1):
        try:
            exec(compile(block, f"{PAGE.name} block {n}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"block {n} of {PAGE.name} failed: {exc!r}\n{block}") from exc
    return namespace, capsys.readouterr().out


def test_the_page_has_the_sections_the_api_needs():
    text = PAGE.read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", text, re.M) == [
        "Settings and overrides", "Results and the run report", "Weeks and months", "Ranges",
        "Searching the archive", "Ranked for a reader", "Errors",
        "Verifying other tools' summaries", "Progress"]
    assert len(page_blocks()) == 10
    top = page_blocks()[0]
    assert len(top.strip().splitlines()) <= 12
    assert all(call in top for call in ("papergist.open(", ".digest(", ".verify(", ".publish("))


def test_every_example_of_the_page_runs(api_env, capsys, llm, slack):
    ns, out = run_page(capsys)
    lines = out.splitlines()
    assert lines[:2] == ["11 of 11 papers summarized",
                         "2024-08-26: 11 fetched, 11 from the store, 0 failed, 0 tokens"]
    assert [v.status for v in ns["verdicts"].values()] == ["verified"] * 11
    slack_posts = [json.loads(r.body) for r in slack.requests if r.path == SLACK_PATH]
    assert len(slack_posts) == 1 and slack_posts[0]["blocks"]
    assert [r.path for r in llm.requests] == ["/v1/chat/completions"] * 11  # the re-run: none
    assert lines[-10:] == [
        "2024-08-22 10", "2024-08-23 19", "2024-08-24 skipped", "2024-08-25 0",
        "2024-08-26 11", "2024-08-27 0",
        "HF is down: HF Daily Papers is unavailable after 2 attempts (cannot connect to "
        "127.0.0.1); try again later",
        "Using 2024-08-29, the newest day HF Daily Papers has published (today in UTC: the "
        "list may still grow)",
        "Fetching HF Daily Papers for 2024-08-29", "13 papers on 2024-08-29"]
    assert (ns["progress"].total, ns["progress"].done) == (13, 13)


def test_the_digest_verdicts_are_by_paper_id_in_reading_order(api_env, capsys):
    ns, _ = run_page(capsys)
    digest: Digest = ns["stored"]
    assert list(ns["verdicts"]) == [item.paper.id for item in digest.items]


PUBLIC = {
    "__version__", "open", "Papergist", "Progress", "utc_today", "DayResult", "Delivery",
    "Digest", "DigestItem", "DigestResult", "Paper", "PaperFailure", "Result", "RunReport",
    "Sections", "SiteReport", "Summary", "Usage", "Verdict", "Settings", "load_settings",
    "PapergistError", "UsageError", "ConfigError", "EmptyFeed", "SourceError",
    "SourceUnavailable", "SourceRejected", "MalformedResponse", "SummarizeError", "StoreError",
    "OutputError", "DeliveryError", "IncompleteDigest", "ArchiveEntry", "SearchHit", "SearchResults",
    "Reader", "Relevance",
}


def test_the_public_names_are_exported():
    assert set(papergist.__all__) == PUBLIC and len(papergist.__all__) == len(PUBLIC)
    assert all(hasattr(papergist, name) for name in papergist.__all__)
    assert papergist.Result is papergist.DigestResult
    from papergist.deliver.transports import DeliveryError

    assert DeliveryError is papergist.DeliveryError


def test_importing_the_library_does_not_import_the_cli():
    code = "import sys, papergist; print(sorted(m for m in ('typer', 'rich', 'papergist.cli') " \
           "if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(papergist.__file__).parents[1])},
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


# --- Papergist.verify on its own ----------------------------------------------------

ABSTRACT = "We propose PCM. It improves FID by 12.5% over LCM on COCO-2014."


def item(text: str, **extra) -> dict:
    """A summary to verify, in the `papergist verify` shape."""
    return {"title": "Phased Consistency Model", "abstract": ABSTRACT,
            "sections": {"whats_new": text}, **extra}


FULLTEXT = ("PCM phases the consistency trajectory into sub-trajectories. On ImageNet, PCM "
            "reaches 99.9% precision with four sampling steps.")
FROM_FULLTEXT = {"whats_new": "PCM phases the consistency trajectory into sub-trajectories.",
                 "performance_highlights": "On ImageNet, PCM reaches 99.9% precision with "
                                           "four sampling steps."}


def test_verify_takes_other_tools_summaries_in_order(tmp_path):
    settings = papergist.load_settings(env={"PAPERGIST_HOME": str(tmp_path)})
    with papergist.open(settings) as pg:
        verdicts = pg.verify([item("PCM beats GPT-4 by 31.7% on GSM8K."),
                              item("PCM improves FID by 12.5% over LCM."),
                              {**item(""), "sections": FROM_FULLTEXT},
                              {**item(""), "sections": FROM_FULLTEXT, "fulltext": FULLTEXT}])
    assert [v.status for v in verdicts] == ["unverified", "verified", "unverified", "verified"]
    assert [v.unsupported for v in verdicts] == [("GPT-4", "31.7%", "GSM8K"), (),
                                                 ("ImageNet", "99.9%"), ()]
    assert not (tmp_path / "papergist.db").exists()  # verifying opens no store


@pytest.mark.parametrize(("summaries", "message"), [
    (item("x"), "verify takes a Digest or a list of summaries (dicts); wrap a single "
                "summary in a list"),
    ([item("x"), {"title": "t", "abstract": "a"}],
     "item 2: needs 'sections': an object of section name -> text"),
    (["text"], "item 1: not a JSON object"),
])
def test_verify_names_a_malformed_summary(tmp_path, summaries, message):
    settings = papergist.load_settings(env={"PAPERGIST_HOME": str(tmp_path)})
    with papergist.open(settings) as pg, pytest.raises(papergist.UsageError) as refused:
        pg.verify(summaries)
    assert refused.value.message == message


# --- Papergist.site and Papergist.digest(ids=...) through the front door ------------------

SITE_URL = "https://papers.example.org"


@pytest.fixture
def front_door(tmp_path, fake_hf, arxiv) -> papergist.Settings:
    """Settings for `papergist.open`: HF and arXiv local, no model, a site URL (a feed)."""
    return papergist.load_settings(env=local_env(tmp_path / "home", fake_hf.url, arxiv.url,
                                                 PAPERGIST_SITE_URL=SITE_URL))


def test_site_writes_the_archive_and_reports_what_it_wrote(front_door, tmp_path):
    out = tmp_path / "public"
    with papergist.open(front_door, today=lambda: TODAY) as pg:
        sizes = [len(pg.digest(date(2024, 8, d)).digest.items) for d in (23, 26)]
        first, again = pg.site(out), pg.site(out)
        added = len(pg.digest(date(2024, 8, 22)).digest.items)
        later = pg.site(out)
    pages = sum(1 + n for n in sizes)  # a page per day and per paper
    shared = 4  # index.html, search.json, search.js, feed.xml: rewritten when they differ
    assert isinstance(first, papergist.SiteReport)
    assert first == papergist.SiteReport(days=2, rendered_days=2, written=pages + shared)
    assert again == papergist.SiteReport(days=2, rendered_days=0, written=0, unchanged=shared)
    assert later == papergist.SiteReport(days=3, rendered_days=1, written=1 + added + 3,
                                         unchanged=1)  # search.js is the same
    assert (out / "2024/08/22/index.html").is_file()
    assert (out / "2024/08/26/2408.12637.html").is_file()
    assert f"<id>{SITE_URL}/" in (out / "feed.xml").read_text(encoding="utf-8")


def test_digest_of_ids_keeps_the_order_asked_and_names_an_unknown_id(front_door, arxiv):
    """arXiv answers in its own order (the fake: reversed) and has no 2408.99999."""
    arxiv.unknown = {"2408.99999"}
    asked = ["2408.13252", "2408.99999", "2408.12637", "2409.00001"]
    with papergist.open(front_door, today=lambda: TODAY) as pg:
        result = pg.digest(ids=asked)
        stored, daily = pg.load_digest(TODAY, "ids"), pg.load_digest(TODAY)
    assert isinstance(result, papergist.DigestResult)
    assert (result.digest.kind, result.digest.date) == ("ids", TODAY)
    assert [i.paper.id for i in result.digest.items] == ["2408.13252", "2408.12637", "2409.00001"]
    assert all(i.summary and not i.failure for i in result.digest.items)
    assert result.report.failures == (papergist.PaperFailure(
        paper_id="2408.99999", stage="fetch", reason="arXiv has no paper with this id"),)
    assert (result.report.fetched, result.report.summarized) == (4, 3)
    assert stored is not None and [i.paper.id for i in stored.items] == [
        i.paper.id for i in result.digest.items]
    assert daily is None  # kept apart from the day's own digest
