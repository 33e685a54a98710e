"""Stored digests carry their schema version and load across model changes."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from digests import fixture_digest
from papergist.errors import StoreError
from papergist.store import Store
from papergist.store.bodies import DIGEST_SCHEMA

DAY = date(2024, 8, 26)
DIGEST = fixture_digest("2024-08-26")


@pytest.fixture
def store(store_target):
    s = Store.open(store_target)
    s.save_digest(DIGEST, "en")
    yield s
    s.close()


def _row(store: Store) -> tuple[dict, int]:
    with store.engine.connect() as conn:
        body, version = conn.execute(sa.text("select body, body_schema from digests")).one()
    return json.loads(body), version


def _replace_body(store: Store, body: dict | str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    with store.engine.begin() as conn:
        conn.execute(sa.text("update digests set body = :body"), {"body": text})


def test_a_digest_is_stored_with_its_schema_version_and_loads_back(store):
    body, version = _row(store)
    assert version == DIGEST_SCHEMA == 1
    assert store.load_digest(DAY, "en") == DIGEST


def test_fields_a_newer_papergist_added_are_ignored_at_every_depth(store):
    body, _ = _row(store)
    body["audience"] = "researchers"
    body["items"][0]["paper"]["venue"] = "NeurIPS"
    summarized = next(i for i in body["items"] if i["summary"])
    summarized["summary"]["sections"]["limitations"] = "few"
    summarized["summary"]["cost_usd"] = 0.01
    _replace_body(store, body)
    assert store.load_digest(DAY, "en") == DIGEST


def test_optional_fields_an_older_papergist_did_not_write_take_their_defaults(store):
    body, _ = _row(store)
    del body["kind"]
    for item in body["items"]:
        del item["upvotes"]
        if item["summary"]:
            del item["summary"]["usage"], item["summary"]["verification"]
    _replace_body(store, body)
    loaded = store.load_digest(DAY, "en")
    assert loaded.kind == "daily"
    assert [i.upvotes for i in loaded.items] == [None] * len(DIGEST.items)
    assert [i.paper for i in loaded.items] == [i.paper for i in DIGEST.items]
    assert sum(1 for i in loaded.items if i.summary and i.summary.usage.requests == 0) == \
        sum(1 for i in DIGEST.items if i.summary)


def test_a_body_that_is_not_a_digest_is_a_store_error(store):
    _replace_body(store, '{"date": "2024-08-26", "items": [{"rank": 1}]')  # cut short
    with pytest.raises(StoreError, match="^cannot read a stored record: "):
        store.load_digest(DAY, "en")

