"""Issue 16's "done when" as guards: the CLI and the web app reach the work only through
`papergist.core`, and a digest's store calls never run on the event loop."""

from __future__ import annotations

import ast
import asyncio
import functools
import inspect
import json
import threading
from pathlib import Path

import pytest

import papergist.pipeline
from fakes import load_day
from papergist.store import Store

PACKAGE = Path(papergist.pipeline.__file__).resolve().parent
DAY = "2024-08-26"

# --- the CLI and the web app hold no orchestration -------------------------------------

FRONT_ENDS = {"cli.py": "papergist", "cli_find.py": "papergist", "web/app.py": "papergist.web"}
WORK = ("papergist.store", "papergist.sources", "papergist.summarize", "papergist.http",
        "papergist.verify", "papergist.pipeline", "papergist.publish", "papergist.site")
# What a front end may take from those modules: result types and pure renderers.
ALLOWED = {"papergist.pipeline": {"EXTENSIONS", "RENDERERS", "Result", "render"},
           "papergist.publish": {"Delivery"}}


def imported(source: str, package: str) -> list[str]:
    """Every name `source` imports, as "module" or "module.name" (relative imports resolved
    against `package`), wherever the import stands (in a function too)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level \
                else []
            module = ".".join(base + ([node.module] if node.module else []))
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


def past_the_front_door(source: str, package: str = "papergist") -> list[str]:
    """The imports of `source` that reach the work without going through `papergist.core`."""
    found = []
    for name in imported(source, package):
        module = next((m for m in WORK if name == m or name.startswith(m + ".")), None)
        if module and name.removeprefix(module + ".") not in ALLOWED.get(module, ()):
            found.append(name)
    return found


@pytest.mark.parametrize("source, package, found", [
    ("from papergist.store import Store", "papergist", ["papergist.store.Store"]),
    ("from papergist.store.sql import Store", "papergist", ["papergist.store.sql.Store"]),
    ("import papergist.sources.arxiv", "papergist", ["papergist.sources.arxiv"]),
    ("from papergist import summarize, models", "papergist", ["papergist.summarize"]),
    ("def f():\n    from papergist.http import HttpClient\n", "papergist",
     ["papergist.http.HttpClient"]),
    ("from ..verify import verify", "papergist.web", ["papergist.verify.verify"]),
    ("from papergist.pipeline import Pipeline, render", "papergist",
     ["papergist.pipeline.Pipeline"]),
    ("from papergist.publish import publish, Delivery", "papergist", ["papergist.publish.publish"]),
    ("from papergist.site import build_site", "papergist", ["papergist.site.build_site"]),
    ("from papergist.core import Papergist\nfrom papergist.pipeline import RENDERERS, Result\n"
     "from papergist.models import Digest\nfrom papergist.errors import StoreError\n"
     "from papergist.storefront import x", "papergist", []),
])
def test_the_guard_flags_every_way_past_the_front_door(source, package, found):
    assert past_the_front_door(source, package) == found


@pytest.mark.parametrize("path", sorted(FRONT_ENDS))
def test_the_front_ends_reach_the_work_only_through_the_core(path):
    source = (PACKAGE / path).read_text(encoding="utf-8")
    assert past_the_front_door(source, FRONT_ENDS[path]) == []
    assert "papergist.core.Papergist" in imported(source, FRONT_ENDS[path])


# --- SQLite stays off the event loop -----------------------------------------------------

FROM_COROUTINES = {"get_summary", "claim_summary", "release_summary", "save_summaries"}


def on_a_loop() -> bool:
    """True when the calling thread is running an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def store_calls(monkeypatch) -> list[tuple[str, str, bool]]:
    """(method, thread name, on an event loop) of every call of a public `Store` method."""
    calls: list[tuple[str, str, bool]] = []
    for name, method in inspect.getmembers(Store, inspect.isfunction):
        if name.startswith("_"):
            continue

        @functools.wraps(method)
        def recorded(*args, _name=name, _method=method, **kwargs):
            calls.append((_name, threading.current_thread().name, on_a_loop()))
            return _method(*args, **kwargs)
        monkeypatch.setattr(Store, name, recorded)
    return calls


def test_a_model_digest_calls_the_store_from_its_thread_never_from_the_loop(
        cli, llm, fake_hf, store_calls, monkeypatch):
    """Leases renewed every 0.05 s while the model takes 0.2 s: the renewals run too."""
    fake_hf.days = {DAY: load_day(DAY)[:3]}
    llm.latency = 0.2
    monkeypatch.setattr(papergist.pipeline, "LEASE_TTL", 0.15)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 0, err
    assert len(json.loads(out)["papers"]) == 3
    assert [call for call in store_calls if call[2]] == []  # none while a loop runs
    threads = {name: {t for n, t, _ in store_calls if n == name} for name in FROM_COROUTINES}
    assert threads == {name: {"papergist-store_0"} for name in FROM_COROUTINES}
    claims = sum(1 for n, _, _ in store_calls if n == "claim_summary")
    assert claims > 3  # each paper's claim, then its renewals
    elsewhere = {n for n, t, _ in store_calls if t == threading.current_thread().name}
    assert elsewhere and not elsewhere & FROM_COROUTINES  # the run's own (start_run, ...)
