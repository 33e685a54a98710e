"""Benchmark: a 50-paper day summarized by a model, against local fakes (issue 3).

Every model request takes 2 s on the fake OpenAI-compatible server; the fake
arXiv serves the real LaTeXML page as every paper's full text. Each scenario is
a fresh `papergist digest` process (start-up included) with a new store; the
baselines run in this process on the same fakes:

* fire-all: every request sent at once, no retry (what the classic tool does);
* sequential: one request after the other (measured only with --sequential).

Scenarios: (a) every 10th request answered 429 with Retry-After: 1; (b) one
request in three answered 429; (c) one reply in seven invalid or fenced JSON;
(d) a tokens-per-minute limit known to papergist and enforced by the server;
(e) re-running (a): no model request at all.

    python bench/llm50.py [--sequential] [--only a,b,c,d,e]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from day50 import CHILD, DAY, cpu_name, fifty_papers  # noqa: E402
from fake_openai import Fault, FakeOpenAI, every, one_in  # noqa: E402
from fakes import FakeHF, FakeServer, Reply, require_shared  # noqa: E402

LATENCY = 2.0
HTML = require_shared("arxiv_html/2508.08468v6_arxiv_html_2026-07.html").read_bytes()


def fake_arxiv(ids: list[str]) -> FakeServer:
    server = FakeServer()
    for paper_id in ids:
        server.routes[f"/html/{paper_id}"] = lambda req: Reply(200, HTML)
    return server


def run_papergist(env: dict[str, str], out: Path, *args: str) -> dict:
    """One `papergist digest` process; wall time from the parent, peak RSS from the child."""
    child = CHILD.replace('main(["digest", sys.argv[1], "-q", "-o", sys.argv[2]])',
                          'main(["digest", sys.argv[1], "-q", "-o", sys.argv[2], *sys.argv[3:]])')
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", child, DAY, str(out), *args], env=env,
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    result["summarized"] = out.read_text(encoding="utf-8").count("- **What's New**") \
        if out.exists() else 0
    result["stderr"] = proc.stderr
    return result


async def fire_all(base_url: str, prompts: list[list[dict]]) -> tuple[float, int]:
    """The classic tool: every request at once, no retry. (seconds, papers summarized)"""
    async with httpx2.AsyncClient(timeout=60, limits=httpx2.Limits(max_connections=100)) as c:
        async def one(messages):
            r = await c.post(f"{base_url}/chat/completions", json={
                "model": "fake-gpt", "messages": messages,
                "response_format": {"type": "json_object"}})
            return r.status_code == 200
        start = time.monotonic()
        ok = await asyncio.gather(*(one(m) for m in prompts))
        return time.monotonic() - start, sum(ok)


async def sequential(base_url: str, prompts: list[list[dict]]) -> float:
    """One request after the other (retrying 429s after a second)."""
    async with httpx2.AsyncClient(timeout=60) as c:
        start = time.monotonic()
        for messages in prompts:
            while (await c.post(f"{base_url}/chat/completions", json={
                    "model": "fake-gpt", "messages": messages})).status_code != 200:
                await asyncio.sleep(1)
        return time.monotonic() - start


def prompts_for(entries: list[dict]) -> list[list[dict]]:
    from papergist.summarize.prompts import build_messages
    return [build_messages(e["paper"]["title"], e["paper"]["summary"], None, "en")
            for e in entries]


def row(name: str, r: dict, llm: FakeOpenAI, note: str = "") -> str:
    statuses = llm.statuses()
    return (f"| {name} | {r['wall_s']:.1f} | {r['summarized']}/50 | {len(statuses)} "
            f"| {statuses.count(429)} | {llm.max_in_flight} | {r['peak_rss_mb']:.0f} | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", action="store_true", help="also time a sequential run")
    parser.add_argument("--only", default="a,b,c,d,e")
    args = parser.parse_args()
    entries = fifty_papers()
    ids = [e["paper"]["id"] for e in entries]
    print(f"# {date.today()} · {cpu_name()} · {os.cpu_count()} cores · "
          f"Python {sys.version.split()[0]} · {LATENCY:g} s per model request")
    print("| run | wall (s) | summarized | requests | 429s | most in flight | peak RSS (MB) | |")
    print("|---|---|---|---|---|---|---|---|")
    with FakeHF({DAY: entries}, today=date.today().isoformat()) as hf, fake_arxiv(ids) as arxiv:
        def env(home: str, llm: FakeOpenAI, **extra: str) -> dict[str, str]:
            return {**os.environ, "PAPERGIST_HOME": home, "HF_ENDPOINT": hf.url,
                    "PAPERGIST_ARXIV_URL": arxiv.url, "PAPERGIST_FULLTEXT_DELAY": "0",
                    "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "bench", **extra}

        with FakeOpenAI(latency=LATENCY) as llm:
            seconds, ok = asyncio.run(fire_all(llm.base_url, prompts_for(entries)))
            print(f"| fire-all, no faults (baseline) | {seconds:.1f} | {ok}/50 | 50 | 0 "
                  f"| {llm.max_in_flight} | | |")
            llm.calls.clear()
            llm.plan = every(10, Fault("status", status=429, retry_after=1))
            seconds, ok = asyncio.run(fire_all(llm.base_url, prompts_for(entries)))
            print(f"| fire-all, every 10th 429 (baseline) | {seconds:.1f} | {ok}/50 | 50 "
                  f"| {50 - ok} | | | papers lost |")
        if args.sequential:
            with FakeOpenAI(latency=LATENCY) as llm:
                print(f"| sequential (baseline) | {asyncio.run(sequential(llm.base_url, prompts_for(entries))):.1f} "
                      f"| 50/50 | 50 | 0 | 1 | | |")
        scenarios = {
            "a": ("(a) every 10th request 429, Retry-After 1",
                  dict(plan=every(10, Fault("status", status=429, retry_after=1))), {}),
            "b": ("(b) one request in three 429", dict(plan=one_in(3, Fault(
                "status", status=429, retry_after=1), seed=3)), {}),
            "c": ("(c) one reply in seven invalid or fenced JSON", dict(plan=lambda i, r: (
                one_in(7, Fault("invalid_json" if i % 2 else "fenced_json"), seed=7)(i, r))), {}),
        }
        homes: dict[str, str] = {}
        for key, (name, fake_args, extra) in scenarios.items():
            if key not in args.only:
                continue
            with FakeOpenAI(latency=LATENCY, **fake_args) as llm:
                home = homes[key] = tempfile.mkdtemp(prefix=f"pg-bench-{key}-")
                r = run_papergist(env(home, llm, **extra), Path(home) / "day.md",
                                  "--model", "fake-gpt")
                print(row(name, r, llm))
        if "d" in args.only:
            run_tpm_scenario(env)
        if "e" in args.only and "a" in homes:
            with FakeOpenAI(latency=LATENCY) as llm:
                r = run_papergist(env(homes["a"], llm), Path(homes["a"]) / "again.md",
                                  "--model", "fake-gpt")
                print(row("(e) re-run of (a)", r, llm))


def run_tpm_scenario(env) -> None:
    """(d): measure the day's tokens, then run under a limit of a third of them per minute."""
    with FakeOpenAI(latency=LATENCY) as llm:
        home = tempfile.mkdtemp(prefix="pg-bench-d0-")
        out = Path(home) / "day.json"
        run_papergist(env(home, llm), out, "--model", "fake-gpt", "-f", "json")
        day_tokens = json.loads(out.read_text())["usage"]
        total = day_tokens["prompt_tokens"] + day_tokens["completion_tokens"]
    tpm = total // 3
    with FakeOpenAI(latency=LATENCY, tpm=tpm) as llm:
        home = tempfile.mkdtemp(prefix="pg-bench-d-")
        r = run_papergist(env(home, llm, PAPERGIST_TPM=str(tpm)), Path(home) / "day.md",
                          "--model", "fake-gpt")
        expected = 60 * total / tpm
        print(row(f"(d) {tpm:,} tokens/min known and enforced", r, llm,
                  f"day = {total:,} tokens: tokens/limit = {expected:.0f} s"))


if __name__ == "__main__":
    main()
