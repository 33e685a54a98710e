"""The `papergist` command end to end: real HTTP to local fakes, a real store on disk."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import CLOCKS, local_env
from fakes import Reply, load_day

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PAPERGIST_UPDATE_GOLDEN") == "1"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"differs from golden {path}"


@pytest.mark.parametrize("day", ["2024-08-26", "2026-08-20"])
def test_golden_markdown_and_json(cli, day):
    code, out, err = cli("digest", day)
    assert code == 0, err
    _golden(f"{day}.md", out)
    code, out, err = cli("digest", day, "--format", "json")
    assert code == 0, err
    _golden(f"{day}.json", out)


def test_order_authors_and_contract_keys(cli):
    code, out, _ = cli("digest", "2024-08-26", "--format", "json")
    doc = json.loads(out)
    raw = {e["paper"]["id"]: e for e in load_day("2024-08-26")}
    assert doc["date"] == "2024-08-26"
    votes = [(p["upvotes"], list(raw).index(p["id"])) for p in doc["papers"]]
    assert votes == sorted(votes, key=lambda v: (-v[0], v[1]))
    for paper in doc["papers"]:
        assert {"id", "title", "authors", "upvotes", "url", "thumbnail", "sections",
                "summarizer", "source"} <= set(paper)
        assert paper["authors"] == [a["name"] for a in raw[paper["id"]]["paper"]["authors"]]
        assert set(paper["sections"]) == {"whats_new", "technical_details", "performance_highlights"}
        assert paper["source"] == "abstract" and paper["summarizer"] == "extractive"
        assert paper["url"] == f"https://arxiv.org/abs/{paper['id']}"


def test_progress_and_report_on_stderr_only(cli):
    code, out, err = cli("digest", "2024-08-26")
    assert out.startswith("## Daily Papers (2024-08-26)\n") and "fetched" not in out
    assert "2024-08-26: 11 fetched, 11 summarized, 0 failed" in err
    code, out, err = cli("digest", "2024-08-26", "-q")
    assert code == 0 and out.startswith("## Daily Papers") and err == ""


def test_rerun_is_idempotent(cli, tmp_path):
    first = cli("digest", "2024-08-26")
    second = cli("digest", "2024-08-26")
    assert first[:2] == second[:2]
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        assert conn.execute("select count(*) from papers").fetchone()[0] == 11
        assert conn.execute("select count(*) from daily_entries").fetchone()[0] == 11
        assert conn.execute("select count(*) from summaries").fetchone()[0] == 11
        runs = conn.execute("select command, day, fetched, exit_status from runs").fetchall()
    assert runs == [("digest", "2024-08-26", 11, 0)] * 2


def test_output_file_and_out_dir(cli, tmp_path):
    code, out, err = cli("digest", "2024-08-26", "-o", "day.md")
    assert code == 0 and out == "" and "Wrote day.md" in err
    assert (tmp_path / "day.md").read_text(encoding="utf-8").startswith("## Daily Papers (2024-08-26)")
    code, out, _ = cli("digest", "2024-08-26", "--out-dir", "papers", "--format", "json")
    assert code == 0 and json.loads((tmp_path / "papers/2024/08/26.json").read_text())["date"]
    assert not list(tmp_path.glob("papers/2024/08/.*.tmp"))


def test_range_fills_and_skips(cli, tmp_path):
    done = tmp_path / "papers/2024/08/20.md"
    done.parent.mkdir(parents=True)
    done.write_text("kept\n")
    code, out, err = cli("digest", "--since", "2024-08-19", "--until", "2024-08-25",
                         "--out-dir", "papers")
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "papers/2024/08").iterdir())
    assert written == ["19.md", "20.md", "21.md", "22.md", "23.md"]  # 24, 25: weekend
    assert done.read_text() == "kept\n"
    assert "No papers in HF Daily Papers for 2024-08-24" in err and "20.md exists, skipped" in err


@pytest.mark.parametrize("today", CLOCKS)
def test_newest_day_is_said(cli, fake_hf, today):
    yesterday = today - timedelta(days=1)
    fake_hf.days = {yesterday.isoformat(): load_day("2024-08-26")}
    code, out, err = cli("digest")
    assert code == 0
    assert f"Using {yesterday}, the newest day HF Daily Papers has published" in err
    assert out.startswith(f"## Daily Papers ({yesterday})")


@pytest.mark.parametrize("today", CLOCKS)
def test_newest_day_steps_over_a_day_hf_has_not_opened(cli, fake_hf, today):
    """HF's day lags ours (around midnight UTC): its 400 for today means "not yet"."""
    yesterday = today - timedelta(days=1)
    fake_hf.today = yesterday.isoformat()
    fake_hf.days = {yesterday.isoformat(): load_day("2024-08-26")}
    code, out, err = cli("digest")
    assert code == 0, err
    assert f"HF Daily Papers has not opened {today} yet" in err
    assert out.startswith(f"## Daily Papers ({yesterday})")


def test_newest_day_other_400_is_an_error(cli, fake_hf):
    fake_hf.fail = lambda req: Reply(400, '{"error": "limit must be at most 100"}')
    code, out, err = cli("digest")
    assert (code, out) == (5, "") and "limit must be at most 100" in err


@pytest.mark.parametrize("today", CLOCKS)
def test_no_papers_in_a_week_is_empty(cli, fake_hf, today):
    fake_hf.days = {}
    code, out, err = cli("digest")
    assert (code, out) == (4, "") and f"no papers in the week up to {today}" in err


@pytest.mark.parametrize("today", CLOCKS)
def test_a_future_day_is_refused_by_our_clock(cli, fake_hf, today):
    tomorrow = today + timedelta(days=1)
    code, out, err = cli("digest", tomorrow.isoformat())
    assert (code, out) == (2, "") and f"{tomorrow} is in the future (today is {today}" in err
    assert fake_hf.hits("/api/daily_papers") == []


def test_empty_day_writes_nothing(cli, tmp_path):
    code, out, err = cli("digest", "2024-08-24", "-o", "sat.md")
    assert code == 4 and out == "" and not (tmp_path / "sat.md").exists()
    assert "No papers in HF Daily Papers for 2024-08-24" in err


@pytest.mark.parametrize("args, status, message", [
    (("digest", "2024-13-01"), 2, "invalid date '2024-13-01': use YYYY-MM-DD"),
    (("digest", "yesterday"), 2, "invalid date 'yesterday'"),
    (("digest", "2999-01-01"), 2, "2999-01-01 is in the future"),
    (("digest", "2024-08-26", "--lang", "ko"), 2, "needs a model"),
    (("digest", "--ids", "2408.12637,not-an-id"), 2, "not an arXiv id: 'not-an-id'"),
    (("digest", "2024-08-26", "--format", "pdf"), 2, "unknown format 'pdf'"),
    (("digest", "2024-08-26", "--ids", "2408.12637"), 2, "give only one of DATE, --ids"),
    (("digest", "--since", "2024-08-19"), 2, "give --out-dir"),
    (("digest", "2024-08-26", "-o", "/proc/nope/x.md"), 6, "directory /proc/nope does not exist"),
    (("digest", "2024-08-26", "-o", "."), 6, "cannot write .: it is a directory"),
    (("digest", "2024-08-26", "--out-dir", "/proc/1/x"), 6, "is not a writable directory"),
])
def test_bad_input_is_one_clear_line(cli, fake_hf, args, status, message):
    code, out, err = cli(*args)
    assert code == status
    assert message in err
    assert "Traceback" not in err and out == ""
    assert len(err.strip().splitlines()) == 1


def test_write_failure_after_the_work_is_exit_6(cli, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    code, out, err = cli("digest", "2024-08-26", "--out-dir", "blocker/sub")
    assert code == 6 and "cannot write into blocker/sub" in err
    code, out, err = cli("digest", "2024-08-26", "-o", "/proc/x.md")  # root may, /proc may not
    assert code == 6 and "papergist: error: cannot write /proc/x.md" in err and out == ""


def test_hf_400_is_a_clear_error(cli, fake_hf):
    fake_hf.today = "2024-08-27"  # HF's clock says the day has not come yet
    code, out, err = cli("digest", "2024-08-30")
    assert code == 2 and "HF Daily Papers has no list for 2024-08-30" in err and out == ""


@pytest.mark.parametrize("reply, status, message", [
    (Reply(503, "down"), 5, "HF Daily Papers is unavailable after 3 attempts (HTTP 503: down)"),
    (Reply(200, '[{"paper": {"id": "2408'), 5, "invalid JSON"),
    (Reply(200, '{"error": "Invalid date"}'), 5, "answered with an error: Invalid date"),
])
def test_source_failures_exit_5_without_output(cli, fake_hf, reply, status, message):
    fake_hf.fail = lambda req: reply
    code, out, err = cli("digest", "2024-08-26")
    assert (code, out) == (status, "")
    assert message in err and "Traceback" not in err


def test_broken_entries_are_reported_not_dropped(cli, fake_hf):
    raw = load_day("2024-08-26")
    del raw[2]["paper"]["title"], raw[2]["title"]
    raw[3]["paper"]["summary"] = ""
    fake_hf.days = {"2024-08-26": raw}
    code, out, err = cli("digest", "2024-08-26")
    assert code == 3
    assert "11 fetched, 9 summarized, 2 failed" in err
    assert f"failed {raw[2]['paper']['id']} (fetch): HF entry unreadable" in err
    assert f"failed {raw[3]['paper']['id']} (source): no source" in err
    assert out.count("\n### [") == 10  # the one without a title cannot be shown
    assert "> **No summary**: no source: neither full text nor abstract" in out


@pytest.mark.parametrize("today", CLOCKS)
def test_ids_digest_and_unknown_id(cli, arxiv, today):
    code, out, err = cli("digest", "--ids", "2408.12637,2408.13252")
    assert code == 0, err
    assert out.startswith(f"## arXiv Papers ({today})")
    assert out.index("(https://arxiv.org/abs/2408.12637)") < out.index("(https://arxiv.org/abs/2408.13252)")
    assert "Vote:" not in out
    arxiv.unknown = {"2408.99999"}
    code, out, err = cli("digest", "--ids", "2408.12637,2408.99999", "--format", "json")
    assert code == 3
    assert "failed 2408.99999 (fetch): arXiv has no paper with this id" in err
    assert [p["id"] for p in json.loads(out)["papers"]] == ["2408.12637"]


def test_every_command_has_help_with_an_example(cli):
    for args in (("--help",), ("digest", "--help"), ("settings", "--help"), ("verify", "--help")):
        code, out, _ = cli(*args)
        assert code == 0 and "papergist" in out
        if args != ("--help",):
            assert "Example" in out
    code, out, _ = cli("--help")
    assert "Exit status" in out and "4  empty" in out


def test_settings_shows_origins(cli, tmp_path):
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "config.toml").write_text('hf_page_size = 20\n')
    code, out, _ = cli("settings")
    assert "hf_page_size = 20  [config; PAPERGIST_HF_PAGE_SIZE]" in out
    assert "arxiv_delay = 0.0  [env; PAPERGIST_ARXIV_DELAY]" in out


def test_bad_config_is_a_clear_error(cli, tmp_path):
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "config.toml").write_text('hf_page_sise = 20\n')
    code, out, err = cli("digest", "2024-08-26")
    assert code == 2 and "unknown setting(s)" in err and "hf_page_sise" in err


@pytest.mark.slow
def test_real_processes(tmp_path, fake_hf):
    env = {**os.environ, **local_env(tmp_path / "home", fake_hf.url)}
    by_module = subprocess.run([sys.executable, "-m", "papergist", "digest", "2024-08-26"],
                               capture_output=True, text=True, env=env, timeout=60)
    script = Path(sys.executable).with_name("papergist")
    by_script = subprocess.run([str(script), "digest", "2024-08-26"], capture_output=True,
                               text=True, env=env, timeout=60)
    for proc in (by_module, by_script):
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == (GOLDEN / "2024-08-26.md").read_text(encoding="utf-8")


def test_range_stops_on_a_source_failure_and_keeps_written_days(cli, fake_hf, tmp_path):
    fake_hf.fail = lambda req: Reply(503, "down") if req.query["date"] == "2024-08-21" else None
    code, out, err = cli("digest", "--since", "2024-08-19", "--until", "2024-08-23",
                         "--out-dir", "papers", "-q")
    assert code == 5 and "HF Daily Papers is unavailable" in err
    assert sorted(p.name for p in (tmp_path / "papers/2024/08").iterdir()) == ["19.md", "20.md"]
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        statuses = conn.execute("select day, exit_status from runs order by id").fetchall()
    assert statuses == [("2024-08-19", 0), ("2024-08-20", 0), ("2024-08-21", 5)]
