"""The suite stands alone (issue 16): free fixtures in the repository, the rest skipped.

`fakes.shared()` is the only way to the files papergist does not redistribute: without
them a test is skipped saying what is missing and why, and under CI it fails instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fakes
from fakes import ATOM_DIR, FIXTURES, HF_FIXTURES, shared

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def test_the_free_fixtures_are_in_the_repository():
    assert FIXTURES == TESTS / "fixtures"
    assert len(list(HF_FIXTURES.glob("*.json"))) == 14
    assert len(list(ATOM_DIR.glob("*.xml"))) == 4
    provenance = (FIXTURES / "PROVENANCE.md").read_text(encoding="utf-8")
    for path in sorted(HF_FIXTURES.glob("*.json")) + sorted(ATOM_DIR.glob("*.xml")):
        assert f"{path.parent.name}/{path.name}" in provenance, path.name  # its sha256 line
    # Only what is free to copy: no PDFs, pages, full texts or other projects' summaries.
    assert {p.name for p in FIXTURES.iterdir()} == {"PROVENANCE.md", "hf_daily_papers",
                                                    "arxiv_atom"}


@pytest.fixture
def no_shared(tmp_path, monkeypatch):
    monkeypatch.setattr(fakes, "SHARED", tmp_path / "absent")
    return tmp_path / "absent"


def test_a_missing_shared_file_skips_saying_why(no_shared, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        shared("arxiv_pdf/1706.03762v7.pdf")
    assert str(skipped.value) == (f"needs {no_shared}/arxiv_pdf/1706.03762v7.pdf "
                                  "(papers' PDFs are not redistributed with papergist)")


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_missing_shared_file_fails(no_shared, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception,
                       match=r"needs .*/ko_summaries\.json \(other projects' summaries are "
                             r"not redistributed with papergist\); CI needs ../shared/fixtures"):
        shared("ko_summaries.json")


def test_every_test_module_imports_without_the_shared_folder(tmp_path):
    """Collecting the whole suite reads nothing of ../shared/fixtures."""
    env = {**os.environ, "PAPERGIST_SHARED_FIXTURES": str(tmp_path / "absent"), "CI": ""}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", str(TESTS)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error" not in done.stdout.splitlines()[-1]
