"""Issue 16: the `papergist` logger, `-v`/`--log-json`, run counts, the full-text cache."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from datetime import timedelta

import pytest

import papergist
import papergist.cli
from conftest import LLM_KEY, local_env
from fake_openai import Fault, in_order
from fakes import HTML_2508, PDF_ATTENTION, Blocking, FakeServer, Reply, load_day, shared_bytes
from papergist.cli import hoist_log_options
from papergist.http import HttpClient
from papergist.logs import extra_fields
from papergist.models import Paper
from papergist.settings import load_settings
from papergist.sources.cache import MISSING_TTL, served_version
from papergist.sources.fulltext import FullTextSource
from papergist.summarize.scheduler import Quota, RateLimits, Scheduler, Window

DAY = "2024-08-26"
ID = "2408.12637"


@pytest.fixture
def pdf() -> bytes:
    return shared_bytes(PDF_ATTENTION)


@pytest.fixture
def html() -> bytes:
    return shared_bytes(HTML_2508)
T0 = 1_900_000_000.0  # the tests' wall clock (seconds since the epoch), never the machine's


def records(caplog, event: str) -> list[dict]:
    """The `extra` fields of every record of `event`."""
    return [extra_fields(r) for r in caplog.records if getattr(r, "event", None) == event]


# --- the logger ----------------------------------------------------------------------


def test_the_package_adds_a_null_handler_and_nothing_else():
    handlers = logging.getLogger("papergist").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]


def test_an_http_retry_is_one_record_with_its_fields(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="papergist")
    with FakeServer() as server:
        replies = [Reply(200, b"{}"), Reply(429, b"", {"Retry-After": "0"}),
                   Reply(503, b"down")]
        server.routes["/x"] = lambda req: replies.pop()
        with HttpClient(load_settings(env=local_env(tmp_path, server.url))) as http:
            http.get(f"{server.url}/x", what="T")
            counts = http.counts
    retries = records(caplog, "retry")
    assert [(r["attempt"], r["problem"], r["retry_after"]) for r in retries] == [
        (1, "HTTP 503: down", False), (2, "HTTP 429", True)]
    assert retries[1]["url"] == f"{server.url}/x" and retries[1]["wait"] == 0.0
    assert (counts.retries, counts.throttled) == (2, 1)


def test_window_changes_and_learned_limits_are_logged(caplog):
    caplog.set_level(logging.DEBUG, logger="papergist")

    async def go() -> None:
        window = Window(8, 16)
        window.throttled(0)
        window.throttled(0)  # sent before the decrease: says nothing new
        for _ in range(5):  # 4 -> 4.25 -> 4.49 -> 4.71 -> 4.92 -> 5.12
            await window.succeeded()
        scheduler = Scheduler(Window(4, 4), RateLimits(None, None))
        scheduler.learn(Quota(limit_requests=500, reset_requests=1.0))
    asyncio.run(go())
    assert records(caplog, "window_decrease") == [{"event": "window_decrease", "old": 8,
                                                   "new": 4}]
    assert records(caplog, "window_increase") == [{"event": "window_increase", "old": 4,
                                                   "new": 5}]
    assert records(caplog, "limit_learned") == [{"event": "limit_learned", "limit": "rpm",
                                                 "value": 500}]


# --- the command line ----------------------------------------------------------------


@pytest.fixture
def lone(fake_hf, llm):
    """A day of one paper (2408.12637, with its abstract), summarized by the fake model."""
    fake_hf.days = {DAY: load_day(DAY)[:1]}


def test_hoisting_moves_only_log_options_before_the_command():
    assert hoist_log_options(["digest", "-vv", DAY, "--log-json", "-q"]) == [
        "-vv", "--log-json", "digest", DAY, "-q"]
    assert hoist_log_options(["verify", "--", "-v"]) == ["verify", "--", "-v"]


def test_verbose_logs_on_stderr_and_stdout_stays_the_document(cli, lone, llm):
    llm.plan = in_order(Fault("status", status=500))
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json", "-v")
    assert code == 0 and json.loads(out)["date"] == DAY  # stdout: only the document
    assert f"info papergist.fulltext: {ID}: falling back from html to pdf (html: HTTP 404)" in err
    assert "info papergist.scheduler: model request failed (HTTP 500" in err
    assert LLM_KEY not in err
    quiet = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")[2]
    assert "papergist.fulltext" not in quiet  # no -v: no log lines


def test_log_json_is_one_object_per_line(cli, lone, llm):
    code, out, err = cli("--log-json", "digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 0 and json.loads(out)["date"] == DAY
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    fallbacks = [d for d in logged if d.get("event") == "fallback"]
    assert [(d["level"], d["logger"], d["paper"], d["source"], d["to"], d["reason"])
            for d in fallbacks] == [
        ("info", "papergist.fulltext", ID, "html", "pdf", "html: HTTP 404"),
        ("info", "papergist.fulltext", ID, "pdf", "abstract", "pdf: HTTP 404")]
    assert set(fallbacks[0]) == {"time", "level", "logger", "message", "event", "paper",
                                 "source", "to", "reason"}


def test_the_report_counts_retries_and_names_abstract_fallbacks(cli, lone, llm, tmp_path):
    """arXiv has neither the HTML nor the PDF (404): why the abstract was used is in the
    JSON (`source_notes`) and in the report on stderr, on a re-run too."""
    llm.plan = in_order(Fault("status", status=429, retry_after=0.01), Fault("status", status=500))
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 0
    [paper] = json.loads(out)["papers"]
    assert (paper["id"], paper["source"]) == (ID, "abstract")
    assert paper["source_notes"] == ["html: HTTP 404", "pdf: HTTP 404"]
    assert "  2 retries, 1 429s, 1 fell back to the abstract\n" in err
    assert f"  {ID}: summarized from the abstract (html: HTTP 404; pdf: HTTP 404)\n" in err
    db = sqlite3.connect(tmp_path / "home" / "papergist.db")
    assert db.execute("SELECT retries, throttled, window_decreases, to_pdf, to_abstract "
                      "FROM runs").fetchall() == [(2, 1, 0, 0, 1)]
    code, out, quiet = cli("digest", DAY, "--model", "fake-gpt", "-f", "json", "-q")
    assert "summarized from the abstract" not in quiet
    [again] = json.loads(out)["papers"]  # the stored summary, and why it is the abstract's
    assert again["source_notes"] == [f"{kind}: HTTP 404 (remembered from an earlier run)"
                                     for kind in ("html", "pdf")]


def test_the_counts_are_per_day_in_a_range(cli, fake_hf, llm, tmp_path):
    fake_hf.days = {"2024-08-26": load_day(DAY)[:1], "2024-08-27": load_day(DAY)[1:2]}
    llm.plan = in_order(Fault("status", status=500))
    code, _, err = cli("digest", "--since", "2024-08-26", "--until", "2024-08-27",
                       "--model", "fake-gpt", "--out-dir", "out")
    assert code == 0
    db = sqlite3.connect(tmp_path / "home" / "papergist.db")
    assert db.execute("SELECT day, retries FROM runs ORDER BY id").fetchall() == [
        ("2024-08-26", 1), ("2024-08-27", 0)]


# --- the full-text cache -------------------------------------------------------------


@pytest.fixture
def fulltext(tmp_path):
    """(server, a factory of FullTextSources on one cache, at the clock `now[0]`)."""
    with FakeServer() as server:
        settings = load_settings(env=local_env(tmp_path, arxiv_url=server.url))
        now = [T0]

        def make() -> Blocking:
            return Blocking(FullTextSource(papergist.http.AsyncHttpClient(settings), settings,
                                           clock=lambda: now[0]))
        make.cache, make.now = settings.cache_dir / "fulltext", now
        yield server, make


def paper(version: str | None = None) -> Paper:
    return Paper(id=ID, version=version, title="T", abstract="An abstract.", authors=("A",))


def test_served_version_from_the_url_the_base_or_the_text():
    assert served_version(ID, f"http://x/pdf/{ID}v2", b"", "pdf") == "v2"
    assert served_version(ID, f"http://x/pdf/{ID}", b"", "pdf") is None
    page = f'<head><base href="/html/{ID}v3/"></head>'.encode()
    assert served_version(ID, f"http://x/html/{ID}", page, "html") == "v3"
    assert served_version(ID, "http://x", f"see arxiv.org/abs/{ID}v4 ...".encode(), "html") == "v4"
    assert served_version(ID, "http://x", b"<html>nothing</html>", "html") is None


def test_the_cache_is_keyed_by_the_version_served(fulltext, pdf):
    server, source = fulltext
    server.routes[f"/pdf/{ID}"] = lambda req: Reply(302, b"", {"Location": f"/pdf/{ID}v2"})
    server.routes[f"/pdf/{ID}v2"] = lambda req: Reply(200, pdf)
    text, notes = source().fetch(paper())
    assert text.origin == "pdf" and text.version == "v2" and notes == ["html: HTTP 404"]
    assert sorted(p.name for p in source.cache.iterdir()) == [
        f"{ID}.html.404", f"{ID}.pdf.latest", f"{ID}v2.pdf"]
    server.requests.clear()
    assert source().fetch(paper())[0] == text and server.requests == []  # the same day
    assert source().fetch(paper("v2"))[0] == text  # the v2 PDF from the cache
    assert [r.path for r in server.requests] == [f"/html/{ID}v2"]  # (no v2 marker yet)
    server.requests.clear()
    server.routes[f"/pdf/{ID}v1"] = lambda req: Reply(200, pdf)
    assert source().fetch(paper("v1"))[0].version == "v1"  # never v2 for v1
    assert [r.path for r in server.requests] == [f"/html/{ID}v1", f"/pdf/{ID}v1"]


def test_an_unversioned_paper_asks_again_a_day_later(fulltext, pdf):
    server, source = fulltext
    server.routes[f"/pdf/{ID}"] = lambda req: Reply(302, b"", {"Location": f"/pdf/{ID}v2"})
    server.routes[f"/pdf/{ID}v2"] = lambda req: Reply(200, pdf)
    source().fetch(paper())
    server.routes[f"/pdf/{ID}"] = lambda req: Reply(302, b"", {"Location": f"/pdf/{ID}v3"})
    server.routes[f"/pdf/{ID}v3"] = lambda req: Reply(200, pdf)
    source.now[0] = T0 + timedelta(days=1).total_seconds() - 1
    assert source().fetch(paper())[0].version == "v2"  # the 404 marker still holds the HTML
    source.now[0] = T0 + timedelta(days=1).total_seconds()
    assert source().fetch(paper())[0].version == "v3"


def test_a_404_marker_expires_after_three_days(fulltext, pdf, html):
    server, source = fulltext
    server.routes[f"/pdf/{ID}v1"] = lambda req: Reply(200, pdf)
    source().fetch(paper("v1"))
    assert MISSING_TTL == timedelta(days=3)
    source.now[0] = T0 + MISSING_TTL.total_seconds() - 1
    assert source().fetch(paper("v1"))[1] == ["html: HTTP 404 (remembered from an earlier run)"]
    server.routes[f"/html/{ID}v1"] = lambda req: Reply(200, html)
    source.now[0] = T0 + MISSING_TTL.total_seconds()
    text, notes = source().fetch(paper("v1"))
    assert text.origin == "html" and notes == []


def age(path, seconds: float) -> None:
    os.utime(path, (T0 - seconds, T0 - seconds))


def test_cache_info_and_clear_from_the_front_door(tmp_path):
    settings = load_settings(env=local_env(tmp_path))
    cache = settings.cache_dir / "fulltext"
    cache.mkdir(parents=True)
    for name, body, days in (("a.html", b"12345", 10), ("b.pdf", b"123", 1),
                             ("a.pdf.404", b"", 4), ("b.html.404", b"", 1)):
        (cache / name).write_bytes(body)
        age(cache / name, timedelta(days=days).total_seconds())
    with papergist.open(settings) as pg:
        pg.wall_clock = lambda: T0
        info = pg.cache_info()
        assert (info.path, info.files, info.bytes, info.missing_markers,
                info.expired_markers) == (cache, 4, 8, 2, 1)
        cleared = pg.cache_clear(timedelta(days=2))
        assert (cleared.files, cleared.bytes) == (2, 5)
        assert sorted(p.name for p in cache.iterdir()) == ["b.html.404", "b.pdf"]
        assert pg.cache_clear().files == 2 and list(cache.iterdir()) == []


def test_cache_commands(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(papergist.cli, "now", lambda: T0)
    cache = tmp_path / "home" / "cache" / "fulltext"
    assert cli("cache", "info") == (0, f"{cache}: 0 files, 0 bytes; 0 404 markers "
                                       "(0 expired)\n", "")
    cache.mkdir(parents=True)
    (cache / "x.pdf").write_bytes(b"1234")
    (cache / "x.html.404").write_bytes(b"")
    age(cache / "x.html.404", timedelta(days=5).total_seconds())
    age(cache / "x.pdf", 60)
    assert cli("cache", "info")[1] == f"{cache}: 2 files, 4 bytes; 1 404 markers (1 expired)\n"
    assert cli("cache", "clear", "--older-than", "1")[1] == f"{cache}: deleted 1 files, 0 bytes\n"
    assert cli("cache", "clear")[1] == f"{cache}: deleted 1 files, 4 bytes\n"


def test_a_webhook_429_is_logged_without_its_url(caplog):
    from papergist.deliver.transports import post_json
    caplog.set_level(logging.DEBUG, logger="papergist")
    with FakeServer() as server:
        replies = [Reply(200, b"ok"), Reply(429, b"", {"Retry-After": "0"})]
        server.routes["/services/T000/B000/secret-token-123"] = lambda req: replies.pop()
        url = f"{server.url}/services/T000/B000/secret-token-123"
        post_json("slack", url, [{"text": "hi"}], sleep=lambda s: None)
    assert records(caplog, "throttled") == [{"event": "throttled", "service": "slack",
                                             "wait": 0.0}]
    assert all("secret-token" not in f"{r.getMessage()} {extra_fields(r)}"
               for r in caplog.records)


def test_every_wait_is_a_log_line(cli, fake_hf, llm, monkeypatch):
    """The politeness pacer's wait and a pause for a used-up quota are log lines with
    their seconds (`-vv --log-json`); so are 429s and retries (tests above)."""
    import fake_openai
    import papergist.http

    monkeypatch.setattr(papergist.http, "PACER_NOTE", 0.05)
    monkeypatch.setattr(fake_openai, "WINDOW", 1.0)  # the fake's minute, shortened
    monkeypatch.setenv("PAPERGIST_FULLTEXT_DELAY", "0.1")
    fake_hf.days = {DAY: load_day(DAY)[:3]}
    llm.rpm = 2  # the second reply says: no request left this (one-second) minute
    code, _, err = cli("-vv", "--log-json", "digest", DAY, "--model", "fake-gpt", "-f", "json",
                       "--rpm", "6000")  # our own limit: the headers' is not learned
    assert code == 0, err
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    pacer = [d for d in logged if d.get("event") == "pacer_wait"]
    pauses = [d for d in logged if d.get("event") == "pause"]
    assert pacer and all(0.05 <= d["wait"] <= 1.0 and d["level"] == "debug" for d in pacer)
    assert pauses and all(d["reason"] == "quota" and d["wait"] > 0 for d in pauses)
