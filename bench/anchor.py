"""Benchmark: papergist against the fire-everything anchor, at the anchor's own game (issue 8).

Same 50 papers as `llm50.py`. The fake arXiv has no HTML page for any of them
(404) and serves one of the two real PDFs of the fixtures as each paper's PDF;
every model request takes 2 s. The *anchor* is what the fastest tool in the
field does, on the same fakes: download every PDF at once, extract every text
layer, fire every model request at once, and resend a 429 after its
`Retry-After` (it loses papers to spoiled replies: it never asks again).
Both run as fresh processes, start-up included (the anchor is given the list of
papers; papergist fetches it from the fake HF API), papergist with
`PAPERGIST_FULLTEXT_DELAY=0` and a new store each time.

Scenarios, each anchor and papergist side by side in one run:

* throttled: every 10th request answered 429 with `Retry-After: 1`
  (target: papergist <= 1.0x the anchor);
* spoiled: every 7th reply cut in half, counted over all requests
  (target: 50/50; the anchor loses about 7);
* heavy: one request in three 429 (target: 50/50 within 30 s);
* known: a requests-per-minute limit the server announces in its
  `x-ratelimit-*` headers, never given to papergist (target: zero 429s after the
  first replies);
* polite (`--polite`): the default `fulltext_delay` of 1 s, 100 arXiv requests
  (target: <= requests x delay + two model latencies + 3 s).

    python bench/anchor.py [--only throttled,spoiled,heavy,known] [--polite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx2
import pypdfium2 as pdfium

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from day50 import DAY, cpu_name, fifty_papers  # noqa: E402
from fake_openai import Fault, FakeOpenAI, every, one_in  # noqa: E402
from fakes import FakeHF, FakeServer, Reply, require_shared  # noqa: E402
from llm50 import run_papergist  # noqa: E402

LATENCY = 2.0
PDFS = [p.read_bytes() for p in sorted(require_shared("arxiv_pdf").glob("*.pdf"))]


def pdf_arxiv(ids: list[str]) -> FakeServer:
    """No HTML page for anyone; a real PDF for everyone."""
    server = FakeServer()
    for n, paper_id in enumerate(ids):
        body = PDFS[n % len(PDFS)]
        server.routes[f"/pdf/{paper_id}"] = lambda req, body=body: Reply(
            200, body, {"Content-Type": "application/pdf"})
    return server


PDFIUM = threading.Lock()  # pdfium is not thread-safe, for the anchor as for papergist


def pdf_text(body: bytes) -> str:
    with PDFIUM:
        doc = pdfium.PdfDocument(body)
        try:
            return "\n".join(page.get_textpage().get_text_range() for page in doc)[:40_000]
        finally:
            doc.close()


async def anchor(arxiv_url: str, base_url: str, entries: list[dict]) -> tuple[float, int]:
    """Everything at once: PDFs, text, model requests; 429s resent after Retry-After."""
    start = time.monotonic()
    async with httpx2.AsyncClient(timeout=120, limits=httpx2.Limits(max_connections=200)) as c:
        async def one(entry: dict) -> bool:
            paper = entry["paper"]
            pdf = (await c.get(f"{arxiv_url}/pdf/{paper['id']}")).content
            text = await asyncio.to_thread(pdf_text, pdf)
            messages = [{"role": "system", "content": "Summarize as JSON with whats_new, "
                         "technical_details, performance_highlights. Output language: "
                         "English (en)"},
                        {"role": "user", "content": f"<paper><title>{paper['title']}</title>"
                         f"<abstract>{paper['summary']}</abstract><text>{text}</text></paper>"}]
            while True:
                r = await c.post(f"{base_url}/chat/completions", json={
                    "model": "fake-gpt", "messages": messages, "max_tokens": 1500,
                    "response_format": {"type": "json_object"}})
                if r.status_code != 429:
                    break
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            content = r.json()["choices"][0]["message"]["content"] if r.status_code == 200 else ""
            return r.status_code == 200 and content.rstrip().endswith("}")
        ok = await asyncio.gather(*(one(e) for e in entries))
    return time.monotonic() - start, sum(ok)


def run_anchor(arxiv_url: str, base_url: str, entries: list[dict]) -> tuple[float, int]:
    """The anchor as a fresh process: (wall seconds from the parent, papers summarized)."""
    papers = Path(tempfile.mkdtemp(prefix="pg-anchor-")) / "papers.json"
    papers.write_text(json.dumps(entries), encoding="utf-8")
    start = time.monotonic()
    done = subprocess.run([sys.executable, __file__, "--anchor", arxiv_url, base_url,
                           str(papers)], capture_output=True, text=True, check=True)
    return time.monotonic() - start, int(done.stdout.strip().splitlines()[-1])


SCENARIOS = {
    "throttled": ("every 10th request 429, Retry-After 1",
                  dict(plan=every(10, Fault("status", status=429, retry_after=1)))),
    "spoiled": ("every 7th reply cut in half", dict(plan=every(7, Fault("truncated")))),
    "heavy": ("one request in three 429", dict(plan=one_in(3, Fault(
        "status", status=429, retry_after=1), seed=3))),
    "known": ("limit of 40 requests/min announced in headers", dict(rpm=40)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--polite", action="store_true", help="also the fulltext_delay=1 run")
    parser.add_argument("--anchor", nargs=3, metavar=("ARXIV", "MODEL", "PAPERS"),
                        help=argparse.SUPPRESS)  # the anchor's own process
    args = parser.parse_args()
    if args.anchor:
        arxiv_url, base_url, papers = args.anchor
        entries = json.loads(Path(papers).read_text(encoding="utf-8"))
        print(asyncio.run(anchor(arxiv_url, base_url, entries))[1])
        return
    entries = fifty_papers()
    ids = [e["paper"]["id"] for e in entries]
    print(f"# {date.today()} · {cpu_name()} · {os.cpu_count()} cores · "
          f"Python {sys.version.split()[0]} · {LATENCY:g} s per model request · a PDF per paper")
    print("| scenario | run | wall (s) | summarized | requests | 429s | papergist / anchor |")
    print("|---|---|---|---|---|---|---|")
    with FakeHF({DAY: entries}, today=date.today().isoformat()) as hf, pdf_arxiv(ids) as arxiv:
        def env(home: str, llm: FakeOpenAI, delay: str = "0") -> dict[str, str]:
            return {**os.environ, "PAPERGIST_HOME": home, "HF_ENDPOINT": hf.url,
                    "PAPERGIST_ARXIV_URL": arxiv.url, "PAPERGIST_FULLTEXT_DELAY": delay,
                    "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "bench"}

        for key in args.only.split(","):
            name, fake_args = SCENARIOS[key]
            with FakeOpenAI(latency=LATENCY, **fake_args) as llm:
                seconds, ok = run_anchor(arxiv.url, llm.base_url, entries)
                statuses = llm.statuses()
                print(f"| {name} | anchor | {seconds:.1f} | {ok}/50 | {len(statuses)} "
                      f"| {statuses.count(429)} | |")
            with FakeOpenAI(latency=LATENCY, **fake_args) as llm:
                home = tempfile.mkdtemp(prefix=f"pg-anchor-{key}-")
                r = run_papergist(env(home, llm), Path(home) / "day.md", "--model", "fake-gpt")
                statuses = llm.statuses()
                print(f"| {name} | papergist | {r['wall_s']:.1f} | {r['summarized']}/50 "
                      f"| {len(statuses)} | {statuses.count(429)} "
                      f"| {r['wall_s'] / seconds:.2f}x |")
        if args.polite:
            with FakeOpenAI(latency=LATENCY) as llm:
                home = tempfile.mkdtemp(prefix="pg-anchor-polite-")
                before = len(arxiv.requests)
                r = run_papergist(env(home, llm, delay="1"), Path(home) / "day.md",
                                  "--model", "fake-gpt")
                requests = len(arxiv.requests) - before
                bound = requests * 1.0 + 2 * LATENCY + 3
                print(f"| fulltext_delay 1 s | papergist | {r['wall_s']:.1f} "
                      f"| {r['summarized']}/50 | {requests} arXiv | | bound {bound:.0f} s |")


if __name__ == "__main__":
    main()
