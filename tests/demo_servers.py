"""Run the test fakes by hand: a local HF Daily Papers API (the recorded fixtures),
a local arXiv with one real full text, and a local OpenAI-compatible model server,
to try papergist with no network and no key.

    python tests/demo_servers.py            # prints the variables to export; Ctrl-C stops
    export HF_ENDPOINT=... OPENAI_BASE_URL=... PAPERGIST_ARXIV_URL=...
    papergist digest 2024-08-26 --model fake-gpt --lang ko

The fake model copies sentences of each abstract into the three sections, wrapped
in a phrase of the requested language: a stand-in for a real model, not one.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone

from fake_openai import FakeOpenAI
from fakes import HTML_2508, SHARED, FakeHF, FakeServer, Reply

HTML = SHARED / HTML_2508  # not in the repository: without ../shared/fixtures every page is 404


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model reply")
    args = parser.parse_args()
    arxiv = FakeServer()  # 404 for every paper but one, which gets a real LaTeXML page
    if HTML.exists():
        arxiv.routes["/html/2408.12637"] = lambda req: Reply(200, HTML.read_bytes())
    else:
        print(f"note: {HTML} is missing: every arXiv page answers 404 (abstracts only)",
              file=sys.stderr)
    today = datetime.now(timezone.utc).date().isoformat()  # a hand-run demo: the real day
    with FakeHF(today=today) as hf, arxiv, FakeOpenAI(latency=args.latency) as llm:
        print(f"export HF_ENDPOINT={hf.url} OPENAI_BASE_URL={llm.base_url} "
              f"PAPERGIST_ARXIV_URL={arxiv.url} PAPERGIST_FULLTEXT_DELAY=0", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
