"""A hostile HF Daily Papers server: pages capped at 20, endless pages, repeated pages."""

from __future__ import annotations

import json
from datetime import date

import pytest

from conftest import local_env
from fakes import FakeHF, Reply, load_day
from papergist.errors import MalformedResponse
from papergist.http import HttpClient
from papergist.settings import load_settings
from papergist.sources.hf_daily import MAX_PAGES, HFDailySource

DAY = "2024-10-25"


def papers(n: int, first: int = 10000) -> list[dict]:
    """`n` real entries of the recorded day, each given its own id."""
    real = load_day(DAY)
    return [dict(e, paper=dict(e["paper"], id=f"2410.{first + i}"))
            for i, e in enumerate((real * (n // len(real) + 1))[:n])]


def fetch(tmp_path, hf: FakeHF):
    settings = load_settings(env=local_env(tmp_path, hf.url))
    with HttpClient(settings) as http:
        return HFDailySource(http, settings).fetch(date.fromisoformat(DAY))


def asked(hf: FakeHF) -> list[tuple[str, str]]:
    return [(r.query["limit"], r.query["p"]) for r in hf.hits("/api/daily_papers")]


def test_sixty_papers_served_twenty_at_a_time_are_all_read(tmp_path):
    sixty = papers(60)
    with FakeHF({DAY: sixty}, max_page=20) as hf:
        daily, failures = fetch(tmp_path, hf)
    assert [e.paper.id for e in daily.entries] == [e["paper"]["id"] for e in sixty]
    assert failures == ()
    assert asked(hf) == [("50", "0"), ("20", "1"), ("20", "2"), ("20", "3")]


@pytest.mark.parametrize("n, requests", [(20, 2), (11, 2), (0, 1), (50, 2), (61, 2)])
def test_uncapped_days_cost_at_most_one_request_more(tmp_path, n, requests):
    day = papers(n)
    with FakeHF({DAY: day}) as hf:
        daily, _ = fetch(tmp_path, hf)
    assert len(daily.entries) == n
    assert len(asked(hf)) == requests


def test_a_server_that_never_stops_is_an_error_after_max_pages(tmp_path):
    with FakeHF({DAY: []}) as hf:
        hf.fail = lambda req: Reply(200, json.dumps(papers(20, 10000 + 20 * int(req.query["p"]))))
        with pytest.raises(MalformedResponse, match=f"over {MAX_PAGES} pages, 800 papers"):
            fetch(tmp_path, hf)
    assert len(asked(hf)) == MAX_PAGES == 40


def test_a_server_ignoring_the_page_number_ends_the_day(tmp_path):
    with FakeHF({DAY: []}) as hf:
        hf.fail = lambda req: Reply(200, json.dumps(papers(20)))
        daily, _ = fetch(tmp_path, hf)
    assert len(daily.entries) == 20 and len(asked(hf)) == 2


def test_the_cli_digest_has_all_sixty(cli, fake_hf):
    fake_hf.days[DAY] = papers(60)
    fake_hf.max_page = 20
    code, out, err = cli("digest", DAY, "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)["papers"]) == 60
    assert "60 fetched, 60 summarized" in err
