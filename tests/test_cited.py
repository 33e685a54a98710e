"""Every sentence backed by a quote: the model quotes the paper for each sentence it
writes, and papergist looks for each quote in the paper, in any output language."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date

import pytest

from fake_openai import Fault
from fakes import load_day
from papergist.models import Cited
from papergist.summarize.reply import SCHEMA, ReplyProblem, parse_reply
from papergist.verify import verify

DAY = "2024-08-26"
ROW = next(e["paper"] for e in load_day(DAY) if e["paper"]["id"] == "2408.12637")
TITLE, ABSTRACT = ROW["title"], ROW["summary"]  # hard-wrapped, as the HF feed gives them
DOCMATIX = ("These steps include the creation of Docmatix, a dataset for improving document "
            "understanding capabilities, which is 240 times larger than previously available "
            "datasets.")
KO = "이 논문은 문서 이해를 위한 새로운 데이터셋을 만들었습니다."  # no name, no number
OTHER = "We train on 3.2 million hours of ERA5 reanalysis data."


def sections(**texts: str) -> dict[str, str]:
    return {"whats_new": texts.get("whats_new", KO), "technical_details": "",
            "performance_highlights": ""}


# -- the reply ---------------------------------------------------------------------------

def test_the_schema_asks_for_a_quote_with_each_sentence():
    item = SCHEMA["properties"]["whats_new"]["items"]
    assert item["required"] == ["sentence", "quote"] and not item["additionalProperties"]


def test_a_reply_of_sentences_with_quotes_becomes_sections_and_citations():
    reply = parse_reply(json.dumps({
        "whats_new": [{"sentence": KO, "quote": DOCMATIX},
                      {"sentence": "두 번째 문장입니다.", "quote": "We release the model."}],
        "technical_details": [{"sentence": "방법을 설명합니다.", "quote": ""}],
        "performance_highlights": "결과는 좋습니다.",
    }, ensure_ascii=False), "stop", "ko")
    assert reply.sections.whats_new == f"{KO} 두 번째 문장입니다."
    assert reply.sections.technical_details == "방법을 설명합니다."
    assert reply.cited == (Cited(section="whats_new", sentence=KO, quote=DOCMATIX),
                           Cited(section="whats_new", sentence="두 번째 문장입니다.",
                                 quote="We release the model."))


def test_english_quotes_do_not_make_a_korean_reply_the_wrong_language():
    items = [{"sentence": "이 논문은 모델을 공개합니다.", "quote": DOCMATIX}]
    reply = parse_reply(json.dumps({k: items for k in ("whats_new", "technical_details",
                                                        "performance_highlights")}), "stop", "ko")
    assert len(reply.cited) == 3


@pytest.mark.parametrize("item", [{"quote": DOCMATIX}, {"sentence": 3, "quote": DOCMATIX}])
def test_an_item_without_its_sentence_is_a_spoiled_reply(item):
    reply = {"whats_new": [item], "technical_details": "가", "performance_highlights": "나"}
    with pytest.raises(ReplyProblem, match="must have a string \"sentence\""):
        parse_reply(json.dumps(reply), "stop", "ko")


def test_a_runaway_quote_is_a_spoiled_reply_worth_a_repair_turn():
    reply = {"whats_new": [{"sentence": KO, "quote": DOCMATIX * 10}],
             "technical_details": "가", "performance_highlights": "나"}
    with pytest.raises(ReplyProblem, match="longer than 1,000 characters") as spoiled:
        parse_reply(json.dumps(reply, ensure_ascii=False), "stop", "ko")
    assert spoiled.value.kind == "spoiled"


# -- the check -----------------------------------------------------------------------------

def test_a_korean_sentence_with_nothing_to_match_is_backed_by_its_quote():
    alone = verify(sections(), TITLE, ABSTRACT).grounding[0]
    assert (alone.quote, alone.backed, alone.cited) == (None, False, None)
    cited = verify(sections(), TITLE, ABSTRACT,
                   cited=[Cited(section="whats_new", sentence=KO, quote=DOCMATIX)])
    g = cited.grounding[0]
    assert g.backed and g.cited_found and g.cited == DOCMATIX
    assert g.quote is not None and "Docmatix" in g.quote and "240 times larger" in g.quote
    assert cited.unsupported == ()


@pytest.mark.parametrize("quote", [
    "these steps include the CREATION of Docmatix, a dataset for improving document "
    "understanding",  # case and a part of the sentence
    "“These steps include the creation of Docmatix — a dataset for improving document-"
    "understanding capabilities”",  # typographic quotes, a dash, a hyphen
    "We then walk through the practical steps ... a dataset for improving document "
    "understanding capabilities",  # elided, across two sentences
])
def test_a_quote_is_found_word_for_word_whatever_its_case_spacing_and_punctuation(quote):
    verdict = verify(sections(), TITLE, ABSTRACT,
                     cited=[Cited(section="whats_new", sentence=KO, quote=quote)])
    assert verdict.grounding[0].cited_found and verdict.grounding[0].backed


@pytest.mark.parametrize("quote", [
    OTHER,  # another paper's sentence
    "These steps include the creation of Docmatix, a dataset 300 times larger",  # altered
    "We release ... the weather forecasting model",  # elided parts, one not in the paper
    "datasets. We release the model along with Idefics2-8B",  # in the paper, not in order
])
def test_a_quote_the_paper_lacks_leaves_its_sentence_unbacked_and_the_summary_unverified(
        quote):
    verdict = verify(sections(), TITLE, ABSTRACT,
                     cited=[Cited(section="whats_new", sentence=KO, quote=quote)])
    g = verdict.grounding[0]
    assert (g.backed, g.cited, g.cited_found) == (False, quote, False)
    assert verdict.status == "unverified" and quote in verdict.unsupported


def test_a_quote_of_three_words_backs_nothing_and_counts_for_nothing():
    verdict = verify(sections(), TITLE, ABSTRACT,
                     cited=[Cited(section="whats_new", sentence=KO, quote="We release the")])
    g = verdict.grounding[0]
    assert (g.quote, g.backed, g.cited_found) == (None, False, False)
    assert verdict.unsupported == ()


def test_a_found_quote_does_not_excuse_a_number_the_paper_lacks():
    sentence = "Docmatix는 기존 데이터셋보다 300배 큽니다."
    verdict = verify(sections(whats_new=sentence), TITLE, ABSTRACT,
                     cited=[Cited(section="whats_new", sentence=sentence, quote=DOCMATIX)])
    g = verdict.grounding[0]
    assert g.cited_found and not g.backed
    assert verdict.status == "unverified" and "300배" in verdict.unsupported


def test_a_latin_sentence_needs_its_words_in_the_quote_it_gives():
    sentence = "The authors train a weather forecasting transformer on reanalysis archives."
    verdict = verify(sections(whats_new=sentence), TITLE, ABSTRACT,
                     cited=[Cited(section="whats_new", sentence=sentence, quote=DOCMATIX)])
    g = verdict.grounding[0]
    assert g.cited_found and g.share is not None and g.share < 0.5 and not g.backed


# -- end to end ----------------------------------------------------------------------------

def paper(out: str, paper_id: str = "2408.12637") -> dict:
    return next(p for p in json.loads(out)["papers"] if p["id"] == paper_id)


def test_a_korean_digest_has_every_sentence_backed_by_a_quote_found_in_the_paper(
        cli, llm, tmp_path):
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--lang", "ko", "-f", "json")
    assert code == 0, err
    request = llm.calls[0].request
    assert request["response_format"]["json_schema"]["schema"] == SCHEMA
    grounding = [g for p in json.loads(out)["papers"] for g in p["verification"]["grounding"]]
    assert grounding and all(g["cited_found"] and g["backed"] for g in grounding)
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        stored = [json.loads(row[0]) for row in conn.execute("select cited from summaries")]
    conn.close()
    assert len(stored) == 11 and all(c["quote"] and c["sentence"] for s in stored for c in s)
    code, again, err = cli("digest", DAY, "--model", "fake-gpt", "--lang", "ko", "-f", "json")
    assert code == 0 and len(llm.calls) == 11  # the re-run is read from the store
    assert paper(again)["verification"] == paper(out)["verification"]


def test_an_invented_quote_is_regenerated_and_the_model_told_what_it_quoted(cli, llm):
    target = "Building and better understanding"  # the title of 2408.12637
    seen: list[int] = []

    def invent_once(index, request):
        if target in request["messages"][1]["content"] and not seen:
            seen.append(index)
            return Fault("invented_quote")
        return None
    llm.plan = invent_once
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--lang", "ko", "-f", "json")
    assert code == 0, err
    asked = [c.request["messages"] for c in llm.calls
             if target in c.request["messages"][1]["content"]]
    assert len(asked) == 2
    told = asked[1][-1]["content"]
    assert "failed a check against the paper" in told and "Quote only words" in told
    assert "ERA5" in told or "Helios" in told or "Corvid" in told  # what it quoted
    assert paper(out)["verification"]["status"] == "verified"


def test_a_model_that_ignores_the_quotes_still_gives_a_digest(cli, llm):
    llm.plan = lambda index, request: Fault("plain_sections")
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--lang", "ko", "-f", "json")
    assert code == 0, err
    grounding = paper(out)["verification"]["grounding"]
    assert grounding and not any(g["cited"] for g in grounding)


def test_the_papers_page_names_a_quote_the_paper_does_not_hold(cli, llm, tmp_path):
    """The model invents its quotes twice: the summary is kept with its warning, and the
    page shows what was quoted and that the paper lacks it."""
    llm.plan = lambda index, request: Fault("invented_quote", section="whats_new")
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--lang", "ko", "-f", "json")
    assert code == 0, err
    verdict = paper(out)["verification"]
    invented = [g["cited"] for g in verdict["grounding"] if g["cited"] and not g["cited_found"]]
    assert invented and verdict["status"] == "unverified"
    assert set(invented) <= set(verdict["unsupported"])
    code, _, err = cli("site", "public", "--lang", "ko")
    assert code == 0, err
    page = (tmp_path / "public" / "2024/08/26/2408.12637.html").read_text(encoding="utf-8")
    assert f"Its model quoted “{invented[0]}”, which is not in the paper." in page


# -- other tools' quotes -------------------------------------------------------------------

def test_papergist_verify_checks_the_quotes_another_tool_asked_its_model_for(cli, tmp_path):
    """Tools that ask the model to quote supporting sentences never check the quotes."""
    item = {"title": TITLE, "abstract": ABSTRACT, "sections": {"whats_new": KO}}
    items = [{**item, "cited": [{"section": "whats_new", "sentence": KO, "quote": quote}]}
             for quote in (DOCMATIX, OTHER)]
    (tmp_path / "quoted.json").write_text(json.dumps(items, ensure_ascii=False))
    code, out, err = cli("verify", "quoted.json")
    assert code == 3, err
    found, invented = json.loads(out)
    assert found["grounding"][0]["cited_found"] and found["unsupported"] == []
    assert invented["unsupported"] == [OTHER] and invented["status"] == "unverified"


@pytest.mark.parametrize("cited", ['"a quote"', '[{"section": "whats_new", "quote": "x"}]'])
def test_a_malformed_cited_list_is_refused_by_name(cli, tmp_path, cited):
    (tmp_path / "bad.json").write_text(
        '{"title": "t", "abstract": "a", "sections": {"x": "y"}, "cited": %s}' % cited)
    code, out, err = cli("verify", "bad.json")
    assert code == 2 and out == "" and "'cited' must be a list of objects" in err


# -- hostile quotes --------------------------------------------------------------------------

def test_a_hostile_invented_quote_is_text_on_every_page_and_message():
    """A model (obeying an abstract, say) quotes markup: it is not in the paper, so it is
    named as such, and shown as text in HTML, Markdown and chat."""
    from papergist.models import Digest, DigestItem, Paper, Sections, Summary
    from papergist.render.chat import slack_payloads
    from papergist.render.html import render_paper_html
    from papergist.render.markdown import render_markdown
    hostile = '<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:x)'
    verdict = verify(sections(), TITLE, ABSTRACT,
                     cited=[Cited(section="whats_new", sentence=KO, quote=hostile)])
    assert hostile in verdict.unsupported
    paper = Paper(id="2408.12637", title=" ".join(TITLE.split()), abstract=ABSTRACT,
                  authors=("A",))
    summary = Summary(paper_id=paper.id, sections=Sections(**sections()),
                      summarizer="openai", model="m", language="ko", prompt_version="v",
                      source="abstract", source_hash="h", verification=verdict)
    item = DigestItem(paper=paper, rank=1, summary=summary)
    digest = Digest(date=date(2024, 8, 26), items=(item,))
    page = render_paper_html(item, digest, site_url="../../..")
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    markdown = render_markdown(digest)
    assert not re.search(r"(?<!\\)<script|(?<!\\)\]\(javascript:", markdown)  # escaped only
    slack = json.dumps(slack_payloads(digest))
    assert "<script>" not in slack and "&lt;script&gt;" in slack  # Slack's own escaping
