"""The fault matrix (issue 8, item 5): each fault against real local servers, end to end.

Every case ends in a complete digest or a named per-paper failure with a non-zero
exit, nothing is lost from the store, and a re-run after the fault heals recovers.
Cases already covered elsewhere are only completed here (store kept, re-run).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from fakes import Reply, load_day

DAY = "2024-08-26"
PAPERS = 11  # entries of the recorded 2024-08-26
TABLES = ("papers", "daily_entries", "summaries", "runs")


def counts(tmp_path: Path) -> dict[str, int]:
    """Rows per table of the store the `cli` fixture uses."""
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}


def runs(tmp_path: Path) -> list[tuple[str, int]]:
    """(day, exit status) of every recorded run, in order."""
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        return conn.execute("select day, exit_status from runs order by id").fetchall()


def complete(cli, *args: str) -> str:
    """Run a digest that must be whole: exit 0, every paper summarized; its stdout."""
    code, out, err = cli("digest", DAY, *args)
    assert code == 0, err
    return out


# --- HF Daily Papers: the whole request fails --------------------------------------------

HTML_200 = ("<!DOCTYPE html><html><head><title>Hugging Face - We'll be right back</title>"
            "</head><body><h1>503</h1></body></html>")


@pytest.mark.parametrize("reply, message", [
    (Reply(500, '{"error": "Internal Error"}'),
     "HF Daily Papers is unavailable after 3 attempts (HTTP 500: Internal Error); try again later"),
    (Reply(503, "busy", {"Retry-After": "0"}),
     "HF Daily Papers is unavailable after 3 attempts (HTTP 503: busy)"),
    (Reply(429, '{"error": "Too Many Requests"}', {"Retry-After": "0"}),
     "HF Daily Papers is unavailable after 3 attempts (HTTP 429: Too Many Requests)"),
    (Reply(200, '[{"paper": {"id": "2408.12637", "title": "Build'),
     "HF Daily Papers sent invalid JSON (Unterminated string starting at); the reply may be "
     "truncated, try again later"),
    (Reply(200, HTML_200, {"Content-Type": "text/html"}),
     "HF Daily Papers sent invalid JSON (Expecting value); the reply may be truncated"),
    (Reply(200, '{"2408.12637": {"title": "x"}}'),
     "HF Daily Papers sent a JSON dict, not the list of papers it documents"),
], ids=["500", "503", "429", "truncated-json", "html-200", "object-not-list"])
def test_hf_whole_day_fault_keeps_the_store_and_a_rerun_recovers(cli, fake_hf, tmp_path,
                                                                 reply, message):
    """HF 500 / 503 / 429 / truncated JSON / HTML page with 200 / an object, not a list:
    exit 5 with one clear line, a stored day untouched; healed, the day is whole."""
    fake_hf.fail = lambda req: reply
    code, out, err = cli("digest", DAY)
    assert (code, out) == (5, "") and f"papergist: error: {message}" in err
    assert "Traceback" not in err
    assert counts(tmp_path) == {"papers": 0, "daily_entries": 0, "summaries": 0, "runs": 1}
    fake_hf.fail = None
    complete(cli)
    fake_hf.fail = lambda req: reply  # a stored day survives a failing re-run
    assert cli("digest", DAY)[0] == 5
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 3}
    assert runs(tmp_path) == [(DAY, 5), (DAY, 0), (DAY, 5)]


def test_hf_503_retry_after_is_waited_for(cli, fake_hf, monkeypatch):
    """HF 503 with Retry-After: 1 once: the retry waits the second asked, then the day
    is whole."""
    replies = [Reply(503, "busy", {"Retry-After": "1"})]
    fake_hf.fail = lambda req: replies.pop() if replies else None
    complete(cli)
    first, second = fake_hf.hits("/api/daily_papers")[:2]
    assert second.time - first.time >= 1.0


def test_hf_refused_connection_then_recovers(cli, fake_hf, tmp_path, monkeypatch):
    """HF refuses the connection (nothing listens): exit 5, named; pointed back, whole."""
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    code, out, err = cli("digest", DAY)
    assert (code, out) == (5, "")
    assert "papergist: error: HF Daily Papers is unavailable after 3 attempts (cannot connect " \
           "to 127.0.0.1); try again later" in err
    monkeypatch.setenv("HF_ENDPOINT", fake_hf.url)
    complete(cli)
    assert counts(tmp_path)["papers"] == PAPERS and runs(tmp_path) == [(DAY, 5), (DAY, 0)]


def test_hf_hang_past_http_timeout_then_recovers(cli, fake_hf, tmp_path, monkeypatch):
    """HF answers after the http_timeout: each attempt times out, exit 5 in about
    retries x timeout; once it answers in time, the day is whole."""
    monkeypatch.setenv("PAPERGIST_HTTP_TIMEOUT", "0.3")
    monkeypatch.setenv("PAPERGIST_HTTP_RETRIES", "2")
    fake_hf.fail = lambda req: Reply(200, "[]", delay=1.5)
    start = time.monotonic()
    code, out, err = cli("digest", DAY)
    assert time.monotonic() - start < 1.5
    assert (code, out) == (5, "")
    assert "HF Daily Papers is unavailable after 2 attempts (timed out); try again later" in err
    fake_hf.fail = None
    complete(cli)
    assert runs(tmp_path) == [(DAY, 5), (DAY, 0)]


# --- HF Daily Papers: some entries are wrong ---------------------------------------------


def broken(entry: dict, how: str) -> None:
    """Spoil one raw HF entry in place."""
    if how == "no-paper":
        del entry["paper"]
    elif how == "null-title":
        entry["paper"]["title"] = None
        entry.pop("title", None)
    elif how == "dotdot-id":
        entry["paper"]["id"] = "../../../etc/passwd"
    elif how == "slash-id":
        entry["paper"]["id"] = "2408.12637/../../x"


@pytest.mark.parametrize("how, shown, reason", [
    ("no-paper", "entry-3", "entry 3: no 'paper' object"),
    ("null-title", "{id}", "entry 3 ({id}): no title"),
    ("dotdot-id", "../../../etc/passwd",
     "entry 3: paper.id missing or not an arXiv id ('../../../etc/passwd')"),
    ("slash-id", "2408.12637/../../x",
     "entry 3: paper.id missing or not an arXiv id ('2408.12637/../../x')"),
])
def test_hf_unreadable_entry_is_a_named_failure_and_a_rerun_recovers(cli, fake_hf, tmp_path,
                                                                    how, shown, reason):
    """HF entry without `paper`, with a null title, or an id with `../` or `/`: that
    paper fails by name (exit 3), the other ten are stored and summarized; healed, 11."""
    raw = load_day(DAY)
    good_id = raw[2]["paper"]["id"]
    broken(raw[2], how)
    fake_hf.days = {DAY: raw}
    code, out, err = cli("digest", DAY)
    assert code == 3
    assert f"{DAY}: {PAPERS} fetched, {PAPERS - 1} summarized, 1 failed" in err
    assert f"  failed {shown.format(id=good_id)} (fetch): HF entry unreadable: " \
           f"{reason.format(id=good_id)}" in err
    assert counts(tmp_path) == {"papers": PAPERS - 1, "daily_entries": PAPERS - 1,
                                "summaries": PAPERS - 1, "runs": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no file from the id
    fake_hf.days = {DAY: load_day(DAY)}
    complete(cli)
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 2}


def test_hf_entry_without_authors_is_kept_without_authors(cli, fake_hf, tmp_path):
    """HF entry with no `authors` (or null): a paper with no author line, not a failure."""
    raw = load_day(DAY)
    del raw[0]["paper"]["authors"]
    raw[1]["paper"]["authors"] = None
    fake_hf.days = {DAY: raw}
    doc = json.loads(complete(cli, "-f", "json"))
    by_id = {p["id"]: p for p in doc["papers"]}
    assert len(by_id) == PAPERS
    assert by_id[raw[0]["paper"]["id"]]["authors"] == []
    assert by_id[raw[1]["paper"]["id"]]["authors"] == []
    assert counts(tmp_path)["summaries"] == PAPERS


def test_hf_duplicate_ids_in_a_day_are_one_paper(cli, fake_hf, tmp_path):
    """HF lists one paper three times in a day: one entry, at its first place; exit 0."""
    raw = load_day(DAY)
    raw = raw[:5] + [raw[0], raw[4]] + raw[5:] + [raw[0]]
    fake_hf.days = {DAY: raw}
    doc = json.loads(complete(cli, "-f", "json"))
    ids = [p["id"] for p in doc["papers"]]
    assert len(ids) == len(set(ids)) == PAPERS
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 1}
