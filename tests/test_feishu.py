"""Feishu (Lark) custom bots, a channel the field's users ask for: rich-text posts under
Feishu's 20 KB limit, signed when the bot checks signatures, each sent exactly once.

The fake bot answers as Feishu documents its custom bots: HTTP 200 with a JSON code
(0 taken; 9499 a bad request, such as a body over 20 KB; 19021 a signature that does
not match or a timestamp over an hour away; 11232 more than `per_second` messages).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import date

import pytest

from fakes import FakeServer, Reply, load_day
from papergist.deliver.targets import feishu_signature
from papergist.models import Digest, DigestItem, Paper, Sections, Summary
from papergist.render.feishu import FEISHU_MAX_BYTES, feishu_payloads
from papergist.sources.hf_daily import parse_day

DAY = "2024-08-26"
TOKEN = "0c2b7f3e-secret-feishu-token"
PATH = f"/open-apis/bot/v2/hook/{TOKEN}"
SECRET = "feishu-signing-secret"


class FakeFeishu(FakeServer):
    def __init__(self, secret: str | None = None, per_second: int = 5):
        super().__init__()
        self.secret, self.per_second = secret, per_second
        self.throttle = 0  # the next N messages are answered 11232, however slow they come
        self.taken: list[dict] = []
        self.sent_at: list[float] = []
        self.routes[f"POST {PATH}"] = self.answer

    def answer(self, req) -> Reply:
        if len(req.body) > FEISHU_MAX_BYTES:
            return self.code(9499, "Bad Request")
        body = json.loads(req.body)
        if self.secret is not None and not self.signed(body):
            return self.code(19021, "sign match fail or timestamp is not within one hour "
                                    "from current time")
        now = time.monotonic()
        if self.throttle or len([t for t in self.sent_at if now - t < 1.0]) >= self.per_second:
            self.throttle = max(0, self.throttle - 1)
            return self.code(11232, "frequency limited")
        if body.get("msg_type") not in ("post", "text") or "content" not in body:
            return self.code(9499, "Bad Request")
        self.sent_at.append(now)
        self.taken.append(body)
        return Reply(200, json.dumps({"code": 0, "msg": "success", "data": {}, "Extra": None,
                                      "StatusCode": 0, "StatusMessage": "success"}))

    def signed(self, body: dict) -> bool:
        stamp = body.get("timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > 3600:
            return False
        key = f"{stamp}\n{self.secret}".encode()
        return body.get("sign") == base64.b64encode(
            hmac.new(key, b"", hashlib.sha256).digest()).decode()

    @staticmethod
    def code(code: int, message: str) -> Reply:
        return Reply(200, json.dumps({"code": code, "msg": message, "data": {}}))


@pytest.fixture
def feishu(monkeypatch):
    with FakeFeishu(secret=SECRET) as bot:
        monkeypatch.setenv("PAPERGIST_FEISHU_WEBHOOK_URL", bot.url + PATH)
        monkeypatch.setenv("PAPERGIST_FEISHU_SECRET", SECRET)
        yield bot


def tags(body: dict) -> list[dict]:
    post = body["content"]["post"]
    return [tag for locale in post.values() for line in locale["content"] for tag in line]


def linked(bodies: list[dict]) -> list[str]:
    """The arXiv pages linked, in order (one per paper)."""
    return [t["href"] for b in bodies for t in tags(b)
            if t["tag"] == "a" and t["href"].startswith("https://arxiv.org/abs/")]


# --- rendering ----------------------------------------------------------------------------

def digest_of(day: str) -> Digest:
    daily, _ = parse_day(date.fromisoformat(day), load_day(day))
    return Digest(date=daily.day, items=tuple(
        DigestItem(paper=e.paper, rank=e.rank, upvotes=e.upvotes) for e in daily.entries))


def test_a_day_is_posts_under_the_limit_each_paper_once_in_order():
    digest = digest_of("2024-08-21")
    bodies = feishu_payloads(digest, archive_url="https://papers.example.org/2024/08/21/")
    assert all(len(json.dumps(b).encode()) <= FEISHU_MAX_BYTES - 300 for b in bodies)
    assert linked(bodies) == [item.paper.url for item in digest.items]
    assert bodies[-1]["content"]["post"]["zh_cn"]["content"][-1][-1]["href"] == \
        "https://papers.example.org/2024/08/21/"
    titles = [b["content"]["post"]["zh_cn"]["title"] for b in bodies]
    assert len(bodies) == 1 or titles[-1].endswith(f"({len(bodies)}/{len(bodies)})")


def test_long_korean_summaries_are_clipped_to_fit_never_split():
    text = "이 논문은 매우 긴 요약을 가진 한국어 문장입니다. " * 200
    paper = Paper(id="2408.12637", title="A paper", abstract="x", authors=("A",))
    summary = Summary(paper_id=paper.id, sections=Sections(
        whats_new=text, technical_details=text, performance_highlights=text),
        summarizer="openai", model="m", language="ko", prompt_version="v",
        source="abstract", source_hash="h")
    digest = Digest(date=date(2024, 8, 26), items=tuple(
        DigestItem(paper=paper.model_copy(update={"id": f"2408.1263{n}"}), rank=n,
                   summary=summary) for n in range(1, 4)))
    bodies = feishu_payloads(digest)
    assert all(len(json.dumps(b).encode()) <= FEISHU_MAX_BYTES - 300 for b in bodies)
    assert len(linked(bodies)) == 3 and len(bodies) >= 2


def test_hostile_text_stays_text_no_mention_no_script_link():
    paper = Paper(id="2408.12637", title='<at user_id="all">everyone</at> **bold**',
                  abstract="Hi", authors=('<at user_id="all">',),
                  project_page="javascript:alert(1)")
    digest = Digest(date=date(2024, 8, 26), items=(DigestItem(paper=paper, rank=1),))
    [body] = feishu_payloads(digest)
    found = tags(body)
    assert {t["tag"] for t in found} <= {"text", "a"}
    assert all(t["href"].startswith("https://") for t in found if t["tag"] == "a")
    assert any('<at user_id="all">everyone</at> **bold**' in t["text"] for t in found)


# --- delivering ---------------------------------------------------------------------------

def test_a_digest_is_posted_signed_and_never_twice(cli, feishu):
    assert cli("digest", DAY, "-q")[0] == 0
    code, _, err = cli("publish", DAY, "--to", "feishu")
    assert code == 0, err
    assert "feishu" in err and ": delivered" in err and TOKEN not in err
    assert feishu.taken and all(b["timestamp"] and b["sign"] for b in feishu.taken)
    assert len(linked(feishu.taken)) == 11
    sent = len(feishu.requests)
    code, _, err = cli("publish", DAY, "--to", "feishu")
    assert code == 0 and len(feishu.requests) == sent  # already delivered: nothing sent


def test_a_bad_secret_is_a_failed_delivery_naming_feishus_code(cli, feishu, monkeypatch):
    monkeypatch.setenv("PAPERGIST_FEISHU_SECRET", "not-the-secret")
    assert cli("digest", DAY, "-q")[0] == 0
    code, _, err = cli("publish", DAY, "--to", "feishu")
    assert code == 7 and "feishu: refused (code 19021" in err
    assert TOKEN not in err and "not-the-secret" not in err
    assert feishu.taken == []


def test_too_many_messages_a_second_wait_and_are_sent_once(cli, feishu):
    feishu.throttle = 2
    assert cli("digest", DAY, "-q")[0] == 0
    code, _, err = cli("-v", "publish", DAY, "--to", "feishu")
    assert code == 0, err
    assert err.count("feishu: throttled; waiting 1.00 s") == 2
    assert len(feishu.requests) == len(feishu.taken) + 2
    assert len(linked(feishu.taken)) == 11  # each paper once


def test_the_signature_is_feishus():
    """The documented algorithm: HMAC-SHA256 keyed by "timestamp\\nsecret" over nothing."""
    fields = feishu_signature("abc", 1599360473.9)
    key = b"1599360473\nabc"
    assert fields == {"timestamp": "1599360473", "sign": base64.b64encode(
        hmac.new(key, b"", hashlib.sha256).digest()).decode()}


def test_a_missing_webhook_is_said_before_anything_is_sent(cli, monkeypatch):
    monkeypatch.delenv("PAPERGIST_FEISHU_WEBHOOK_URL", raising=False)
    assert cli("digest", DAY, "-q")[0] == 0
    code, _, err = cli("publish", DAY, "--to", "feishu")
    assert code == 2 and "--to feishu needs feishu_webhook_url" in err
