"""Summary leases: one holder per input, taken over on expiry, freed on release.

Time is a fake clock handed to `Store.open`; no test reads the wall clock.
(Real processes racing for a lease: tests/test_store_processes.py.)
"""

from __future__ import annotations


import pytest
import sqlalchemy as sa

from papergist.store import Store

KEY = dict(model="gpt-4o-mini", language="ko", prompt_version="p3", source="fulltext",
           source_hash="abc")
PAPER = "2408.12637"


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def two(store_target, clock):
    """Two Store objects on one store, as two processes would have."""
    a = Store.open(store_target, clock=clock)
    b = Store.open(store_target, clock=clock)
    yield a, b
    a.close()
    b.close()


def _holders(store: Store) -> list[tuple[str, float]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("select owner, expires_at from summary_leases")).all()
    return [tuple(row) for row in rows]


def test_of_two_stores_claiming_one_input_exactly_one_wins(two):
    a, b = two
    assert a.claim_summary(PAPER, **KEY, owner="a", ttl=60) is True
    assert b.claim_summary(PAPER, **KEY, owner="b", ttl=60) is False
    assert _holders(a) == [("a", 1_060.0)]


def test_the_holder_claims_again_to_extend_its_lease(two, clock):
    a, b = two
    a.claim_summary(PAPER, **KEY, owner="a", ttl=60)
    clock.now += 50
    assert a.claim_summary(PAPER, **KEY, owner="a", ttl=60) is True
    clock.now += 50  # past the first expiry, not the second
    assert b.claim_summary(PAPER, **KEY, owner="b", ttl=60) is False
    assert _holders(a) == [("a", 1_110.0)]


def test_an_expired_lease_is_taken_over(two, clock):
    a, b = two
    a.claim_summary(PAPER, **KEY, owner="a", ttl=60)
    clock.now += 59.9
    assert b.claim_summary(PAPER, **KEY, owner="b", ttl=60) is False
    clock.now += 0.1
    assert b.claim_summary(PAPER, **KEY, owner="b", ttl=60) is True
    assert a.claim_summary(PAPER, **KEY, owner="a", ttl=60) is False
    assert _holders(a) == [("b", 1_120.0)]


def test_release_frees_the_lease_for_the_next_claimant(two):
    a, b = two
    a.claim_summary(PAPER, **KEY, owner="a", ttl=60)
    a.release_summary(PAPER, **KEY, owner="a")
    assert _holders(a) == []
    assert b.claim_summary(PAPER, **KEY, owner="b", ttl=60) is True


def test_release_by_a_former_holder_leaves_the_new_one_alone(two, clock):
    a, b = two
    a.claim_summary(PAPER, **KEY, owner="a", ttl=60)
    clock.now += 61
    b.claim_summary(PAPER, **KEY, owner="b", ttl=60)
    a.release_summary(PAPER, **KEY, owner="a")
    assert _holders(a) == [("b", 1_121.0)]


@pytest.mark.parametrize("field", sorted(KEY) + ["paper_id"])
def test_leases_on_inputs_differing_in_one_field_are_independent(two, field):
    a, b = two
    a.claim_summary(PAPER, **KEY, owner="a", ttl=60)
    other = {"paper_id": PAPER, **KEY, field: "other"}
    assert b.claim_summary(other.pop("paper_id"), **other, owner="b", ttl=60) is True
    assert sorted(owner for owner, _ in _holders(a)) == ["a", "b"]
