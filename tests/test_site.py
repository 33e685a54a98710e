"""The static archive: built from the store, incremental, and opened in headless Chromium."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DAYS = ("2024-08-23", "2024-08-26", "2026-08-20")


@pytest.fixture
def built(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERGIST_SITE_URL", "https://papers.example.org")
    for day in DAYS:
        assert cli("digest", day, "-q")[0] == 0
    code, out, err = cli("site", "public")
    assert code == 0, err
    return tmp_path / "public"


def test_site_layout(built):
    for day in DAYS:
        y, m, d = day.split("-")
        assert (built / y / m / d / "index.html").is_file()
    assert (built / "2024/08/26/2408.12637.html").is_file()
    index = (built / "index.html").read_text()
    assert "2024/08/26/index.html" in index and 'href="feed.xml"' in index
    assert (built / "feed.xml").read_text().startswith("<?xml")


def test_rerun_rewrites_only_what_changed(cli, built):
    code, out, err = cli("site", "public")
    assert "3 days (0 rendered now), 0 files written" in err
    assert cli("digest", "2024-08-22", "-q")[0] == 0
    code, out, err = cli("site", "public")
    assert "4 days (1 rendered now)" in err
    assert (built / "2024/08/22/index.html").is_file()


def test_a_week_has_its_page_as_serve_has_it_and_is_rewritten_when_it_changes(cli, tmp_path):
    assert cli("digest", "--week", "2024-W34", "--top", "3", "-q")[0] == 0
    code, _, err = cli("site", "public")  # no day at all: the week alone is an archive
    assert code == 0 and "0 days (0 rendered now), 1 weeks, months and lists" in err
    page = tmp_path / "public" / "weekly" / "2024-W34" / "index.html"
    assert "Weekly Papers (2024-W34)" in page.read_text(encoding="utf-8")
    index = (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    assert '<a href="weekly/2024-W34/index.html">Weekly Papers 2024-W34</a>' in index
    assert "0 files written" in cli("site", "public")[2]
    assert cli("digest", "--week", "2024-W34", "--top", "4", "-q")[0] == 0
    assert "2 files written" in cli("site", "public")[2]  # the page, the index (its count)
    assert page.read_text(encoding="utf-8").count("<article") == 4


def test_no_site_url_means_no_feed(cli, tmp_path):
    assert cli("digest", "2024-08-26", "-q")[0] == 0
    code, out, err = cli("site", "public")
    assert code == 0 and "No Atom feed: set site_url" in err
    assert not (tmp_path / "public" / "feed.xml").exists()


@pytest.fixture
def served(built):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(built))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_archive_in_headless_chromium(served, chromium):
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page()
    problems: list[str] = []
    local = lambda url: url.startswith(served)  # noqa: E731
    # remote thumbnails are blocked below (no network here); anything local must load
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and (
        local(m.location.get("url", "")) and "ERR_FAILED" not in m.text) else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}")
            if local(r.url) else None)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(served)
               else route.abort())  # thumbnails are remote: never leave this machine
    page.goto(f"{served}/index.html")
    page.fill("#q", "Idefics3")
    page.wait_for_selector("#results li a")
    link = page.locator("#results li a").first
    assert "vision-language models" in link.inner_text()
    page.screenshot(path=str(ARTIFACTS / "archive-search.png"), full_page=True)
    link.click()
    page.wait_for_url("**/*2408.12637*")  # loaded before the next goto (it would interrupt)
    page.goto(f"{served}/2024/08/26/index.html")
    assert page.locator("article").count() == 11
    page.screenshot(path=str(ARTIFACTS / "day-2024-08-26.png"), full_page=True)
    assert problems == []
