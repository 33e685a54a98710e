"""Ids with a trailing newline ("2408.12637\\n" passes a `$`-anchored pattern)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from datetime import date

import pytest

import papergist.sources
from fakes import load_day
from papergist.models import ARXIV_ID_RE
from papergist.sources import arxiv
from papergist.sources.arxiv import ArxivSource, check_ids, split_id
from papergist.sources.hf_daily import parse_day, parse_entry

GOOD = ["2408.12637", "2408.12637v2", "0704.0001", "hep-th/9901001", "math.GT/0309136v1"]
TAILS = ["\n", "\r\n", " ", "\t", "\nx", "v2\n"]


def my_modules() -> list:
    """models and every module of papergist.sources."""
    names = ["papergist.models"] + [f"papergist.sources.{m.name}"
                                     for m in pkgutil.iter_modules(papergist.sources.__path__)]
    return [importlib.import_module(n) for n in names]


def test_no_pattern_of_mine_ends_with_a_dollar():
    """`$` also matches before a final newline; patterns end with `\\Z` or use fullmatch."""
    patterns = [(m.__name__, name, v) for m in my_modules() for name, v in vars(m).items()
                if isinstance(v, re.Pattern)]
    assert len(patterns) >= 10
    dollars = [(mod, name) for mod, name, p in patterns
               if p.pattern.endswith("$") and not p.flags & re.MULTILINE]
    assert dollars == []


@pytest.mark.parametrize("good", GOOD)
@pytest.mark.parametrize("tail", TAILS)
def test_the_id_pattern_refuses_a_tail(good, tail):
    assert ARXIV_ID_RE.fullmatch(good) and ARXIV_ID_RE.match(good)
    assert ARXIV_ID_RE.match(good + tail) is None
    with pytest.raises(ValueError, match="not an arXiv id"):
        split_id(good + tail)


def test_abstract_urls_refuse_a_newline():
    assert arxiv._ABS_URL.fullmatch("http://arxiv.org/abs/2408.12637v1")
    assert arxiv._ABS_URL.fullmatch("http://arxiv.org/abs/2408.12637v1\n") is None
    assert arxiv._unknown_id("http://arxiv.org/abs/2408.12637\n") is None


def test_an_hf_entry_with_a_newline_in_its_id_is_a_named_failure():
    raw = load_day("2024-08-26")
    raw[0]["paper"]["id"] = "2408.12637\n"
    with pytest.raises(ValueError, match=r"not an arXiv id \('2408.12637\\n'\)"):
        parse_entry(raw[0], 0)
    daily, failures = parse_day(date(2024, 8, 26), raw)
    assert len(daily.entries) == 10
    assert [(f.paper_id, f.stage) for f in failures] == [("2408.12637", "fetch")]
    assert "\n" not in failures[0].reason


def test_a_failure_names_a_huge_id_in_one_short_line():
    raw = load_day("2024-08-26")
    raw[0]["paper"]["id"] = "2408.12637\n" + "x" * 100_000
    _, failures = parse_day(date(2024, 8, 26), raw)
    assert failures[0].paper_id == "2408.12637 " + "x" * 53


def test_the_cli_digest_reports_the_bad_entry_and_keeps_the_rest(cli, fake_hf):
    raw = load_day("2024-08-26")
    raw[0]["paper"]["id"] = "2408.12637\n"
    fake_hf.days = {"2024-08-26": raw}
    code, out, err = cli("digest", "2024-08-26")
    assert code == 3
    assert "11 fetched, 10 summarized, 1 failed" in err
    assert "failed 2408.12637 (fetch): HF entry unreadable: entry 1: paper.id missing or " \
           "not an arXiv id ('2408.12637\\n')" in err
    assert out.count("\n### [") == 10
    assert all(line.startswith("### [") and line.endswith(")")
               for line in out.splitlines() if line.startswith("###"))


def test_ids_are_stripped_then_validated_whole():
    assert check_ids(["2408.12637\n", " hep-th/9901001\t"]) == ["2408.12637", "hep-th/9901001"]
    with pytest.raises(Exception, match=r"not an arXiv id: '2408.12637\\nx'"):
        check_ids(["2408.12637\nx"])


def test_the_cli_ids_with_a_newline(cli, arxiv):
    code, out, err = cli("digest", "--ids", "2408.12637\n,2408.13252", "--format", "json")
    assert code == 0, err
    assert [p["id"] for p in json.loads(out)["papers"]] == ["2408.12637", "2408.13252"]
    assert [r.query["id_list"] for r in arxiv.hits("/api/query")] == ["2408.12637,2408.13252"]
    code, out, err = cli("digest", "--ids", "2408.12637\nv2")
    assert (code, out) == (2, "")
    assert "not an arXiv id: '2408.12637\\nv2'" in err and "Traceback" not in err


def test_arxiv_source_never_asks_for_a_newline(settings, http, fake_arxiv):
    with pytest.raises(Exception, match="not an arXiv id"):
        ArxivSource(http, settings).fetch(["2408.12637\n\n2408.13252"])
    assert fake_arxiv.requests == []


def test_the_reason_quotes_a_huge_id_clipped():
    raw = load_day("2024-08-26")
    raw[0]["paper"]["id"] = "9" * 100_000
    _, failures = parse_day(date(2024, 8, 26), raw)
    assert failures[0].reason == ("HF entry unreadable: entry 1: paper.id missing or not an "
                                  f"arXiv id ('{'9' * 64}…')")
