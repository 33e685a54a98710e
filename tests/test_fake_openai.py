"""The fake OpenAI server, driven over real HTTP with plain httpx2."""

from __future__ import annotations

import json
import math
import re
import threading
import time

import httpx2
import pytest

from fake_openai import (
    FAULT_KINDS,
    WRAPPERS,
    FakeOpenAI,
    Fault,
    every,
    in_order,
    one_in,
    split_sentences,
)
from fakes import FakeServer, Reply, load_day
from papergist.summarize.language import check_language, strip_glosses

# A real paper (2408.07888, the first of ko_summaries.json) as the HF feed gives it.
ROW = next(e["paper"] for e in load_day("2024-08-19") if e["paper"]["id"] == "2408.07888")
TITLE, ABSTRACT = " ".join(ROW["title"].split()), ROW["summary"]
SENTENCES = split_sentences(ABSTRACT)
KEYS = ("whats_new", "technical_details", "performance_highlights")


def messages(language: str = "Korean (ko)", title: str = TITLE,
             abstract: str = ABSTRACT, quotes: bool = False) -> list[dict]:
    """A prompt in papergist's contract (asking for a quote with each sentence, or not)."""
    system = (f"You summarize one research paper.\n\nOutput language: {language}\n\n"
              "Reply with only a JSON object with the keys whats_new, technical_details and "
              "performance_highlights" + (', each a list of {"sentence", "quote"} objects.'
                                           if quotes else "."))
    user = (f"<paper>\n<title>{title}</title>\n<abstract>{abstract}</abstract>\n</paper>\n\n"
            "Summarize the paper above.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# One client for the whole module: making a client per request costs more than a reply.
HTTP = httpx2.Client(timeout=5, limits=httpx2.Limits(max_connections=200))


def chat(fake: FakeOpenAI, language: str = "Korean (ko)", timeout: float = 5,
         headers: dict | None = None, quotes: bool = False, **extra) -> httpx2.Response:
    body = {"model": fake.model, "messages": messages(language, quotes=quotes), **extra}
    return HTTP.post(f"{fake.base_url}/chat/completions", json=body, headers=headers,
                     timeout=timeout)


def content(response: httpx2.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def quoted(section: str, code: str = "ko") -> list[str]:
    """The English sentences a section wraps in the fake's templates for `code`."""
    for template in WRAPPERS[code]:
        prefix = template.split("{}")[0]
        if section.startswith(prefix):
            parts = [p.strip() for p in section.split(prefix)[1:]]
            assert all(p.endswith(template.split("{}")[1]) for p in parts), section
            return [p[:len(p) - len(template.split("{}")[1])] for p in parts]
    raise AssertionError(f"not one of the fake's templates: {section!r}")


@pytest.fixture(scope="module", autouse=True)
def _close_client():
    yield
    HTTP.close()


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


# -- the default reply ------------------------------------------------------------------

def test_default_reply_has_the_shape_and_usage_of_the_real_api(fake):
    body = {"model": "fake-gpt", "messages": messages(),
            "response_format": {"type": "json_object"}}
    r = HTTP.post(f"{fake.base_url}/chat/completions", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    reply = r.json()
    assert set(reply) >= {"id", "object", "created", "model", "choices", "usage"}
    assert reply["object"] == "chat.completion" and reply["model"] == "fake-gpt"
    [choice] = reply["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    text = choice["message"]["content"]
    prompt_chars = sum(len(m["content"]) for m in messages())
    assert reply["usage"] == {"prompt_tokens": math.ceil(prompt_chars / 4),
                              "completion_tokens": math.ceil(len(text) / 4),
                              "total_tokens": math.ceil(prompt_chars / 4) + math.ceil(len(text) / 4)}
    sections = json.loads(text)
    assert list(sections) == list(KEYS)
    for section in sections.values():
        assert check_language(section, "ko") is True
        assert quoted(section) and all(s in SENTENCES for s in quoted(section))
    [call] = fake.calls
    assert call.request == body and call.status == 200 and call.content == text
    assert call.received <= call.answered and fake.statuses() == [200]


@pytest.mark.parametrize("language, code", [
    ("Japanese (ja)", "ja"), ("Chinese (zh)", "zh"), ("Traditional Chinese (zh-TW)", "zh-TW"),
    ("French (fr)", "fr"), ("German (de)", "de"), ("Spanish (es)", "es"), ("Russian (ru)", "ru"),
])
def test_default_reply_is_in_the_language_asked_for(fake, language, code):
    sections = json.loads(content(chat(fake, language)))
    for section in sections.values():
        assert check_language(section, code) is True
        assert check_language(section, "en") is False


def test_english_reply_is_whole_sentences_of_the_abstract(fake):
    sections = json.loads(content(chat(fake, "English (en)")))
    for section in sections.values():
        assert check_language(section, "en") is True
        assert section in SENTENCES or any(
            section.startswith(s + " ") and section[len(s) + 1:] in SENTENCES for s in SENTENCES)
    assert len(set(sections.values())) == 3


def test_without_a_language_line_or_json_request_the_reply_is_english_json(fake):
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": f"<paper><title>T</title><abstract>{ABSTRACT}</abstract></paper>"}]}]}
    r = HTTP.post(f"{fake.base_url}/chat/completions", json=body)
    sections = json.loads(content(r))
    assert all(check_language(s, "en") for s in sections.values())


def test_models_lists_the_model(fake):
    r = HTTP.get(f"{fake.base_url}/models")
    assert r.status_code == 200 and [m["id"] for m in r.json()["data"]] == ["fake-gpt"]


def test_max_tokens_cuts_the_reply(fake):
    r = chat(fake, max_tokens=10).json()
    assert r["choices"][0]["finish_reason"] == "length"
    assert len(r["choices"][0]["message"]["content"]) == 40
    assert r["usage"]["completion_tokens"] == 10


# -- request errors ---------------------------------------------------------------------

SCHEMA = {"type": "json_schema", "json_schema": {"name": "summary", "strict": True, "schema": {
    "type": "object", "properties": {k: {"type": "string"} for k in KEYS},
    "required": list(KEYS), "additionalProperties": False}}}


def test_json_schema_can_be_unsupported(fake):
    assert chat(fake, response_format=SCHEMA).status_code == 200
    fake.supports_json_schema = False
    r = chat(fake, response_format=SCHEMA)
    assert r.status_code == 400
    error = r.json()["error"]
    assert "response_format" in error["message"] and error["type"] == "invalid_request_error"
    assert chat(fake, response_format={"type": "json_object"}).status_code == 200
    assert fake.statuses() == [200, 400, 200]


def test_malformed_requests_get_400(fake):
    url = f"{fake.base_url}/chat/completions"
    assert HTTP.post(url, content=b"{not json").status_code == 400
    assert HTTP.post(url, json={"model": "m", "messages": []}).status_code == 400
    assert HTTP.post(url, json={"messages": messages()}).status_code == 400
    assert HTTP.get(url).status_code == 405


def test_api_key_is_required_when_set():
    with FakeOpenAI(api_key="sk-test") as fake:
        missing = chat(fake)
        assert missing.status_code == 401 and "API key" in missing.json()["error"]["message"]
        wrong = chat(fake, headers={"Authorization": "Bearer sk-nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        assert chat(fake, headers={"Authorization": "Bearer sk-test"}).status_code == 200
        assert HTTP.get(f"{fake.base_url}/models").status_code == 401


def test_rpm_limit_answers_429_with_retry_after():
    with FakeOpenAI(rpm=2) as fake:
        assert [chat(fake).status_code for _ in range(2)] == [200, 200]
        r = chat(fake)
        assert r.status_code == 429
        assert 58 <= int(r.headers["Retry-After"]) <= 60
        assert 57_000 < int(r.headers["retry-after-ms"]) <= 60_000
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
        assert r.json()["error"]["type"] == "requests"
        assert fake.statuses() == [200, 200, 429]


def test_tpm_limit_counts_prompt_and_completion_tokens():
    prompt_tokens = math.ceil(sum(len(m["content"]) for m in messages()) / 4)
    with FakeOpenAI(tpm=prompt_tokens * 2) as fake:
        assert chat(fake).status_code == 200  # prompt + completion tokens now used
        r = chat(fake)
        assert r.status_code == 429 and r.json()["error"]["type"] == "tokens"
        assert int(r.headers["Retry-After"]) >= 58
    with FakeOpenAI(tpm=10) as fake:
        assert "too large" in chat(fake).json()["error"]["message"]


# -- faults -----------------------------------------------------------------------------

def faulty(fake: FakeOpenAI, fault: Fault, **kwargs) -> httpx2.Response:
    fake.plan = lambda index, request: fault
    return chat(fake, **kwargs)


def test_every_fault_kind_is_tested():
    tested = {"status", "timeout", "invalid_json", "fenced_json", "empty", "truncated",
              "missing_section", "list_section", "wrong_language", "other_paper", "latency",
              "invented_quote", "plain_sections"}
    assert tested == set(FAULT_KINDS)
    with pytest.raises(ValueError):
        Fault("nonsense")  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_status_fault(fake, status):
    fake.latency = 5  # a status fault is answered at once
    started = time.monotonic()
    r = faulty(fake, Fault("status", status=status, retry_after=0.5 if status == 429 else None))
    assert time.monotonic() - started < 2
    assert r.status_code == status and set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert r.headers.get("Retry-After") == ("0.5" if status == 429 else None)


def test_timeout_fault(fake):
    started = time.monotonic()
    with pytest.raises(httpx2.TimeoutException):
        faulty(fake, Fault("timeout", seconds=3), timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_latency_fault(fake):
    started = time.monotonic()
    assert faulty(fake, Fault("latency", seconds=0.3)).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_invalid_json_fault(fake):
    text = content(faulty(fake, Fault("invalid_json")))
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert text and "{" not in text


def test_fenced_json_fault(fake):
    text = content(faulty(fake, Fault("fenced_json")))
    assert text.startswith("```json\n") and text.endswith("\n```")
    assert list(json.loads(text[8:-4])) == list(KEYS)


def test_empty_fault(fake):
    r = faulty(fake, Fault("empty")).json()
    assert r["choices"][0]["message"]["content"] == "" and r["usage"]["completion_tokens"] == 0


def test_truncated_fault(fake):
    r = faulty(fake, Fault("truncated")).json()
    assert r["choices"][0]["finish_reason"] == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r["choices"][0]["message"]["content"])


def test_missing_section_fault(fake):
    sections = json.loads(content(faulty(fake, Fault("missing_section", section="whats_new"))))
    assert list(sections) == ["technical_details", "performance_highlights"]


def test_list_section_fault(fake):
    sections = json.loads(content(faulty(fake, Fault("list_section"))))
    listed = sections["technical_details"]
    assert isinstance(listed, list) and listed and all(isinstance(s, str) for s in listed)
    assert isinstance(sections["whats_new"], str)


def test_wrong_language_fault(fake):
    sections = json.loads(content(faulty(fake, Fault("wrong_language"))))
    assert all(check_language(s, "ko") is False and check_language(s, "en") for s in
               sections.values())


def test_other_paper_fault(fake):
    sections = json.loads(content(faulty(fake, Fault("other_paper"))))
    paper_numbers = set(re.findall(r"\d+(?:\.\d+)?", ABSTRACT))
    for section in sections.values():
        assert check_language(section, "ko") is True  # the language is right, the paper not
        assert all(s not in SENTENCES for s in quoted(section))
        assert not set(re.findall(r"\d+(?:\.\d+)?", strip_glosses(section))) & paper_numbers
    numbers = set(re.findall(r"\d+(?:\.\d+)?", json.dumps(sections)))
    assert numbers and not numbers & paper_numbers


def test_asked_for_quotes_each_sentence_quotes_the_abstract_sentence_it_wraps(fake):
    sections = json.loads(content(chat(fake, quotes=True)))
    for items in sections.values():
        assert items and all(set(item) == {"sentence", "quote"} for item in items)
        for item in items:
            assert item["quote"] in SENTENCES and item["quote"] in item["sentence"]


def test_invented_quote_fault(fake):
    sections = json.loads(content(faulty(fake, Fault("invented_quote"), quotes=True)))
    assert all(item["quote"] not in ABSTRACT for item in sections["technical_details"])
    assert all(item["quote"] in SENTENCES for item in sections["whats_new"])


def test_plain_sections_fault_ignores_the_quotes_asked_for(fake):
    sections = json.loads(content(faulty(fake, Fault("plain_sections"), quotes=True)))
    assert all(isinstance(text, str) for text in sections.values())


# -- plans ------------------------------------------------------------------------------

def test_every_nth_request(fake):
    fake.plan = every(3, Fault("status", status=500))
    assert [chat(fake).status_code for _ in range(6)] == [200, 200, 500, 200, 200, 500]
    assert fake.statuses() == [200, 200, 500, 200, 200, 500]
    assert [c.fault is not None for c in fake.calls] == [False, False, True] * 2


def test_one_in_is_deterministic():
    fault = Fault("empty")
    a, b, c = one_in(4, fault, seed=1), one_in(4, fault, seed=1), one_in(4, fault, seed=2)
    picks = [a(i, {}) is fault for i in range(400)]
    assert picks == [b(i, {}) is fault for i in reversed(range(400))][::-1]
    assert picks != [c(i, {}) is fault for i in range(400)]
    assert 60 < sum(picks) < 140


def test_in_order(fake):
    fake.plan = in_order(Fault("status", status=429, retry_after=0), None, Fault("empty"))
    assert [chat(fake).status_code for _ in range(4)] == [429, 200, 200, 200]
    assert [c.content for c in fake.calls][2] == ""


# -- concurrency ------------------------------------------------------------------------

@pytest.mark.parametrize("clients", [20, 60])
def test_concurrent_requests_are_not_serialised(clients):
    with FakeOpenAI(latency=0.5) as fake:
        statuses: list[int] = []
        lock = threading.Lock()

        def one() -> None:
            code = chat(fake, timeout=10).status_code
            with lock:
                statuses.append(code)

        threads = [threading.Thread(target=one) for _ in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    assert statuses == [200] * clients
    assert elapsed < 2.5, elapsed  # serialised it would take clients * 0.5 s
    assert fake.max_in_flight >= clients * 3 // 4
    assert all(c.answered - c.received >= 0.5 for c in fake.calls)


# -- the FakeServer underneath ----------------------------------------------------------

def test_fake_server_records_posts_and_keeps_get_routes():
    with FakeServer() as server:
        server.routes["/get"] = lambda req: Reply(200, req.method)
        server.routes["POST /echo"] = lambda req: Reply(201, req.body)
        assert HTTP.get(f"{server.url}/get?a=1").text == "GET"
        assert HTTP.post(f"{server.url}/get").text == "POST"
        r = HTTP.post(f"{server.url}/echo?x=2", content=b"hello", headers={"X-Test": "y"})
        assert (r.status_code, r.content) == (201, b"hello")
        chunked = HTTP.post(f"{server.url}/echo", content=iter([b"ab", b"cd"]))
        assert chunked.content == b"abcd"
        assert HTTP.get(f"{server.url}/echo").status_code == 405
        assert HTTP.get(f"{server.url}/nowhere").status_code == 404
        echo = server.hits("/echo")
        assert [(r.method, r.query) for r in echo[:1]] == [("POST", {"x": "2"})]
        assert echo[0].body == b"hello" and echo[0].header("x-test") == "y"
        assert server.hits("/get")[0].body == b""
