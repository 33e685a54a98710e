"""Full-text search over the stored digests: the store, the front door and the CLI.

The digests are built from the recorded HF days by the offline summarizer, so
every summary is a sentence of its paper's abstract.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import papergist
from fakes import load_day
from papergist.errors import StoreError, UsageError
from papergist.models import Digest, DigestItem, Paper, Sections, Summary
from papergist.store import Store, migrations
from papergist.store.search import fts_query, unmark

IDEFICS = "2408.12637"  # "Building and better understanding vision-language models" (08-26)


@pytest.fixture
def stored(cli, store_target, monkeypatch):
    """Two days digested into a store of each backend (`store_url` names PostgreSQL)."""
    if isinstance(store_target, str):
        monkeypatch.setenv("PAPERGIST_STORE_URL", store_target)
    for day in ("2024-08-23", "2024-08-26"):
        assert cli("digest", day, "-q")[0] == 0
    return cli


def ids(results) -> list[str]:
    return [h.paper_id for h in results.hits]


def test_a_search_finds_a_paper_by_title_author_abstract_and_summary(stored):
    with papergist.open() as pg:
        assert IDEFICS in ids(pg.search("vision-language"))  # title
        assert ids(pg.search("Laurencon"))[:1] == [IDEFICS]  # author "Laurençon", folded
        assert IDEFICS in ids(pg.search("Idefics3"))  # abstract and summary
        hit = pg.search("Idefics3").hits[0]
    assert hit.date == date(2024, 8, 26) and hit.kind == "daily" and hit.upvotes is not None
    assert hit.authors[0] == "Hugo Laurençon"
    assert all(hit.snippet[a:b].lower().startswith("idefics") for a, b in hit.highlights)


def test_every_word_must_appear_and_words_are_stemmed(stored):
    with papergist.open() as pg:
        models = set(ids(pg.search("model", limit=200)))
        both = set(ids(pg.search("model vision", limit=200)))
        vision = set(ids(pg.search("vision", limit=200)))
        plural = set(ids(pg.search("models", limit=200)))
    assert both == models & vision and both
    assert models == plural  # Porter stemming: "model" and "models" are one word


def test_a_title_match_ranks_above_a_mention_in_the_abstract(stored):
    day = load_day("2024-08-26") + load_day("2024-08-23")
    in_title = {e["paper"]["id"] for e in day if "vision" in e["paper"]["title"].lower()}
    elsewhere = {e["paper"]["id"] for e in day if "vision" in e["paper"]["summary"].lower()
                 and e["paper"]["id"] not in in_title}
    assert in_title and elsewhere
    with papergist.open() as pg:
        found = ids(pg.search("vision", limit=200))
    assert set(found[:len(in_title)]) == in_title


def test_a_phrase_and_a_prefix(stored):
    phrase = re.compile(r"vision[-\s]+language[-\s]+models?\b", re.I)
    expected = {e["paper"]["id"] for d in ("2024-08-23", "2024-08-26") for e in load_day(d)
                if phrase.search(e["paper"]["title"] + " " + e["paper"]["summary"])}
    with papergist.open() as pg:
        assert set(ids(pg.search('"vision-language models"', limit=200))) == expected
        assert IDEFICS in expected
        assert ids(pg.search("Idefic*")) == ids(pg.search("Idefics3"))
        assert ids(pg.search('"models language vision"')) == []  # a phrase keeps its order


@pytest.mark.parametrize("query", ["", "   ", "*", "--", '""', "^", "()"])
def test_a_query_without_a_word_is_a_usage_error(stored, query):
    with papergist.open() as pg, pytest.raises(UsageError, match="nothing to search for"):
        pg.search(query)


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_the_limit_is_checked(stored, limit):
    with papergist.open() as pg, pytest.raises(UsageError, match="limit must be 1 to 200"):
        pg.search("model", limit=limit)


QUERIES = (st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
           | st.lists(st.sampled_from(['"', "*", "AND", "OR", "NOT", "NEAR(", ")", "^", ":", "-",
                                       "+", "title:", "{", "}", "model", "모델", "\\", "'", "&",
                                       "|", "!", "<->", ":*", "$$"]),
                      max_size=8).map(" ".join))


@hsettings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=QUERIES)
def test_no_text_is_an_fts_syntax_error(text):
    try:
        query = fts_query(text)
    except UsageError:
        return
    conn = STORE.engine.connect()
    try:
        conn.execute(sa.text("SELECT count(*) FROM search_fts WHERE search_fts MATCH :q"),
                     {"q": query}).scalar()
    finally:
        conn.close()


@pytest.fixture(scope="module", autouse=True)
def _module_store(tmp_path_factory):
    global STORE
    STORE = Store.open(tmp_path_factory.mktemp("fts") / "store.db")
    STORE.save_digest(Digest(date=date(2024, 8, 26), items=(item("2408.00001", "A model"),)),
                      "en")
    yield
    STORE.close()


def item(paper_id: str, title: str, summary: str | None = None, language: str = "en",
         upvotes: int = 1) -> DigestItem:
    paper = Paper(id=paper_id, title=title, abstract=f"The abstract of {title}.",
                  authors=("Ada Lovelace", "Alan Turing"), source="hf")
    sections = Summary(paper_id=paper_id, summarizer="test", model="m", language=language,
                       prompt_version="1", source="abstract", source_hash="h",
                       sections=Sections(whats_new=summary or title, technical_details="-",
                                         performance_highlights="-")) if summary else None
    return DigestItem(paper=paper, rank=1, upvotes=upvotes, summary=sections)


def test_no_text_is_a_tsquery_error_on_postgresql(postgres_cluster):
    store = Store.open(postgres_cluster.new_database())
    store.save_digest(Digest(date=date(2024, 8, 26), items=(item("2408.1", "A model's test",
                                                                 "It's fast: 2x"),)), "en")

    @hsettings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=QUERIES)
    def check(text: str) -> None:
        try:
            store.search(text, "en")
        except UsageError:
            pass

    check()
    assert [h.paper_id for h in store.search("model's", "en")] == ["2408.1"]
    store.close()


def test_languages_are_searched_apart(store_target):
    store = Store.open(store_target)
    day = date(2024, 8, 26)
    store.save_digest(Digest(date=day, items=(item("2408.1", "Fast decoding", "빠른 디코딩 모델은 "
                                                   "두 배 빠르다", "ko"),)), "ko")
    store.save_digest(Digest(date=day, items=(item("2408.1", "Fast decoding", "It decodes "
                                                   "twice as fast"),)), "en")
    assert [h.paper_id for h in store.search("모델", "ko")] == ["2408.1"]  # "모델은": a prefix
    assert store.search("모델", "en") == [] and store.search("twice", "ko") == []
    assert [h.paper_id for h in store.search("twice", "en")] == ["2408.1"]
    store.close()


def test_a_paper_is_one_row_and_keeps_the_day_it_was_listed(store_target):
    store = Store.open(store_target)
    day, monday = date(2024, 8, 21), date(2024, 8, 19)
    store.save_digest(Digest(date=day, items=(item("2408.1", "Old title", "first words"),)), "en")
    store.save_digest(Digest(date=day, items=(item("2408.1", "New title", "second words"),)),
                      "en")
    store.save_digest(Digest(date=monday, kind="weekly",
                             items=(item("2408.1", "New title", "second words", upvotes=9),
                                    item("2408.2", "Only weekly", "weekly words"))), "en")
    assert store.search("first", "en") == []
    [hit] = store.search("second", "en")
    assert (hit.date, hit.kind, hit.upvotes) == (day, "daily", 1)
    [weekly] = store.search("weekly", "en")
    assert (weekly.date, weekly.kind) == (monday, "weekly")
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM search_docs")).scalar() == 2
    store.close()


def test_an_older_store_is_indexed_when_it_is_upgraded(store_target, monkeypatch):
    path = store_target
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:7])
        old = Store.open(path)
        digests = old.t["digests"]
        body = Digest(date=date(2024, 8, 26), items=(item("2408.7", "Sparse experts", "It "
                                                           "routes tokens"),)).model_dump_json()
        with old.engine.begin() as conn:
            conn.execute(digests.insert().values(day="2024-08-26", kind="daily", language="en",
                                                 body=body, body_schema=1, built_at="x"))
            conn.execute(digests.insert().values(day="2024-08-27", kind="daily", language="en",
                                                 body="{not json", body_schema=1, built_at="x"))
            conn.execute(digests.insert().values(day="2024-08-28", kind="daily", language="en",
                                                 body='{"date": "2024-08-28", "items": "no"}',
                                                 body_schema=1, built_at="x"))
        old.close()
    store = Store.open(path)
    assert [h.paper_id for h in store.search("routes", "en")] == ["2408.7"]
    assert [(e.label, e.papers) for e in store.archive("en")] == [
        ("2024-08-28", 0), ("2024-08-27", 0), ("2024-08-26", 1)]
    store.close()


def test_a_store_that_cannot_be_read_is_a_store_error(tmp_path):
    store = Store.open(tmp_path / "s.db")
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE search_fts"))
    with pytest.raises(StoreError, match="cannot read the store"):
        store.search("model", "en")
    store.close()


def test_unmark_gives_offsets_in_the_clean_text():
    assert unmark("a \x02bc\x03 d\x02e\x03") == ("a bc de", ((2, 4), (6, 7)))
    assert unmark("no marks\nhere") == ("no marks here", ())


def test_the_cli_prints_matches_and_json(stored):
    code, out, err = stored("search", "Idefics3", "--limit", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"2024-08-26  {IDEFICS}  ▲ ") and "vision-language" in lines[0]
    assert lines[1] == "    Hugo Laurençon, Andrés Marafioti, Victor Sanh and 1 more"
    code, out, _ = stored("search", "Idefics3", "-f", "json")
    doc = json.loads(out)
    assert doc["query"] == "Idefics3" and doc["language"] == "en"
    assert doc["hits"][0]["paper_id"] == IDEFICS and doc["hits"][0]["date"] == "2024-08-26"


def test_the_cli_says_when_nothing_matches_and_refuses_no_word(stored):
    code, out, err = stored("search", "zyzzyva")
    assert code == 4 and out == "" and "No paper in the en digests matches 'zyzzyva'" in err
    code, out, err = stored("search", "*")
    assert code == 2 and "nothing to search for" in err
