"""A digest ranked for a reader: the scoring, the config table, the CLI and the web app."""

from __future__ import annotations

import json
from datetime import date

import pytest

from digests import fixture_digest
from test_publish import channels_env, hooks, smtp  # noqa: F401
from papergist.errors import ConfigError
from papergist.models import Digest, DigestItem, Paper
from papergist.rank import Reader, rank, relevance

DAY = "2024-08-26"
IDEFICS, SPARK, CUSTOMCRAFTER, LAYERPANO = "2408.12637", "2408.12114", "2408.13239", "2408.13252"


def paper(pid: str, title: str, abstract: str = "", authors: tuple[str, ...] = (),
          org: str | None = None) -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, authors=authors, organization=org,
                 source="hf")


def items(*papers: Paper) -> Digest:
    return Digest(date=date(2024, 8, 26), items=tuple(
        DigestItem(paper=p, rank=n, upvotes=10 - n) for n, p in enumerate(papers, 1)))


def test_each_match_scores_and_says_why():
    reader = Reader(name="alice", keywords=("video generation", "diffusion"),
                    authors=("Ada Lovelace",), organizations=("NVIDIA",))
    item = items(paper("1", "Customized Video Generation", "A diffusion model.",
                       ("Alan Turing", "ada  LOVELACE"), "NVIDIA Research")).items[0]
    found = relevance(item, reader)
    assert found.reasons == ("video generation (title)", "diffusion (abstract)",
                             "Ada Lovelace (author)", "NVIDIA (organization)")
    assert found.score == 3 + 1 + 3 + 2


def test_keywords_match_whole_words_in_any_case_and_plural():
    reader = Reader(name="a", keywords=("LLM",))
    digest = items(paper("1", "Small LLMs reason"), paper("2", "LLMOps at scale"),
                   paper("3", "An llm agent"))
    assert [i.relevance.score for i in rank(digest, reader).items] == [3, 3, 0]
    assert [i.paper.id for i in rank(digest, reader).items] == ["1", "3", "2"]


def test_ties_keep_the_digests_order():
    digest = items(paper("1", "A"), paper("2", "B"), paper("3", "C diffusion"))
    ranked = rank(digest, Reader(name="a", keywords=("diffusion",)))
    assert [i.paper.id for i in ranked.items] == ["3", "1", "2"]


def test_papers_like_the_library_rise():
    library = [paper("L", "Vision-language models for documents",
                     "We train vision-language models on document images.")]
    digest = items(paper("1", "Protein folding at scale", "Proteins fold."),
                   paper("2", "Better vision-language models", "Vision-language models "
                         "read documents."))
    ranked = rank(digest, Reader(name="a", library=("L",)), library)
    assert [i.paper.id for i in ranked.items] == ["2", "1"]
    assert ranked.items[0].relevance.reasons[0].startswith("like your library (0.")
    assert ranked.items[1].relevance.reasons == ()


@pytest.mark.parametrize("table, message", [
    ({"keyword": ["x"]}, "unknown key(s) in [readers.bob]: keyword"),
    ({"keywords": "diffusion"}, 'keywords must be a list of strings, e.g. keywords = ["diffusion"]'),
    ({"authors": [""]}, "authors must be a list of strings"),
    ({}, "follows nothing"),
])
def test_a_bad_reader_table_is_named(table, message):
    with pytest.raises(ConfigError) as refused:
        Reader.from_table("bob", table)
    assert message in str(refused.value)


def test_the_real_day_ranked_keeps_every_paper():
    digest = fixture_digest(DAY)
    ranked = rank(digest, Reader(name="a", keywords=("video",)))
    assert sorted(i.paper.id for i in ranked.items) == sorted(i.paper.id for i in digest.items)
    assert ranked.items[0].paper.id == CUSTOMCRAFTER


@pytest.fixture
def alice(tmp_path, monkeypatch):
    config = tmp_path / "papergist.toml"
    config.write_text(f"""
[readers.alice]
keywords = ["3D", "video generation"]
authors = ["Hugo Laurençon"]
library = ["{SPARK}", "2409.99999"]
""", encoding="utf-8")
    monkeypatch.setenv("PAPERGIST_CONFIG", str(config))
    return config


def test_the_cli_ranks_a_day_for_a_reader(cli, alice, arxiv):
    assert cli("digest", "2024-08-23", "-q")[0] == 0  # SPARK, of alice's library, is stored
    code, out, err = cli("digest", DAY, "--for", "alice", "-f", "json")
    assert code == 0, err
    papers = json.loads(out)["papers"]
    top = {p["id"]: p["relevance"] for p in papers[:4]}
    assert set(top) == {IDEFICS, CUSTOMCRAFTER, LAYERPANO, "2408.12885"}
    assert top[IDEFICS]["reasons"][0] == "Hugo Laurençon (author)"
    assert top[CUSTOMCRAFTER]["reasons"][0] == "video generation (title)"
    assert all(p["relevance"]["reader"] == "alice" for p in papers)
    scores = [p["relevance"]["score"] for p in papers]
    assert scores == sorted(scores, reverse=True) and scores[-1] == 0
    asked = [r.query["id_list"] for r in arxiv.hits("/api/query")]
    assert asked == ["2409.99999"]  # the library paper not in the store, asked once
    code, out, _ = cli("digest", DAY, "--for", "alice")
    assert "_For alice: Hugo Laurençon (author)" in out
    assert [r.query["id_list"] for r in arxiv.hits("/api/query")] == asked  # now stored


def test_an_unknown_reader_is_refused_before_any_work(cli, alice, fake_hf):
    code, _, err = cli("digest", DAY, "--for", "bob")
    assert code == 2 and "no reader 'bob' in the config file (alice)" in err
    assert fake_hf.hits("/api/daily_papers") == []


@pytest.fixture
def alice_mail(alice):
    with alice.open("a", encoding="utf-8") as config:
        config.write('email_to = ["alice@example.org"]\n')
    return alice


def test_each_reader_gets_their_own_digest_by_email_once(cli, alice_mail, channels_env, smtp):
    code, _, err = cli("digest", DAY, "-q", "--publish", "email")  # the team's
    assert code == 0, err
    code, _, err = cli("publish", DAY, "--to", "email", "--for", "alice")
    assert code == 0, err
    team, mine = smtp.messages
    assert team["To"] == "reader@example.org" and mine["To"] == "alice@example.org"
    text = mine.get_body(("plain",)).get_content()
    first = text.split("----")[1]
    assert "Building and better understanding vision-language models" in first
    assert "For alice: Hugo Laurençon (author)" in first.replace("\n", " ")
    assert "For alice" not in team.get_body(("plain",)).get_content()
    code, _, err = cli("publish", DAY, "--to", "email", "--for", "alice")
    assert code == 0 and "skipped" in err and len(smtp.messages) == 2


def test_a_readers_digest_goes_by_email_only_and_needs_an_address(cli, alice, channels_env):
    code, _, err = cli("digest", DAY, "--for", "alice", "--publish", "email,slack")
    assert code == 2 and "goes by email only" in err
    code, _, err = cli("digest", DAY, "--for", "alice", "--publish", "email")
    assert code == 2 and "[readers.alice] has no email_to" in err


def test_the_stored_digest_stays_unranked(cli, alice):
    assert cli("digest", DAY, "--for", "alice", "-q")[0] == 0
    code, out, _ = cli("digest", DAY, "-f", "json")
    assert all("relevance" not in p for p in json.loads(out)["papers"])
    assert json.loads(out)["papers"][0]["id"] == IDEFICS  # votes order
