"""Benchmark: checking 1,000 summaries against their abstracts (issue 4).

Target: under 5 s on this 2-core machine, pure CPU. The 139 real Korean summaries
of `shared/fixtures/ko_summaries.json` are cycled to 1,000; each check builds
the paper's `Source` from its title and abstract (as the pipeline does for a
summary written from the abstract) and runs `check`. Reports the median of
`--repeat` runs, in-process (imports excluded).

    python bench/verify1000.py [--repeat 5] [--count 1000]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import date
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from verify_real import load_papers, split_sections  # noqa: E402

from papergist.verify import Source, check  # noqa: E402


def workload(count: int) -> list[tuple[str, str, dict[str, str]]]:
    """`count` (title, abstract, sections) triples, the real summaries cycled."""
    items = [(p["title"], p["abstract"], split_sections(s["text"]))
             for p in load_papers() for s in p["summaries"]]
    return list(islice(cycle(items), count))


def run_once(items: list[tuple[str, str, dict[str, str]]]) -> tuple[float, int]:
    """Seconds to build each source and check each summary; how many verified."""
    start = time.perf_counter()
    verified = 0
    for title, abstract, sections in items:
        verdict = check(sections, Source.build(title, abstract))
        verified += verdict.status == "verified"
    return time.perf_counter() - start, verified


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args(argv)
    items = workload(args.count)
    run_once(items[:50])  # warm caches (regex compilation)
    times = []
    for _ in range(args.repeat):
        seconds, verified = run_once(items)
        times.append(seconds)
    median = statistics.median(times)
    print(f"Machine and date: {date.today()} · {platform.processor() or platform.machine()} · "
          f"Python {platform.python_version()}\n")
    print("| summaries | median (s) | min (s) | per summary (ms) | verified vs abstract |")
    print("|---|---|---|---|---|")
    print(f"| {len(items)} | {median:.3f} | {min(times):.3f} | {1000 * median / len(items):.2f} "
          f"| {verified} of {len(items)} |")
    verdict = "met" if median < 5 else "NOT met"
    print(f"\nTarget under 5 s: {verdict} ({5 / median:.1f}x under the target).")

if __name__ == "__main__":
    main()
