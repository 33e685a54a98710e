"""The fault matrix (issue 8, item 5): each fault against real local servers, end to end.

Every case ends in a complete digest or a named per-paper failure with a non-zero
exit, nothing is lost from the store, and a re-run after the fault heals recovers.
Cases already covered elsewhere are only completed here (store kept, re-run).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pypdfium2 as pdfium
import pytest

import papergist
from conftest import local_env
from fake_openai import Fault
from fakes import HTML_2508, PDF_ATTENTION, Reply, load_day, shared_bytes
from test_store_errors import _corrupt_all_but_the_first_page

DAY = "2024-08-26"
PAPERS = 11  # entries of the recorded 2024-08-26
TABLES = ("papers", "daily_entries", "summaries", "runs")


def counts(tmp_path: Path) -> dict[str, int]:
    """Rows per table of the store the `cli` fixture uses."""
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}


def runs(tmp_path: Path) -> list[tuple[str, int]]:
    """(day, exit status) of every recorded run, in order."""
    with sqlite3.connect(tmp_path / "home" / "papergist.db") as conn:
        return conn.execute("select day, exit_status from runs order by id").fetchall()


def complete(cli, *args: str) -> str:
    """Run a digest that must be whole: exit 0, every paper summarized; its stdout."""
    code, out, err = cli("digest", DAY, *args)
    assert code == 0, err
    return out


# --- HF Daily Papers: the whole request fails --------------------------------------------

HTML_200 = ("<!DOCTYPE html><html><head><title>Hugging Face - We'll be right back</title>"
            "</head><body><h1>503</h1></body></html>")


@pytest.mark.parametrize("reply, message", [
    (Reply(500, '{"error": "Internal Error"}'),
     "HF Daily Papers is unavailable after 3 attempts (HTTP 500: Internal Error); try again later"),
    (Reply(503, "busy", {"Retry-After": "0"}),
     "HF Daily Papers is unavailable after 3 attempts (HTTP 503: busy)"),
    (Reply(429, '{"error": "Too Many Requests"}', {"Retry-After": "0"}),
     "HF Daily Papers is unavailable after 3 attempts (HTTP 429: Too Many Requests)"),
    (Reply(200, '[{"paper": {"id": "2408.12637", "title": "Build'),
     "HF Daily Papers sent invalid JSON (Unterminated string starting at); the reply may be "
     "truncated, try again later"),
    (Reply(200, HTML_200, {"Content-Type": "text/html"}),
     "HF Daily Papers sent invalid JSON (Expecting value); the reply may be truncated"),
    (Reply(200, '{"2408.12637": {"title": "x"}}'),
     "HF Daily Papers sent a JSON dict, not the list of papers it documents"),
], ids=["500", "503", "429", "truncated-json", "html-200", "object-not-list"])
def test_hf_whole_day_fault_keeps_the_store_and_a_rerun_recovers(cli, fake_hf, tmp_path,
                                                                 reply, message):
    """HF 500 / 503 / 429 / truncated JSON / HTML page with 200 / an object, not a list:
    exit 5 with one clear line, a stored day untouched; healed, the day is whole."""
    fake_hf.fail = lambda req: reply
    code, out, err = cli("digest", DAY)
    assert (code, out) == (5, "") and f"papergist: error: {message}" in err
    assert "Traceback" not in err
    assert counts(tmp_path) == {"papers": 0, "daily_entries": 0, "summaries": 0, "runs": 1}
    fake_hf.fail = None
    complete(cli)
    fake_hf.fail = lambda req: reply  # a stored day survives a failing re-run
    assert cli("digest", DAY)[0] == 5
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 3}
    assert runs(tmp_path) == [(DAY, 5), (DAY, 0), (DAY, 5)]


def test_hf_503_retry_after_is_waited_for(cli, fake_hf, monkeypatch):
    """HF 503 with Retry-After: 1 once: the retry waits the second asked, then the day
    is whole."""
    replies = [Reply(503, "busy", {"Retry-After": "1"})]
    fake_hf.fail = lambda req: replies.pop() if replies else None
    complete(cli)
    first, second = fake_hf.hits("/api/daily_papers")[:2]
    assert second.time - first.time >= 1.0


def test_hf_refused_connection_then_recovers(cli, fake_hf, tmp_path, monkeypatch):
    """HF refuses the connection (nothing listens): exit 5, named; pointed back, whole."""
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    code, out, err = cli("digest", DAY)
    assert (code, out) == (5, "")
    assert "papergist: error: HF Daily Papers is unavailable after 3 attempts (cannot connect " \
           "to 127.0.0.1); try again later" in err
    monkeypatch.setenv("HF_ENDPOINT", fake_hf.url)
    complete(cli)
    assert counts(tmp_path)["papers"] == PAPERS and runs(tmp_path) == [(DAY, 5), (DAY, 0)]


def test_hf_hang_past_http_timeout_then_recovers(cli, fake_hf, tmp_path, monkeypatch):
    """HF answers after the http_timeout: each attempt times out, exit 5 in about
    retries x timeout; once it answers in time, the day is whole."""
    monkeypatch.setenv("PAPERGIST_HTTP_TIMEOUT", "0.3")
    monkeypatch.setenv("PAPERGIST_HTTP_ATTEMPTS", "2")
    fake_hf.fail = lambda req: Reply(200, "[]", delay=1.5)
    start = time.monotonic()
    code, out, err = cli("digest", DAY)
    assert time.monotonic() - start < 1.5
    assert (code, out) == (5, "")
    assert "HF Daily Papers is unavailable after 2 attempts (timed out); try again later" in err
    fake_hf.fail = None
    complete(cli)
    assert runs(tmp_path) == [(DAY, 5), (DAY, 0)]


# --- HF Daily Papers: some entries are wrong ---------------------------------------------


def broken(entry: dict, how: str) -> None:
    """Spoil one raw HF entry in place."""
    if how == "no-paper":
        del entry["paper"]
    elif how == "null-title":
        entry["paper"]["title"] = None
        entry.pop("title", None)
    elif how == "dotdot-id":
        entry["paper"]["id"] = "../../../etc/passwd"
    elif how == "slash-id":
        entry["paper"]["id"] = "2408.12637/../../x"


@pytest.mark.parametrize("how, shown, reason", [
    ("no-paper", "entry-3", "entry 3: no 'paper' object"),
    ("null-title", "{id}", "entry 3 ({id}): no title"),
    ("dotdot-id", "../../../etc/passwd",
     "entry 3: paper.id missing or not an arXiv id ('../../../etc/passwd')"),
    ("slash-id", "2408.12637/../../x",
     "entry 3: paper.id missing or not an arXiv id ('2408.12637/../../x')"),
])
def test_hf_unreadable_entry_is_a_named_failure_and_a_rerun_recovers(cli, fake_hf, tmp_path,
                                                                    how, shown, reason):
    """HF entry without `paper`, with a null title, or an id with `../` or `/`: that
    paper fails by name (exit 3), the other ten are stored and summarized; healed, 11."""
    raw = load_day(DAY)
    good_id = raw[2]["paper"]["id"]
    broken(raw[2], how)
    fake_hf.days = {DAY: raw}
    code, out, err = cli("digest", DAY)
    assert code == 3
    assert f"{DAY}: {PAPERS} fetched, {PAPERS - 1} summarized, 1 failed" in err
    assert f"  failed {shown.format(id=good_id)} (fetch): HF entry unreadable: " \
           f"{reason.format(id=good_id)}" in err
    assert counts(tmp_path) == {"papers": PAPERS - 1, "daily_entries": PAPERS - 1,
                                "summaries": PAPERS - 1, "runs": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no file from the id
    fake_hf.days = {DAY: load_day(DAY)}
    complete(cli)
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 2}


def test_hf_list_of_nothing_readable_names_every_entry(cli, fake_hf, tmp_path):
    """HF JSON of the wrong shape inside the list (no entry has a `paper`): exit 5, and the
    error names each unreadable entry (it said "see the failures above" and showed none)."""
    fake_hf.fail = lambda req: Reply(200, '["2408.12637", {"paper": null}]'
                                     if req.query["p"] == "0" else "[]")
    code, out, err = cli("digest", DAY, "-q")
    assert (code, out) == (5, "")
    assert err == (f"papergist: error: no paper of {DAY} could be read; nothing written:\n"
                   "  failed entry-1 (fetch): HF entry unreadable: entry 1: no 'paper' object\n"
                   "  failed entry-2 (fetch): HF entry unreadable: entry 2: no 'paper' object\n")
    assert runs(tmp_path) == [(DAY, 5)]
    fake_hf.fail = None
    complete(cli)


def test_hf_entry_without_authors_is_kept_without_authors(cli, fake_hf, tmp_path):
    """HF entry with no `authors` (or null): a paper with no author line, not a failure."""
    raw = load_day(DAY)
    del raw[0]["paper"]["authors"]
    raw[1]["paper"]["authors"] = None
    fake_hf.days = {DAY: raw}
    doc = json.loads(complete(cli, "-f", "json"))
    by_id = {p["id"]: p for p in doc["papers"]}
    assert len(by_id) == PAPERS
    assert by_id[raw[0]["paper"]["id"]]["authors"] == []
    assert by_id[raw[1]["paper"]["id"]]["authors"] == []
    assert counts(tmp_path)["summaries"] == PAPERS


def test_hf_duplicate_ids_in_a_day_are_one_paper(cli, fake_hf, tmp_path):
    """HF lists one paper three times in a day: one entry, at its first place; exit 0."""
    raw = load_day(DAY)
    raw = raw[:5] + [raw[0], raw[4]] + raw[5:] + [raw[0]]
    fake_hf.days = {DAY: raw}
    doc = json.loads(complete(cli, "-f", "json"))
    ids = [p["id"] for p in doc["papers"]]
    assert len(ids) == len(set(ids)) == PAPERS
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 1}


# --- arXiv full text ---------------------------------------------------------------------
# One paper whose HF entry has no abstract: a full text that cannot be had is then a
# named failure (its notes say why), and the healed full text makes it whole.

ID = "2408.12637"


@pytest.fixture
def html_page() -> bytes:
    """The real LaTeXML page (shared: skipped without ../shared/fixtures)."""
    return shared_bytes(HTML_2508)


@pytest.fixture
def attention_pdf() -> bytes:
    """A real arXiv PDF (shared: skipped without ../shared/fixtures)."""
    return shared_bytes(PDF_ATTENTION)

PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def encrypted_pdf(user: bytes = b"secret", owner: bytes = b"owner") -> bytes:
    """A one-page PDF locked with a user password (standard handler, RC4 40-bit, R2):
    pypdfium2 cannot save encrypted files, and qpdf is not installed."""
    def pad(pw: bytes) -> bytes:
        return (pw + PAD)[:32]
    o = rc4(hashlib.md5(pad(owner)).digest()[:5], pad(user))
    p, doc_id = -44, b"0123456789abcdef"
    u = rc4(hashlib.md5(pad(user) + o + struct.pack("<i", p) + doc_id).digest()[:5], PAD)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
            % (o.hex().encode(), u.hex().encode(), p)]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (len(objs) + 1, doc_id.hex().encode(),
                                           doc_id.hex().encode(), xref))
    return bytes(out)


def test_the_encrypted_pdf_is_really_encrypted():
    """The helper's PDF opens with its password only (so the case below is real)."""
    assert len(pdfium.PdfDocument(encrypted_pdf(), password="secret")) == 1
    with pytest.raises(pdfium.PdfiumError, match="Incorrect password"):
        pdfium.PdfDocument(encrypted_pdf())


@pytest.fixture
def lone(fake_hf, llm):
    """A day of one paper (2408.12637) without an abstract, summarized by the fake model."""
    raw = load_day(DAY)[:1]
    raw[0]["paper"]["summary"] = ""
    fake_hf.days = {DAY: raw}
    return raw[0]["paper"]


def model_digest(cli, *args: str) -> tuple[int, dict, str]:
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json", *args)
    return code, json.loads(out) if out else {}, err


def no_source(*notes: str) -> str:
    return f"  failed {ID} (source): no source: neither full text nor abstract " \
           f"({'; '.join(notes)}; abstract: empty)"


def healed(cli, tmp_path, origin: str) -> None:
    """The re-run after healing: exit 0, the paper summarized from `origin`."""
    code, doc, err = model_digest(cli)
    assert code == 0, err
    assert [(p["id"], p["source"]) for p in doc["papers"]] == [(ID, "fulltext")]
    assert counts(tmp_path) == {"papers": 1, "daily_entries": 1, "summaries": 1, "runs": 2}
    assert len(list((tmp_path / "home").rglob(f"{ID}.{origin}"))) == 1  # cached


def failed_once(tmp_path) -> None:
    """After the failing run: the paper and its day stored, no summary, exit 3 recorded."""
    assert counts(tmp_path) == {"papers": 1, "daily_entries": 1, "summaries": 0, "runs": 1}
    assert runs(tmp_path) == [(DAY, 3)]


@pytest.mark.parametrize("body, note", [
    (b"", f"pdf: arXiv full text: empty PDF for {ID}"),
    (HTML_200.encode(), f"pdf: arXiv full text: not a PDF for {ID} (it starts with "
                        "'<!DOCTYPE html><html><head><title>Huggin')"),
    (encrypted_pdf(), f"pdf: arXiv full text: the PDF of {ID} is encrypted"),
], ids=["zero-byte", "not-a-pdf", "encrypted"])
def test_arxiv_html_404_and_an_unreadable_pdf_then_the_pdf_heals(cli, arxiv, lone, tmp_path,
                                                                body, note, attention_pdf):
    """arXiv HTML 404, then a zero-byte / non-PDF / encrypted PDF: named failure, exit 3;
    a good PDF later: the re-run summarizes it (the HTML 404 is remembered)."""
    arxiv.routes[f"/pdf/{ID}"] = lambda req: Reply(200, body, {"Content-Type": "application/pdf"})
    code, doc, err = model_digest(cli)
    assert code == 3
    assert no_source("html: HTTP 404", note) in err
    assert doc["papers"][0]["source"] == "none"
    failed_once(tmp_path)
    arxiv.routes[f"/pdf/{ID}"] = lambda req: Reply(200, attention_pdf)
    healed(cli, tmp_path, "pdf")
    assert len(arxiv.hits(f"/html/{ID}")) == 1  # not asked again


def test_arxiv_html_404_then_pdf_404_is_named_and_remembered(cli, arxiv, lone, tmp_path):
    """arXiv HTML 404 then PDF 404: named failure, exit 3, and both 404s are remembered, so
    a re-run asks arXiv nothing."""
    code, doc, err = model_digest(cli)
    assert code == 3 and no_source("html: HTTP 404", "pdf: HTTP 404") in err
    assert doc["papers"][0]["source_notes"] == ["html: HTTP 404", "pdf: HTTP 404", "abstract: empty"]
    failed_once(tmp_path)
    asked = len(arxiv.requests)
    code, doc, err = model_digest(cli)
    assert code == 3 and len(arxiv.requests) == asked
    assert no_source("html: HTTP 404 (remembered from an earlier run)",
                     "pdf: HTTP 404 (remembered from an earlier run)") in err


def test_arxiv_429_with_retry_after_is_waited_for(cli, arxiv, lone, tmp_path, html_page):
    """arXiv HTML 429 with Retry-After: 1, then the page: waited for, summarized."""
    replies = [Reply(200, html_page), Reply(429, "slow down", {"Retry-After": "1"})]
    arxiv.routes[f"/html/{ID}"] = lambda req: replies.pop()
    code, doc, err = model_digest(cli)
    assert code == 0, err
    first, second = arxiv.hits(f"/html/{ID}")
    assert second.time - first.time >= 1.0
    assert doc["papers"][0]["source"] == "fulltext"


def test_arxiv_429_that_persists_then_heals(cli, arxiv, lone, tmp_path, html_page):
    """arXiv answering 429 to every try: named failure after the retries, exit 3; healed,
    the re-run summarizes the HTML."""
    for kind in ("html", "pdf"):
        arxiv.routes[f"/{kind}/{ID}"] = lambda req: Reply(429, "slow down", {"Retry-After": "0"})
    code, doc, err = model_digest(cli)
    assert code == 3
    assert no_source(*(f"{kind}: arXiv full text is unavailable after 3 attempts (HTTP 429: "
                       "slow down); try again later" for kind in ("html", "pdf"))) in err
    failed_once(tmp_path)
    arxiv.routes[f"/html/{ID}"] = lambda req: Reply(200, html_page)
    healed(cli, tmp_path, "html")


MB = 2**20


@pytest.mark.parametrize("length", [True, False], ids=["announced", "unannounced"])
@pytest.mark.parametrize("kind, size", [("html", 20 * MB), ("pdf", 50 * MB)])
def test_arxiv_huge_bodies_are_capped(cli, arxiv, lone, tmp_path, kind, size, length, html_page,
                                      attention_pdf):
    """A 20 MB HTML page / a 50 MB PDF, with and without Content-Length: given up at the
    cap (8 MB / 30 MB) without holding the body; named failure; healed, summarized."""
    start = {"html": b"<html><body>", "pdf": b"%PDF-1.4\n"}[kind]
    body = start + b"\0" * (size - len(start))
    arxiv.routes[f"/{kind}/{ID}"] = lambda req: Reply(200, body, length=length)
    tracemalloc.start()
    try:
        code, doc, err = model_digest(cli)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 3
    notes = {"html": ("html: larger than 8 MB", "pdf: HTTP 404"),
             "pdf": ("html: HTTP 404", "pdf: larger than 30 MB")}[kind]
    assert no_source(*notes) in err
    assert peak < {"html": 8, "pdf": 30}[kind] * MB + 4 * MB
    assert len(arxiv.hits(f"/{kind}/{ID}")) == 1  # too large is not retried
    failed_once(tmp_path)
    arxiv.routes[f"/{kind}/{ID}"] = lambda req: Reply(200, {"html": html_page, "pdf": attention_pdf}[kind])
    healed(cli, tmp_path, kind)


# --- the model API ------------------------------------------------------------------------

TARGET = "2408.12637"  # its abstract starts "Building and better understanding"


def fifty() -> list[dict]:
    """50 real entries from two recorded days of different API generations."""
    return (load_day("2025-10-15") + load_day("2024-10-25"))[:50]


def test_llm_401_is_one_clear_error_and_stops_the_run(cli, llm, fake_hf, tmp_path,
                                                      monkeypatch):
    """Model API 401 on a day of 50 papers: one error line (not 50), exit 2, the run
    stops; the day is stored; with the right key the re-run is whole."""
    fake_hf.days = {DAY: fifty()}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-for-the-test")
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "--concurrency", "4",
                         "--max-concurrency", "4")
    assert (code, out) == (2, "")
    assert err.count("refused the key") == 1 and err.count("papergist: error:") == 1
    assert f"papergist: error: the model API at {llm.base_url} refused the key (HTTP 401: " \
           "Incorrect API key provided: sk-w****.); check the API key" in err
    assert "failed " not in err and "Traceback" not in err
    assert len(llm.calls) <= 4  # the requests already in flight, none after
    assert counts(tmp_path) == {"papers": 50, "daily_entries": 50, "summaries": 0, "runs": 1}
    assert runs(tmp_path) == [(DAY, 2)]
    monkeypatch.setenv("OPENAI_API_KEY", llm.api_key)
    complete(cli, "--model", "fake-gpt")
    assert counts(tmp_path) == {"papers": 50, "daily_entries": 50, "summaries": 50, "runs": 2}


def test_llm_400_on_response_format_falls_back_and_the_rerun_sends_nothing(cli, llm,
                                                                           tmp_path):
    """Model API 400 on `response_format` json_schema: JSON mode for the rest of the run,
    whole; the re-run comes from the store."""
    llm.supports_json_schema = False
    complete(cli, "--model", "fake-gpt")
    assert llm.statuses().count(200) == PAPERS  # the 400s: the requests sent at first
    assert [c.request["response_format"]["type"] for c in llm.calls if c.status == 200] == \
        ["json_object"] * PAPERS
    assert counts(tmp_path)["summaries"] == PAPERS
    sent = len(llm.calls)
    complete(cli, "--model", "fake-gpt")
    assert len(llm.calls) == sent


def test_llm_500_storm_fails_every_paper_by_name_then_recovers(cli, llm, tmp_path,
                                                               monkeypatch):
    """Model API answering 500 to everything: each paper a named failure, exit 3, the day
    stored; when the storm passes, the re-run is whole."""
    llm.plan = lambda index, request: Fault("status", status=500, message="storm")
    start = time.monotonic()
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert time.monotonic() - start < 10
    assert code == 3
    assert f"{DAY}: {PAPERS} fetched, 0 summarized, {PAPERS} failed" in err
    assert err.count("(summarize): the model API failed 3 times: HTTP 500: storm") == PAPERS
    assert len(json.loads(out)["papers"]) == PAPERS
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS, "summaries": 0,
                                "runs": 1}
    llm.plan = None
    complete(cli, "--model", "fake-gpt")
    assert counts(tmp_path)["summaries"] == PAPERS


def runaway(messages: list[dict], fault=None) -> tuple[str, str]:
    """A 1 MB reply whatever was asked."""
    return json.dumps({"whats_new": "x " * 500_000, "technical_details": "y",
                       "performance_highlights": "z"}), "stop"


@pytest.mark.parametrize("fault, reason", [
    (Fault("truncated"), "no usable reply after 4 replies: the reply was cut off"),
    ("runaway", "no usable reply after 4 replies: the reply was 1,000,074 characters, far beyond the "
     "length asked for"),
    (Fault("timeout", seconds=5), "took longer than 1 s (paper_timeout)"),
], ids=["finish_reason-length", "1-MB-reply", "hang-past-paper_timeout"])
def test_llm_paper_fault_is_named_and_the_rerun_sends_only_that_paper(cli, llm, tmp_path,
                                                                       monkeypatch, fault,
                                                                       reason):
    """Model replies for one paper always cut off (finish_reason=length), always 1 MB, or
    hanging past paper_timeout: that paper fails by name, exit 3, the other ten stored;
    healed, the re-run asks only for it and is whole."""
    monkeypatch.setenv("PAPERGIST_PAPER_TIMEOUT", "1")
    broken = [True]
    def target(request: dict) -> bool:
        return "Building and better" in request["messages"][1]["content"]
    if fault == "runaway":
        original = llm.content
        monkeypatch.setattr(llm, "content", lambda messages, fault=None: runaway(messages) if
                            broken and target({"messages": messages}) else
                            original(messages, fault))
        llm.honours_max_tokens = False
    else:
        llm.plan = lambda index, request: fault if broken and target(request) else None
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 3
    assert f"{DAY}: {PAPERS} fetched, {PAPERS - 1} summarized" in err
    assert f"  failed {TARGET} (summarize): {reason}" in err
    assert len(out) < 200_000
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS - 1, "runs": 1}
    broken.clear()
    sent = len(llm.calls)
    code, out, err = cli("digest", DAY, "--model", "fake-gpt", "-f", "json")
    assert code == 0, err
    assert [target(c.request) for c in llm.calls[sent:]] == [True]
    assert counts(tmp_path)["summaries"] == PAPERS


# --- the store ----------------------------------------------------------------------------


@pytest.mark.parametrize("damage, reason", [
    (_corrupt_all_but_the_first_page, "database disk image is malformed"),
    (lambda path: path.write_bytes(b"my notes, not a database\n" * 200),
     "file is not a database"),
], ids=["damaged-pages", "not-a-database"])
def test_store_corrupted_is_refused_untouched_and_a_fresh_one_works(cli, tmp_path, damage,
                                                                    reason):
    """A corrupted SQLite file: exit 6 and one line saying what to do, the file left as it
    is; moved aside as told, the re-run is whole."""
    complete(cli)
    db = tmp_path / "home" / "papergist.db"
    damage(db)
    before = db.read_bytes()
    code, out, err = cli("digest", DAY)
    assert (code, out) == (6, "")
    assert err == (f"papergist: error: cannot open the store at {db}: {reason}; the file is "
                   "damaged or not a papergist store: move it aside (it is left as is) or set "
                   "PAPERGIST_HOME to another directory\n")
    assert db.read_bytes() == before
    db.rename(db.with_name("damaged.db"))
    complete(cli)
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 1}


def test_store_from_a_newer_schema_is_refused_and_never_overwritten(cli, tmp_path):
    """A store a newer papergist migrated: exit 6, one clear line, the file byte for byte
    as it was (no -wal or -shm left behind); the older schema again, the data is all there."""
    complete(cli)
    db = tmp_path / "home" / "papergist.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("insert into schema_migrations values ('0099_from_the_future', '2099-01-01')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    files = sorted(p.name for p in db.parent.iterdir())
    before, mtime = db.read_bytes(), db.stat().st_mtime_ns
    code, out, err = cli("digest", DAY)
    assert (code, out) == (6, "")
    assert err.startswith(f"papergist: error: the store at {db} was written by a newer "
                          "papergist (schema 0099_from_the_future; this papergist knows up to ")
    assert err.endswith("): upgrade papergist, or use another PAPERGIST_HOME\n")
    assert (db.read_bytes(), db.stat().st_mtime_ns) == (before, mtime)
    assert sorted(p.name for p in db.parent.iterdir()) == files
    with sqlite3.connect(db) as conn:
        conn.execute("delete from schema_migrations where name = '0099_from_the_future'")
    conn.close()
    complete(cli)
    assert counts(tmp_path) == {"papers": PAPERS, "daily_entries": PAPERS,
                                "summaries": PAPERS, "runs": 2}


AS_NOBODY = """
import os, sys
from datetime import date
import encodings.idna  # the standard library is root's: import what is loaded lazily
import sqlalchemy as sa
import papergist.cli
sa.create_engine("sqlite://").dispose()
if os.geteuid() == 0:  # root ignores permissions: drop to nobody, after every import
    os.setgid(65534)
    os.setuid(65534)
papergist.cli.clock = lambda: date(2026, 11, 24)
papergist.cli.main(sys.argv[1:])
"""


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing"])
def test_store_in_a_read_only_home_is_a_clear_error_then_works(fake_hf, existing):
    """A read-only PAPERGIST_HOME (a real process, as an unprivileged user): exit 6, one
    line naming the store and the fix, nothing written; made writable, the run is whole."""
    with tempfile.TemporaryDirectory() as base:
        os.chmod(base, 0o755)
        home = Path(base) / "home"
        home.mkdir()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PAPERGIST_",
                                                                           "OPENAI_"))},
               **local_env(home, fake_hf.url),
               "PYTHONPATH": str(Path(papergist.__file__).parents[1])}
        args = [sys.executable, "-c", AS_NOBODY, "digest", DAY, "-q"]
        if existing:
            home.chmod(0o777)
            first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
            assert first.returncode == 0, first.stderr
        before = {p.name: p.read_bytes() for p in home.iterdir()}
        home.chmod(0o555)
        child = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        reason = "attempt to write a readonly database" if existing else \
            "unable to open database file"
        assert (child.returncode, child.stdout) == (6, "")
        assert child.stderr == (f"papergist: error: cannot open the store at "
                                f"{home / 'papergist.db'}: {reason}; set PAPERGIST_HOME to a "
                                "writable directory\n")
        assert {p.name: p.read_bytes() for p in home.iterdir()} == before
        home.chmod(0o777)
        healed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert healed.returncode == 0, healed.stderr
        assert healed.stdout.startswith(f"## Daily Papers ({DAY})")
        with sqlite3.connect(home / "papergist.db") as conn:
            assert conn.execute("select count(*) from summaries").fetchone()[0] == PAPERS
            assert conn.execute("select exit_status from runs order by id").fetchall() == \
                [(0,)] * (2 if existing else 1)
        conn.close()


def test_arxiv_hang_past_paper_timeout_ends_the_paper_on_time(cli, arxiv, llm, fake_hf,
                                                              monkeypatch):
    """arXiv HTML hanging past paper_timeout (and under http_timeout): the paper fails at
    paper_timeout, and the run does not wait for the download."""
    monkeypatch.setenv("PAPERGIST_PAPER_TIMEOUT", "0.5")
    monkeypatch.setenv("PAPERGIST_HTTP_TIMEOUT", "5")
    fake_hf.days = {DAY: load_day(DAY)[:2]}
    arxiv.routes[f"/html/{ID}"] = lambda req: Reply(200, html_page, delay=3)
    start = time.monotonic()
    code, doc, err = model_digest(cli)
    assert code == 3 and f"  failed {ID} (summarize): took longer than 0.5 s (paper_timeout)" in err
    assert time.monotonic() - start < 2
