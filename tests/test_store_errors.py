"""Every store call fails with `StoreError` and a clear message, and never damages the file.

`SAMPLES` gives each public `Store` method valid arguments; a test checks it
names every public method, so a new method is covered (or the suite fails).
"""

from __future__ import annotations

import inspect
import os
import sqlite3
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

import papergist
from digests import fixture_digest
from fakes import load_day
from papergist.errors import StoreError
from papergist.exits import exit_status
from papergist.models import RunReport, Sections, Summary
from papergist.sources.hf_daily import parse_day
from papergist.store import Store
from papergist.store.migrations import MIGRATIONS
from papergist.store.deliveries import DeliveryKey

DAY = date(2024, 8, 26)
DAILY = parse_day(DAY, load_day("2024-08-26"))[0]
PAPER = DAILY.entries[0].paper
KEY = dict(model="extractive", language="en", prompt_version="extractive-1",
           source="abstract", source_hash="h")
SUMMARY = Summary(paper_id=PAPER.id, summarizer="extractive", **KEY,
                  sections=Sections(whats_new="a", technical_details="b",
                                    performance_highlights="c"))
LEASE = dict(KEY, owner="other")
DKEY = DeliveryKey(DAY, "en", "slack", "hooks.slack.com/…")

# name: (positional args, keyword args, whether the call writes)
SAMPLES = {
    "save_papers": (([PAPER],), {}, True),
    "save_day": ((DAILY,), {}, True),
    "papers": (([PAPER.id, "2408.99999"],), {}, False),
    "load_day": ((DAY,), {}, False),
    "days": ((), {}, False),
    "get_summary": ((PAPER.id,), KEY, False),
    "save_summaries": (([SUMMARY],), {}, True),
    "claim_summary": ((PAPER.id,), dict(LEASE, ttl=60.0), True),
    "release_summary": ((PAPER.id,), LEASE, True),
    "save_digest": ((fixture_digest("2024-08-26"), "en"), {}, True),
    "load_digest": ((DAY, "en"), {}, False),
    "digest_stamps": (("en",), {}, False),
    "archive": (("en",), {}, False),
    "search": (("model", "en"), {}, False),
    "search_candidates": (("en", "all-MiniLM-L6-v2"), {}, False),
    "save_vectors": (("all-MiniLM-L6-v2", {PAPER.id: b"\0" * 1536}), {}, True),
    "delivery": ((DAY, "en", "slack", "hooks.slack.com/…"), {}, False),
    "claim_delivery": ((DKEY, lambda row: {"status": "sending", "owner": "o"}), {}, True),
    "record_part": ((DKEY, "v1", 0, "o"), {}, True),
    "sent_parts": ((DKEY, "v1"), {}, False),
    "finish_delivery": ((DKEY, "o"), dict(status="delivered", attempts=1), True),
    "save_digest_version": (("v1", fixture_digest("2024-08-26")), {}, True),
    "digest_version": (("v1",), {}, False),
    "start_run": (("digest", DAY), {}, True),
    "finish_run": ((1, RunReport(day=DAY, fetched=1, summarized=1), 0), {}, True),
    "runs": ((), {}, False),
}


def _call(store: Store, name: str) -> object:
    args, kwargs, _ = SAMPLES[name]
    return getattr(store, name)(*args, **kwargs)


def _filled(path: Path | str) -> Store:
    """A store holding one of everything, so reads touch real rows."""
    store = Store.open(path, busy_timeout=0.2)
    for name, (_, _, writes) in SAMPLES.items():
        if writes:
            _call(store, name)
    return store


def test_samples_cover_every_public_method():
    public = {name for name, _ in inspect.getmembers(Store, inspect.isfunction)
              if not name.startswith("_")}
    assert public - {"close"} == set(SAMPLES)


def test_every_sample_works_on_a_healthy_store(store_target):
    store = _filled(store_target)
    for name in SAMPLES:
        _call(store, name)
    assert len(store.runs()) == 2
    store.close()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_under_another_writer_writes_fail_with_store_error_and_reads_go_on(tmp_path, name):
    # WAL: a writer holding BEGIN EXCLUSIVE blocks other writers, not readers.
    store = _filled(tmp_path / "papergist.db")
    other = sqlite3.connect(tmp_path / "papergist.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        if SAMPLES[name][2]:
            with pytest.raises(StoreError, match="^cannot write the store: database is locked$"):
                _call(store, name)
        else:
            _call(store, name)
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.close()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_on_postgresql_under_another_writer_writes_time_out_and_reads_go_on(pg_url, name):
    """Another papergist in a write transaction holds the store's advisory lock:
    writes wait `busy_timeout`, then fail with `StoreError`; reads go on."""
    import psycopg

    from papergist.store.engine import WRITE_LOCK

    store = _filled(pg_url)
    url = store.engine.url
    other = psycopg.connect(host=url.host, port=url.port, user=url.username,
                            dbname=url.database)
    other.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
    try:
        if SAMPLES[name][2]:
            with pytest.raises(StoreError, match="^cannot write the store: .*lock timeout"):
                _call(store, name)
        else:
            _call(store, name)
    finally:
        other.rollback()
        other.close()
        store.close()


def _corrupt_all_but_the_first_page(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(page)
        f.write(b"\xff" * (size - page))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_on_a_damaged_file_every_method_raises_store_error(tmp_path, name):
    store = _filled(tmp_path / "papergist.db")
    _corrupt_all_but_the_first_page(tmp_path / "papergist.db")
    with pytest.raises(StoreError, match="^cannot (read|write) the store: "
                                         "database disk image is malformed$"):
        _call(store, name)
    store.close()


def test_a_damaged_file_is_refused_at_open_and_left_as_it_is(tmp_path):
    path = tmp_path / "papergist.db"
    _filled(path).close()
    _corrupt_all_but_the_first_page(path)
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert str(caught.value) == (
        f"cannot open the store at {path}: database disk image is malformed; the file is damaged "
        "or not a papergist store: move it aside (it is left as is) or set PAPERGIST_HOME to "
        "another directory")
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "papergist.db"
    path.write_bytes(b"my notes, not a database\n" * 200)
    with pytest.raises(StoreError, match="file is not a database; the file is damaged"):
        Store.open(path)
    assert path.read_bytes() == b"my notes, not a database\n" * 200


def test_a_store_locked_by_another_process_is_a_clear_error_at_open(tmp_path):
    path = tmp_path / "papergist.db"
    Store.open(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")  # WAL readers are shut out only this way
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="database is locked; another papergist holds it"):
            Store.open(path, busy_timeout=0.2)
    finally:
        other.close()


def test_a_store_from_a_newer_papergist_is_refused_untouched(tmp_path):
    path = tmp_path / "papergist.db"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("insert into schema_migrations values ('9999_from_the_future', '2099-01-01')")
    conn.close()
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert str(caught.value) == (
        f"the store at {path} was written by a newer papergist (schema 9999_from_the_future; this papergist "
        f"knows up to {MIGRATIONS[-1][0]}): upgrade papergist, or use another "
        "PAPERGIST_HOME")
    assert exit_status(caught.value) == 6
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (before, mtime)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["papergist.db"]


READ_ONLY_OPEN = """
import os, sys
import sqlalchemy as sa
from papergist.errors import StoreError
from papergist.store import Store
from papergist.store.migrations import MIGRATIONS
from papergist.store.deliveries import DeliveryKey
if os.geteuid() == 0:  # root ignores permissions: drop to nobody, after every import
    sa.create_engine("sqlite://").dispose()
    os.setgid(65534)
    os.setuid(65534)
try:
    Store.open(sys.argv[1]).close()
except StoreError as exc:
    print(exc)
"""


@pytest.mark.parametrize("existing, reason", [
    (False, "unable to open database file"),
    (True, "attempt to write a readonly database"),
], ids=["fresh", "existing"])
def test_a_read_only_home_is_a_clear_error(existing, reason):
    with tempfile.TemporaryDirectory() as base:
        os.chmod(base, 0o755)
        home = Path(base) / "home"
        if existing:
            Store.open(home / "papergist.db").close()
        home.mkdir(exist_ok=True)
        before = sorted(p.name for p in home.iterdir())
        home.chmod(0o555)
        child = subprocess.run(
            [sys.executable, "-c", READ_ONLY_OPEN, str(home / "papergist.db")],
            env={**os.environ, "PYTHONPATH": str(Path(papergist.__file__).parents[1])},
            capture_output=True, text=True, check=True)
        assert child.stdout == (f"cannot open the store at {home / 'papergist.db'}: {reason}; "
                                "set PAPERGIST_HOME to a writable directory\n")
        assert sorted(p.name for p in home.iterdir()) == before
