"""Benchmark: a 50-paper day end to end (fake HF server, offline summarizer).

Targets (issue 2): under 1.5 s wall and under 150 MB peak memory, excluding
interpreter start-up. The fake HF API runs in this process; each measured run
is a fresh `python` child that times itself from its first line (so the
interpreter's own start-up is excluded, papergist's imports are included) and
reports its peak RSS. Runs: a cold store (first fetch of the day) and a warm
one (the same day again), `--repeat` times each; the median is reported.

    python bench/day50.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from fakes import FakeHF, load_day  # noqa: E402

DAY = "2025-10-16"
CHILD = r"""
import time, resource, sys, json
t0 = time.perf_counter()
from papergist.cli import main
t1 = time.perf_counter()
try:
    main(["digest", sys.argv[1], "-q", "-o", sys.argv[2]])
except SystemExit as exc:
    code = exc.code or 0
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import_s": t1 - t0, "run_s": t2 - t1, "total_s": t2 - t0,
                  "peak_rss_mb": rss, "exit": code}))
"""


def fifty_papers() -> list[dict]:
    """50 real entries from two recorded days of different API generations."""
    entries = (load_day("2025-10-15") + load_day("2024-10-25"))[:50]
    assert len({e["paper"]["id"] for e in entries}) == 50
    return entries


def cpu_name() -> str:
    """The CPU model, where Linux tells it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def run_child(env: dict[str, str], out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, DAY, str(out)], env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    assert result["exit"] == 0, proc.stderr
    assert out.read_text(encoding="utf-8").count("\n### [") == 50
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {"cold": [], "warm": []}
    with FakeHF({DAY: fifty_papers()}, today=date.today().isoformat()) as hf:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as home:
                env = {**os.environ, "PAPERGIST_HOME": home, "HF_ENDPOINT": hf.url}
                out = Path(home) / "day.md"
                rows["cold"].append(run_child(env, out))
                rows["warm"].append(run_child(env, out))
    print(f"# {date.today()} · {cpu_name()} · "
          f"{os.cpu_count()} cores · Python {platform.python_version()}")
    print("| store | import (s) | digest run (s) | total excl. interpreter (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for name, results in rows.items():
        med = {k: statistics.median(r[k] for r in results)
               for k in ("import_s", "run_s", "total_s", "peak_rss_mb")}
        print(f"| {name} | {med['import_s']:.3f} | {med['run_s']:.3f} | {med['total_s']:.3f} "
              f"| {med['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
