"""A run's life with real processes: runs at once pay once, Ctrl-C stops at once,
a range of days keeps one scheduler."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date

from conftest import LLM_KEY, local_env
from fakes import Reply, load_day
from papergist.core import Papergist
from papergist.settings import load_settings
from papergist.store import Store

DAY = "2024-08-26"
PAPERS = 11


def _env(tmp_path, fake_hf, arxiv, llm) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERGIST_", "OPENAI_"))}
    return {**base, **local_env(tmp_path / "home", fake_hf.url, arxiv.url),
            "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": LLM_KEY}


def test_three_runs_of_one_day_at_once_pay_for_each_summary_once(tmp_path, fake_hf, arxiv,
                                                                    llm):
    """A cron job and two people run the same day on one store at the same moment."""
    llm.latency = 0.3
    env = _env(tmp_path, fake_hf, arxiv, llm)
    args = [sys.executable, "-m", "papergist", "digest", DAY, "--model", "fake-gpt",
            "--lang", "ko", "-q"]
    runs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(3)]
    outs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outs]
    assert all(out.count("\n### [") == PAPERS for out, _ in outs)
    assert [c.status for c in llm.calls].count(200) == PAPERS
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        assert conn.execute("select count(*) from summaries").fetchone()[0] == PAPERS
        assert conn.execute("select count(*) from summary_leases").fetchone()[0] == 0
    conn.close()


def test_a_summary_stored_between_our_look_and_our_claim_is_not_paid_again(cli, llm,
                                                                           monkeypatch):
    """The race the three runs above can lose: run B looks (no summary), run A stores it and
    gives its lease back, then B's claim wins a free lease. B must look once more."""
    assert cli("digest", DAY, "--model", "fake-gpt", "-q")[0] == 0
    assert [c.status for c in llm.calls].count(200) == PAPERS
    looked: set[str] = set()
    get_summary = Store.get_summary

    def first_look_too_early(self, paper_id, **key):
        if paper_id not in looked:  # B's look, just before A stored this summary
            looked.add(paper_id)
            return None
        return get_summary(self, paper_id, **key)
    monkeypatch.setattr(Store, "get_summary", first_look_too_early)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-q")
    assert code == 0, err
    assert out.count("\n### [") == PAPERS and looked
    assert [c.status for c in llm.calls].count(200) == PAPERS


def test_waiting_for_another_runs_summary_is_a_log_line_and_pays_nothing(cli, llm, monkeypatch):
    """Another run holds one paper's lease, then stores its summary and lets go: this run
    says it waits (`lease_wait`), then takes that summary."""
    import papergist.pipeline
    monkeypatch.setattr(papergist.pipeline, "LEASE_POLL", 0.05)
    assert cli("digest", DAY, "--model", "fake-gpt", "-q")[0] == 0  # the other run's work
    held = {"2408.12637": 3}  # claims refused while the other run still writes it
    claim, get_summary = Store.claim_summary, Store.get_summary
    first_look: set[str] = set()

    def busy(self, paper_id, **key):
        if held.get(paper_id):
            held[paper_id] -= 1
            return False
        return claim(self, paper_id, **key)

    def not_yet(self, paper_id, **key):  # before the other run stored it
        if paper_id not in first_look:
            first_look.add(paper_id)
            return None
        return get_summary(self, paper_id, **key)
    monkeypatch.setattr(Store, "claim_summary", busy)
    monkeypatch.setattr(Store, "get_summary", not_yet)
    code, out, err = cli("-v", "--log-json", "digest", DAY, "--model", "fake-gpt", "-q")
    assert code == 0, err
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    waits = [d for d in logged if d.get("event") == "lease_wait"]
    assert [(d["paper"], d["poll"]) for d in waits] == [("2408.12637", 0.05)]
    assert held == {"2408.12637": 0}
    assert [c.status for c in llm.calls].count(200) == PAPERS  # nothing paid twice


def test_ctrl_c_while_full_texts_download_stops_within_two_seconds(tmp_path, fake_hf, arxiv,
                                                                   llm):
    """arXiv answers after 30 s; Ctrl-C must not wait for it (nor for retries)."""
    for entry in load_day(DAY):
        arxiv.routes[f"/html/{entry['paper']['id']}"] = lambda req: Reply(200, b"x", delay=30)
    env = {**_env(tmp_path, fake_hf, arxiv, llm), "PAPERGIST_HTTP_TIMEOUT": "60"}
    proc = subprocess.Popen([sys.executable, "-m", "papergist", "digest", DAY, "--model",
                             "fake-gpt"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(arxiv.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - interrupted < 2.0
    assert (proc.returncode, out) == (130, "")
    assert err.strip().endswith(INTERRUPTED) and "Traceback" not in err
    assert not list((tmp_path / "home").rglob("*.tmp"))  # nothing half-written


INTERRUPTED = "papergist: interrupted; what was finished is kept (run again to finish)"


def test_every_command_says_the_same_when_interrupted(tmp_path):
    """`verify -` waiting for its input, interrupted: the same line, exit 130."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PAPERGIST_")},
           "PAPERGIST_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "papergist", "verify", "-"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # started and reading stdin
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out) == (130, "")
    assert err.strip() == INTERRUPTED


def test_a_range_of_days_keeps_one_scheduler(tmp_path, fake_hf, arxiv, llm, today):
    """What the scheduler learned on one day (its request log, its window) carries on."""
    fake_hf.days = {"2024-08-22": load_day("2024-08-22"), "2024-08-23": load_day("2024-08-23")}
    env = {**local_env(tmp_path / "home", fake_hf.url, arxiv.url),
           "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": LLM_KEY}
    settings = load_settings({"model": "fake-gpt", "rpm": 100_000}, env=env)
    with Papergist(settings, today=lambda: today) as pg:
        days = list(pg.digest_range(date(2024, 8, 22), date(2024, 8, 23)))
        scheduler = pg.summarizer().scheduler
        papers = sum(len(d.result.digest.items) for d in days)
        assert [d.result.report.complete for d in days] == [True, True]
        assert scheduler.stats.requests == papers == len(llm.calls)
        assert len(scheduler.limits._log) == papers  # one request log across the days
