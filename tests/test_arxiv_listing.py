"""arXiv categories as a source: the new papers one evening's announcement carries in
some categories (the submissions between two deadlines), from the arXiv API's search
(the recorded cs.RO search answer is the envelope), read page by page, digested,
stored, published apart from the day's feed digest."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from fakes import XIV, NEWAPI, ZOIA, FakeArxiv
from papergist.errors import MalformedResponse, UsageError
from papergist.http import HttpClient, Pacer
from papergist.settings import load_settings
from papergist.sources.arxiv import (LISTING_MAX, ArxivSource, announcement_window,
                                     latest_announcement, read_feed)
from test_publish import SLACK_PATH, channels_env, hooks, posts, smtp  # noqa: F401

DAY = date(2024, 8, 26)
IDS = [f"2408.{n:05d}" for n in range(10001, 10451)]  # 450: three pages of 200


def test_the_count_of_a_search_is_read_from_both_api_formats():
    assert read_feed(XIV.read_bytes()).total == 5619
    assert read_feed(NEWAPI.read_bytes()).total == 9
    assert read_feed(ZOIA.read_bytes()).total == 1


@pytest.fixture
def arxiv_api():
    with FakeArxiv() as server:
        yield server


def source(server: FakeArxiv) -> ArxivSource:
    settings = load_settings(env={"PAPERGIST_ARXIV_API_URL": f"{server.url}/api/query"})
    return ArxivSource(HttpClient(settings), settings, Pacer(0))


def test_a_day_is_read_page_by_page_oldest_first(arxiv_api):
    arxiv_api.list_ids(IDS)
    papers = source(arxiv_api).listing(["cs.CL", "cs.CV"], DAY)
    assert [p.id for p in papers] == IDS
    asked = [r.query for r in arxiv_api.requests]
    assert [(q["start"], q["max_results"]) for q in asked] == [("0", "200"), ("200", "200"),
                                                               ("400", "200")]
    assert {q["search_query"] for q in asked} == {  # Friday 14:00 to Monday 14:00 EDT
        "(cat:cs.CL OR cat:cs.CV) AND submittedDate:[202408231801 TO 202408261800]"}
    assert {(q["sortBy"], q["sortOrder"]) for q in asked} == {("submittedDate", "ascending")}


def test_announcements_in_a_row_leave_no_gap_and_friday_and_saturday_have_none():
    evenings = [date(2024, 10, 1) + timedelta(days=n) for n in range(60)]  # across DST's end
    windows = [announcement_window(e) for e in evenings if e.weekday() not in (4, 5)]
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
    assert all(end - start >= timedelta(hours=23) for start, end in windows)
    for friday in (date(2024, 8, 23), date(2024, 8, 24)):
        with pytest.raises(UsageError, match="announces nothing on"):
            announcement_window(friday)


@pytest.mark.parametrize(("now", "evening"), [
    ("2024-08-26T23:59:00+00:00", "2024-08-25"),  # Monday 19:59 EDT: Sunday's is the newest
    ("2024-08-27T00:00:00+00:00", "2024-08-26"),  # Monday 20:00 EDT: Monday's has come
    ("2024-08-31T12:00:00+00:00", "2024-08-29"),  # Saturday: Thursday's
    ("2024-12-03T00:30:00+00:00", "2024-12-01"),  # Monday 19:30 EST: Sunday's
])
def test_the_newest_announcement_by_a_moment(now, evening):
    assert latest_announcement(datetime.fromisoformat(now)) == date.fromisoformat(evening)


def test_a_paper_cross_listed_twice_comes_once(arxiv_api):
    arxiv_api.list_ids(["2408.10001", "2408.10002", "2408.10001"])
    assert [p.id for p in source(arxiv_api).listing(["cs.CL"], DAY)] == ["2408.10001",
                                                                           "2408.10002"]


def test_an_empty_page_before_the_count_is_an_error_not_a_short_day(arxiv_api):
    arxiv_api.list_ids(IDS)
    arxiv_api.empty_at = {200}
    with pytest.raises(MalformedResponse, match="empty page at 200 of 450 .* run again"):
        source(arxiv_api).listing(["cs.CL"], DAY)


def test_a_day_of_more_papers_than_the_cap_is_refused_at_the_first_page(arxiv_api):
    arxiv_api.list_ids(IDS[:3])
    arxiv_api.total = LISTING_MAX + 1
    with pytest.raises(MalformedResponse, match="ask for fewer categories"):
        source(arxiv_api).listing(["cs"], DAY)
    assert len(arxiv_api.requests) == 1


@pytest.mark.parametrize("categories", [["cs.CL", "cs CL"], ["cat:cs.CL) OR (all"], [" "]])
def test_a_category_that_is_not_one_is_refused_before_asking(arxiv_api, categories):
    with pytest.raises(UsageError, match="arXiv category"):
        source(arxiv_api).listing(categories, DAY)
    assert arxiv_api.requests == []


# --- the CLI ----------------------------------------------------------------------------

def test_the_cli_digests_the_newest_announcement_of_a_category(cli, arxiv, today, tmp_path):
    """Tuesday 2026-11-24 begins (UTC) before Monday's announcement (20:00 EST): Sunday's,
    which carries Thursday 14:00 to Friday 14:00 EST, is the newest."""
    assert today == date(2026, 11, 24)
    arxiv.list_ids(IDS[:4])
    code, out, err = cli("digest", "--arxiv", "cs.CL", "-f", "json", "--out-dir", "papers")
    assert code == 0, err
    written = tmp_path / "papers" / "arxiv" / "2026-11-22.json"
    digest = json.loads(written.read_text(encoding="utf-8"))
    assert (digest["kind"], digest["date"]) == ("arxiv", "2026-11-22")
    assert digest["categories"] == ["cs.CL"]
    assert [p["id"] for p in digest["papers"]] == IDS[:4]
    [query] = {r.query["search_query"] for r in arxiv.requests if "search_query" in r.query}
    assert query == "(cat:cs.CL) AND submittedDate:[202611191901 TO 202611201900]"


def test_the_markdown_names_the_categories(cli, arxiv):
    arxiv.list_ids(IDS[:2])
    code, out, err = cli("digest", "2024-08-26", "--arxiv", "cs.CL,cs.LG")
    assert code == 0, err
    assert "arXiv cs.CL, cs.LG (2024-08-26)" in out.splitlines()[0]


def test_an_empty_day_of_a_category_writes_nothing(cli, arxiv):
    code, out, err = cli("digest", "2024-08-26", "--arxiv", "cs.CL")
    assert code == 4 and out == ""
    assert "No papers in arXiv cs.CL for 2024-08-26; nothing written." in err


@pytest.mark.parametrize(("args", "message"), [
    (("--arxiv", "cs.CL", "--top", "5"), "arXiv lists have no votes"),
    (("--arxiv", "cs.CL", "--week", "2024-W34"), "only one of DATE, --ids, --since, --week"),
    (("--arxiv", "cs..CL"), "not an arXiv category: 'cs..CL'"),
    (("2099-01-01", "--arxiv", "cs.CL"), "is in the future"),
    (("2024-08-23", "--arxiv", "cs.CL"), "arXiv announces nothing on Friday evenings"),
])
def test_what_an_arxiv_listing_cannot_mean_is_refused(cli, arxiv, args, message):
    code, out, err = cli("digest", *args)
    assert code == 2 and message in err
    assert not [r for r in arxiv.requests if "search_query" in r.query]


def test_the_days_feed_and_its_arxiv_listing_are_each_published_once(
        cli, arxiv, channels_env, hooks):
    """Both digests of 2024-08-26 go to the same Slack channel: neither hides the other."""
    arxiv.list_ids(IDS[:3])
    assert cli("digest", "2024-08-26", "-q", "--publish", "slack")[0] == 0
    code, _, err = cli("digest", "2024-08-26", "--arxiv", "cs.CL", "-q", "--publish", "slack")
    assert code == 0, err
    assert cli("digest", "2024-08-26", "--arxiv", "cs.CL", "-q", "--publish", "slack")[0] == 0
    assert cli("publish", "2024-08-26", "--arxiv", "--to", "slack")[0] == 0  # delivered
    sent = [json.dumps(post) for post in posts(hooks, SLACK_PATH)]
    assert len(sent) == 2
    assert "Daily Papers (2024-08-26)" in sent[0] and "arXiv cs.CL (2024-08-26)" in sent[1]


def test_publishing_an_arxiv_digest_not_made_says_how_to_make_it(cli, channels_env):
    code, _, err = cli("publish", "2024-08-27", "--arxiv", "--to", "slack")
    assert code == 2 and "run papergist digest 2024-08-27 --arxiv CATEGORY first" in err
    code, _, err = cli("publish", "--week", "2024-W34", "--arxiv", "--to", "slack")
    assert code == 2 and "--arxiv goes with a DATE" in err


def test_the_listing_is_stored_and_served_by_the_json_api_on_both_backends(
        cli, arxiv, store_target, monkeypatch):
    """One path for every interface: the CLI stores it, the web API serves that."""
    import papergist
    from test_web import get, serving
    if isinstance(store_target, str):
        monkeypatch.setenv("PAPERGIST_STORE_URL", store_target)
    arxiv.list_ids(IDS[:3])
    code, out, err = cli("digest", "2024-08-26", "--arxiv", "cs.CL", "-f", "json", "-q")
    assert code == 0, err
    with papergist.open() as pg, serving(pg) as base:
        served = get(f"{base}/api/digests/arxiv/2024-08-26")
        assert served.status_code == 200
        assert served.json() == json.loads(out)
        assert [e.kind for e in pg.archive()] == ["arxiv"]
        page = get(f"{base}/arxiv/2024-08-26/")
        assert page.status_code == 200 and "arXiv cs.CL (2024-08-26)" in page.text
        assert '<a href="/arxiv/2024-08-26/">arXiv 2024-08-26</a>' in get(base + "/").text


def test_a_range_of_announcements_catches_up_on_every_one_once(cli, arxiv, tmp_path):
    """A week away: each evening's announcement in turn (none on Friday or Saturday), the
    windows meeting; a second run finds every file written and asks arXiv nothing."""
    arxiv.list_ids(IDS[:2])
    code, _, err = cli("digest", "--arxiv", "cs.CL", "--since", "2024-08-21", "--until",
                       "2024-08-27", "--out-dir", "papers", "-q")
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "papers" / "arxiv").iterdir())
    assert written == [f"2024-08-{d}.md" for d in (21, 22, 25, 26, 27)]
    windows = [r.query["search_query"].split("submittedDate:")[1] for r in arxiv.requests
               if "search_query" in r.query]
    assert len(windows) == 5 and all(int(a[-13:-1]) + 1 == int(b[1:13])  # the next minute
                                     for a, b in zip(windows, windows[1:]))
    asked = len(arxiv.requests)
    assert cli("digest", "--arxiv", "cs.CL", "--since", "2024-08-21", "--until", "2024-08-27",
               "--out-dir", "papers", "-q")[0] == 0
    assert len(arxiv.requests) == asked


def test_a_range_of_announcements_ends_by_default_at_the_newest(cli, arxiv, tmp_path):
    arxiv.list_ids(IDS[:1])
    code, _, err = cli("digest", "--arxiv", "cs.CL", "--since", "2026-11-19", "--out-dir",
                       "papers", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "papers" / "arxiv").iterdir()) == [
        "2026-11-19.md", "2026-11-22.md"]  # Thursday, Sunday: the newest by Tuesday 00:00
