"""Shared fixtures: settings pointed at a temporary home and local fake servers."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI
from fakes import FakeArxiv, FakeHF, FakeServer
import papergist.cli
from papergist.cli import main
from papergist.http import HttpClient
from papergist.settings import Settings, load_settings


LLM_KEY = "sk-test-not-a-real-key"
# The tests' "today": never the machine's clock. Tests that depend on the day also
# run with the clock a year ahead (CLOCKS), so a suite green today stays green.
TODAY = date(2026, 11, 24)
CLOCKS = [TODAY, TODAY + timedelta(days=365)]


def local_env(home: Path, hf_url: str = "http://127.0.0.1:9", arxiv_url: str = "http://127.0.0.1:9",
             **extra: str) -> dict[str, str]:
    """Environment for a run that touches only local servers and `home`."""
    return {
        "PAPERGIST_HOME": str(home),
        "HF_ENDPOINT": hf_url,
        "PAPERGIST_ARXIV_API_URL": f"{arxiv_url}/api/query",
        "PAPERGIST_ARXIV_DELAY": "0",
        "PAPERGIST_ARXIV_URL": arxiv_url,
        "PAPERGIST_FULLTEXT_DELAY": "0",
        "PAPERGIST_HTTP_ATTEMPTS": "3",
        "PAPERGIST_HTTP_BACKOFF": "0.01",
        "PAPERGIST_HTTP_TIMEOUT": "5",
        "PAPERGIST_EMBED_PAPERS": "search",  # test_semantic.py embeds at digest time
        **extra,
    }


@pytest.fixture
def today() -> date:
    """The day the CLI and the fake HF API take for today (parametrize to move it)."""
    return TODAY


@pytest.fixture
def fake_hf(today):
    with FakeHF(today=today.isoformat()) as server:
        yield server


@pytest.fixture
def fake_arxiv():
    with FakeServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, fake_hf: FakeHF, fake_arxiv: FakeServer) -> Settings:
    return load_settings(env=local_env(tmp_path / "home", fake_hf.url, fake_arxiv.url))


@pytest.fixture
def http(settings: Settings):
    with HttpClient(settings) as client:
        yield client


@pytest.fixture
def arxiv():
    with FakeArxiv() as server:
        yield server


@pytest.fixture
def cli(tmp_path, fake_hf, arxiv, monkeypatch, capsys, today):
    """Run the CLI in-process against the fakes, its clock at `today`; returns (exit
    status, stdout, stderr)."""
    monkeypatch.setattr(papergist.cli, "clock", lambda: today)
    for key in [k for k in os.environ
                if k.startswith(("PAPERGIST_", "OPENAI_")) or k == "HF_ENDPOINT"]:
        monkeypatch.delenv(key)
    for key, value in local_env(tmp_path / "home", fake_hf.url, arxiv.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        out, err = capsys.readouterr()
        return exit_info.value.code or 0, out, err

    return run


@pytest.fixture
def llm(monkeypatch):
    """A fake OpenAI-compatible server, with OPENAI_BASE_URL and OPENAI_API_KEY set for it."""
    with FakeOpenAI(api_key=LLM_KEY) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", LLM_KEY)
        yield server


@pytest.fixture(scope="session")
def postgres_cluster():
    """A PostgreSQL cluster for the session (Debian's package; `.ci/run` installs it).
    Outside CI, tests that need it are skipped when it is not installed."""
    from postgres import Cluster, bin_dir

    binaries = bin_dir()
    if binaries is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL (apt-get install postgresql; .ci/run does)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    cluster = Cluster(binaries).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(postgres_cluster) -> str:
    """The URL of a fresh PostgreSQL database."""
    return postgres_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """Where a store test opens its store: each such test runs on both backends."""
    if request.param == "sqlite":
        return tmp_path / "home" / "papergist.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def chromium():
    """Debian's Chromium, headless, driven by Playwright (no browser download); .ci/run
    installs it, and outside CI the tests that need it are skipped without it."""
    import shutil

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=binary, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()
