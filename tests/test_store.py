"""The SQLite store: migrations, idempotent days, authors in order, summaries, runs."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
import sqlalchemy as sa

from fakes import load_day
from papergist.errors import StoreError
from papergist.models import PaperFailure, RunReport, Sections, Summary
from papergist.sources.hf_daily import parse_day
from papergist.store import Store
from papergist.store.migrations import MIGRATIONS

DAY = date(2024, 8, 26)


@pytest.fixture
def store(store_target):
    s = Store.open(store_target)
    yield s
    s.close()


def _summary(paper_id: str, text: str = "x", source_hash: str = "h") -> Summary:
    return Summary(paper_id=paper_id, sections=Sections(whats_new=text, technical_details=text,
                                                        performance_highlights=text),
                   summarizer="extractive", model="extractive", language="en",
                   prompt_version="extractive-1", source="abstract", source_hash=source_hash)


def test_created_and_migrated_once(tmp_path):
    path = tmp_path / "new" / "dir" / "papergist.db"
    Store.open(path).close()
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("select name from schema_migrations")]
    assert names == [name for name, _ in MIGRATIONS]


def test_day_round_trip_keeps_everything(store):
    daily, _ = parse_day(DAY, load_day("2024-08-26"))
    store.save_day(daily)
    assert store.load_day(DAY) == daily
    assert store.days() == [DAY]
    assert store.load_day(date(2024, 8, 25)) is None


def test_rerun_is_idempotent_and_refreshes_upvotes(store):
    raw = load_day("2024-08-26")
    store.save_day(parse_day(DAY, raw)[0])
    raw[0]["paper"]["upvotes"] = 99
    raw[0]["paper"]["authors"] = raw[0]["paper"]["authors"][::-1]
    store.save_day(parse_day(DAY, raw)[0])
    again = store.load_day(DAY)
    assert len(again.entries) == len(raw)
    assert again.entries[0].upvotes == 99
    assert again.entries[0].paper.authors == tuple(a["name"] for a in raw[0]["paper"]["authors"])
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from papers")).scalar() == len(raw)
        assert conn.execute(sa.text("select count(*) from daily_entries")).scalar() == len(raw)


def test_a_day_that_lost_a_paper_is_replaced(store):
    raw = load_day("2024-08-26")
    store.save_day(parse_day(DAY, raw)[0])
    store.save_day(parse_day(DAY, raw[:-1])[0])
    assert len(store.load_day(DAY).entries) == len(raw) - 1


def test_summaries_keyed_by_what_produced_them(store):
    store.save_day(parse_day(DAY, load_day("2024-08-26"))[0])
    paper_id = "2408.12637"
    store.save_summaries([_summary(paper_id, "first")])
    store.save_summaries([_summary(paper_id, "second")])  # same key: replaced
    store.save_summaries([_summary(paper_id, "other source", source_hash="h2")])
    key = dict(model="extractive", language="en", prompt_version="extractive-1", source="abstract")
    assert store.get_summary(paper_id, **key, source_hash="h").sections.whats_new == "second"
    assert store.get_summary(paper_id, **key, source_hash="h2").sections.whats_new == "other source"
    assert store.get_summary(paper_id, **{**key, "language": "ko"}, source_hash="h") is None


def test_runs_recorded(store):
    run = store.start_run("digest", DAY)
    failure = PaperFailure(paper_id="2408.1", stage="summarize", reason="no abstract")
    store.finish_run(run, RunReport(day=DAY, fetched=2, summarized=1, failures=(failure,)), 3)
    [row] = store.runs()
    assert (row["fetched"], row["summarized"], row["failed"], row["exit_status"]) == (2, 1, 1, 3)
    assert "no abstract" in row["failures"]


def test_unwritable_home_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="set PAPERGIST_HOME to a writable directory"):
        Store.open(blocker / "papergist.db")
