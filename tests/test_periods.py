"""Weekly and monthly digests: HF's `?week=` and `?month=` lists, end to end.

The recorded days 2024-08-19 to 2024-08-23 are ISO week 2024-W34 (62 papers);
August 2024 has those and four more recorded days (106 papers).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

import papergist
from fakes import load_day
from test_publish import SLACK_PATH, channels_env, hooks, posts, smtp  # noqa: F401
from papergist.errors import UsageError
from papergist.models import period_label, period_start

W34 = ("2024-08-19", "2024-08-20", "2024-08-21", "2024-08-22", "2024-08-23")
AUGUST = W34 + ("2024-08-26", "2024-08-28", "2024-08-29", "2024-08-30")


def entries(days: tuple[str, ...]) -> list[dict]:
    return [e for d in days for e in load_day(d)]


def by_votes(days: tuple[str, ...]) -> list[str]:
    """Ids most upvoted first, ties in feed order (the digest's reading order)."""
    listed = entries(days)
    order = sorted(range(len(listed)), key=lambda i: (-listed[i]["paper"]["upvotes"], i))
    return [listed[i]["paper"]["id"] for i in order]


def ids(out: str) -> list[str]:
    return [p["id"] for p in json.loads(out)["papers"]]


@pytest.mark.parametrize("kind, label, start", [
    ("weekly", "2024-W34", date(2024, 8, 19)), ("weekly", "2020-W53", date(2020, 12, 28)),
    ("weekly", "2025-W01", date(2024, 12, 30)), ("monthly", "2024-08", date(2024, 8, 1))])
def test_a_period_is_named_by_its_first_day(kind, label, start):
    assert period_start(kind, label) == start
    assert period_label(kind, start) == label


@pytest.mark.parametrize("kind, label", [("weekly", "2024-W54"), ("weekly", "2024-34"),
                                         ("weekly", "2024-W34x"), ("monthly", "2024-13"),
                                         ("monthly", "2024-8"), ("monthly", "2024-08-01")])
def test_a_malformed_period_names_the_form(kind, label):
    with pytest.raises(ValueError, match="YYYY-"):
        period_start(kind, label)


def test_the_cli_digests_a_week_most_upvoted_first(cli, fake_hf):
    code, out, err = cli("digest", "--week", "2024-W34", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["kind"], doc["period"], doc["date"]) == ("weekly", "2024-W34", "2024-08-19")
    assert ids(out) == by_votes(W34) and len(ids(out)) == 62
    assert all(p["sections"] for p in doc["papers"])
    assert {r.query.get("week") for r in fake_hf.hits("/api/daily_papers")} == {"2024-W34"}
    assert "62 papers in 2024-W34" in err


def test_top_keeps_the_most_upvoted_and_the_files_have_their_own_path(cli, tmp_path):
    code, _, err = cli("digest", "--month", "2024-08", "--top", "10", "--out-dir", "papers")
    assert code == 0, err
    written = tmp_path / "papers" / "monthly" / "2024-08.md"
    text = written.read_text(encoding="utf-8")
    assert text.startswith("## Monthly Papers (2024-08)")
    expected = by_votes(AUGUST)[:10]
    shown = [line.split("(https://arxiv.org/abs/")[1].split(")")[0]
             for line in text.splitlines() if line.startswith("### [")]
    assert shown == expected
    assert "106 papers in 2024-08 (the 10 most upvoted kept)" in err
    assert [p.relative_to(tmp_path / "papers").as_posix()
            for p in (tmp_path / "papers").rglob("*.md")] == ["monthly/2024-08.md"]


def test_a_week_is_stored_apart_from_its_first_day(cli, tmp_path):
    assert cli("digest", "2024-08-19")[0] == 0
    assert cli("digest", "--week", "2024-W34", "--top", "3")[0] == 0
    with papergist.open() as pg:  # the CLI's settings, from the environment
        day = pg.load_digest(date(2024, 8, 19))
        week = pg.load_digest(date(2024, 8, 19), "weekly")
    assert day is not None and week is not None
    assert [i.paper.id for i in day.items] == by_votes(W34[:1])
    assert [i.paper.id for i in week.items] == by_votes(W34)[:3]
    assert week.label == "2024-W34"


def test_the_library_takes_any_day_of_the_week(settings, fake_hf, today):
    fake_hf.days = {d: load_day(d) for d in W34}
    with papergist.open(settings, today=lambda: today) as pg:
        result = pg.digest(week=date(2024, 8, 21), top=5)
    assert result.digest.kind == "weekly" and result.digest.date == date(2024, 8, 19)
    assert [i.paper.id for i in result.digest.items] == by_votes(W34)[:5]
    assert result.report.fetched == 5


@pytest.mark.parametrize("kwargs, message", [
    ({"week": "2024-34"}, "invalid week '2024-34': use YYYY-Www"),
    ({"month": "August"}, "invalid month 'August': use YYYY-MM"),
    ({"week": "2024-W34", "month": "2024-08"}, "a week and a month"),
    ({"day": date(2024, 8, 19), "week": "2024-W34"}, "a day and a week"),
    ({"ids": ["2408.12637"], "top": 3}, "not ids"),
    ({"week": "2024-W34", "top": 0}, "top must be 1 or more"),
])
def test_the_library_refuses_what_it_cannot_mean(settings, today, kwargs, message):
    with papergist.open(settings, today=lambda: today) as pg, \
            pytest.raises(UsageError, match=message):
        pg.digest(**kwargs)


def test_a_week_that_has_not_begun_is_refused_before_asking(cli, fake_hf, today):
    year, week, _ = date.fromordinal(today.toordinal() + 7).isocalendar()
    code, _, err = cli("digest", "--week", f"{year}-W{week:02d}")
    assert code == 2 and "has not begun" in err
    assert fake_hf.hits("/api/daily_papers") == []


def test_a_month_served_twenty_at_a_time_is_read_whole(cli, fake_hf):
    fake_hf.max_page = 20
    code, out, err = cli("digest", "--month", "2024-08", "-f", "json")
    assert code == 0, err
    assert sorted(ids(out)) == sorted(e["paper"]["id"] for e in entries(AUGUST))
    pages = [r.query["p"] for r in fake_hf.hits("/api/daily_papers")]
    assert pages == [str(p) for p in range(6)]  # 106 papers: 5 pages of 20, then 6


def test_an_empty_week_writes_nothing(cli, tmp_path):
    code, out, err = cli("digest", "--week", "2024-W20", "--out-dir", "papers")
    assert code == 4 and out == ""
    assert "No papers in HF Daily Papers for 2024-W20; nothing written." in err
    assert not (tmp_path / "papers").exists() or not any((tmp_path / "papers").rglob("*.md"))


def test_a_week_is_published_once_apart_from_its_first_day(cli, channels_env, smtp, hooks):
    """The weekly newsletter: its own delivery, beside the Monday's, each sent once."""
    assert cli("digest", "2024-08-19", "-q", "--publish", "email")[0] == 0
    code, _, err = cli("digest", "--week", "2024-W34", "--top", "5", "-q", "--publish", "email")
    assert code == 0, err
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == ["Daily Papers 2024-08-19: 7 papers", "Weekly Papers 2024-W34: 5 papers"]
    assert smtp.messages[0]["Message-ID"] != smtp.messages[1]["Message-ID"]
    weekly = smtp.messages[1].get_body(("plain",)).get_content()
    assert "papers.example.org/2024/08/19" not in weekly  # the archive has no weekly page
    code, _, err = cli("publish", "--week", "2024-W34", "--to", "email,slack")
    assert code == 0 and len(smtp.messages) == 2  # email: already delivered
    [post] = posts(hooks, SLACK_PATH)
    assert "Weekly Papers (2024-W34)" in json.dumps(post)


def test_publishing_a_week_not_digested_says_how_to_make_it(cli, channels_env):
    code, _, err = cli("publish", "--week", "2024-W35", "--to", "email")
    assert code == 2 and "no en digest stored for 2024-W35: run papergist digest --week " \
        "2024-W35 first" in err


@pytest.mark.parametrize("args", [("2024-08-19", "--week", "2024-W34"), (),
                                  ("--week", "2024-34")])
def test_publish_names_one_digest(cli, channels_env, args):
    code, _, err = cli("publish", *args, "--to", "email")
    assert code == 2 and ("give one of DATE, --week and --month" in err or "YYYY-Www" in err)
