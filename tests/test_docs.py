"""Docs that cannot go stale: every setting and exit status is in the README."""

from __future__ import annotations

import re
from pathlib import Path

from papergist.cli import EXIT_STATUSES
from papergist.settings import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    for setting in SETTINGS:
        assert f"| `{setting.name}` | `{setting.env}` |" in README, setting.name


def test_exit_statuses_match_the_help():
    in_help = dict(re.findall(r"^\s+(\d)  (.+)$", EXIT_STATUSES, re.M))
    in_readme = dict(re.findall(r"^\| (\d) \| (.+) \|$", README, re.M))
    assert in_help == in_readme and len(in_help) == 8


def test_readme_first_screen_has_install_run_and_test():
    first_screen = "\n".join(README.splitlines()[:25])
    assert "pip install -e ." in first_screen
    assert "papergist digest 2024-08-26" in first_screen
    assert "python -m pytest" in first_screen
