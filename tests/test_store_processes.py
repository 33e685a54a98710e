"""The store under real concurrent processes: opening, upgrading, a kill mid-migration, leases.

Each child process imports papergist once, then runs several trials; every
trial starts on a barrier (files in the trial's directory) so the children
hit the database at the same moment.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path


import papergist
from papergist.store import Store
from papergist.store import migrations
from papergist.store.migrations import MIGRATIONS

SRC = str(Path(papergist.__file__).resolve().parents[1])
TRIALS = 8
KEY = dict(model="m", language="ko", prompt_version="p1", source="abstract", source_hash="h")

# Runs `TRIALS` rounds of ACTION (code using `db`, `me` and `trial`); each
# round waits on the barrier; prints one line per round.
CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from papergist.store import Store
    base, me, trials = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for trial in range(trials):
        here = base / str(trial)
        (here / f"ready-{me}").touch()
        while not (here / "go").exists():
            time.sleep(0.001)
        db = here / "home" / "papergist.db"
        ACTION
""")


def _race(base: Path, action: str, children: int, trials: int = TRIALS) -> list[str]:
    """Start `children` processes on `trials` barriers; each must exit 0; their stdout lines."""
    for trial in range(trials):
        (base / str(trial)).mkdir(parents=True, exist_ok=True)
    script = CHILD.replace("ACTION", textwrap.indent(textwrap.dedent(action), " " * 4).lstrip())
    procs = [subprocess.Popen([sys.executable, "-c", script, str(base), str(n), str(trials)],
                              env={**os.environ, "PYTHONPATH": SRC},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(children)]
    for trial in range(trials):
        here = base / str(trial)
        while len(list(here.glob("ready-*"))) < children and all(p.poll() is None for p in procs):
            time.sleep(0.001)
        (here / "go").touch()
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * children, "".join(e for _, e in outcomes)
    return [line for out, _ in outcomes for line in out.splitlines()]


def _applied(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("select name from schema_migrations order by name")]


def test_four_processes_open_a_fresh_store_at_once(tmp_path):
    _race(tmp_path, "Store.open(db).close()", children=4)
    for trial in range(TRIALS):
        assert _applied(tmp_path / str(trial) / "home" / "papergist.db") == \
            [name for name, _ in MIGRATIONS]


def test_two_processes_upgrade_an_old_store_at_once(tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", MIGRATIONS[:1])
        for trial in range(TRIALS):
            Store.open(tmp_path / str(trial) / "home" / "papergist.db").close()
    _race(tmp_path, "Store.open(db).close()", children=2)
    for trial in range(TRIALS):
        db = tmp_path / str(trial) / "home" / "papergist.db"
        assert _applied(db) == [name for name, _ in MIGRATIONS]
        with sqlite3.connect(db) as conn:
            columns = [r[1] for r in conn.execute("pragma table_info(summaries)")]
        assert columns.count("requests") == 1


KILLED_MID_MIGRATION = textwrap.dedent("""
    import os, signal, sys
    import sqlalchemy as sa
    from papergist.store import Store, migrations

    def first_alter_then_die(conn):
        conn.execute(sa.text("ALTER TABLE summaries ADD COLUMN paper_version VARCHAR(8)"))
        os.kill(os.getpid(), signal.SIGKILL)

    migrations.MIGRATIONS = tuple(
        (name, first_alter_then_die if name == "0002_summary_usage" else step)
        for name, step in migrations.MIGRATIONS)
    Store.open(sys.argv[1])
""")


def test_a_process_killed_mid_migration_leaves_an_openable_store(tmp_path, monkeypatch):
    db = tmp_path / "home" / "papergist.db"
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", MIGRATIONS[:1])
        Store.open(db).close()
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_MIGRATION, str(db)],
                            env={**os.environ, "PYTHONPATH": SRC}, capture_output=True)
    assert killed.returncode == -9
    assert _applied(db) == ["0001_initial"]
    Store.open(db).close()
    assert _applied(db) == [name for name, _ in MIGRATIONS]
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("pragma table_info(summaries)")]
    assert columns.count("paper_version") == 1


def test_of_processes_racing_for_a_lease_exactly_one_wins(tmp_path):
    for trial in range(TRIALS):
        Store.open(tmp_path / str(trial) / "home" / "papergist.db").close()
    lines = _race(tmp_path, f"""
        s = Store.open(db)
        won = s.claim_summary("2408.1", **{KEY!r}, owner=me, ttl=600)
        print(trial, won)
        s.close()
    """, children=3)
    assert sorted(lines) == sorted(f"{trial} {won}" for trial in range(TRIALS)
                                   for won in (True, False, False))
