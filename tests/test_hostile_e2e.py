"""Hostile inputs end to end with a model: the other papers' digest stays complete."""

from __future__ import annotations

import json

from fakes import HTML_2508, Reply, load_day, shared_bytes
from test_hostile_fulltext import deep_page

DAY = "2024-08-26"


def test_deep_and_huge_pages_cost_only_their_full_text(cli, llm, arxiv):
    html = shared_bytes(HTML_2508)
    ids = [e["paper"]["id"] for e in load_day(DAY)]
    arxiv.routes[f"/html/{ids[0]}"] = lambda req: Reply(200, deep_page())
    arxiv.routes[f"/html/{ids[1]}"] = lambda req: Reply(200, html + b" " * (20 * 2**20),
                                                        length=False)
    arxiv.routes[f"/html/{ids[2]}"] = lambda req: Reply(200, html)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 0, err
    sources = {p["id"]: p["source"] for p in json.loads(out)["papers"]}
    assert len(sources) == 11
    assert [sources[i] for i in ids[:3]] == ["abstract", "abstract", "fulltext"]
    assert "Traceback" not in err


def test_an_id_with_a_newline_with_a_model_is_one_named_failure(cli, llm, fake_hf):
    raw = load_day(DAY)
    bad = raw[0]["paper"]["id"]
    raw[0]["paper"]["id"] = bad + "\n"
    fake_hf.days = {DAY: raw}
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 3 and "Traceback" not in err and "InvalidURL" not in err
    assert "11 fetched, 10 summarized" in err and f"failed {bad} (fetch): HF entry unreadable" in err
    assert len(json.loads(out)["papers"]) == 10
