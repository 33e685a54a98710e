"""A fake OpenAI-compatible chat server, over real HTTP, with faults on demand.

`FakeOpenAI` answers `POST {url}/v1/chat/completions` and `GET {url}/v1/models` in
the shapes the real API uses (replies, usage, `{"error": {...}}` bodies, statuses,
`Retry-After`). Its default reply summarizes the paper in the prompt by copying
whole sentences of the abstract (so every number and name is in the paper), in the
language the system prompt asks for (`Output language: Korean (ko)`): each copied
sentence is wrapped in a short sentence of that language. A `plan` injects faults
per request: error statuses, timeouts, broken or wrong replies.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Literal

from fakes import FakeServer, Reply, Request

SECTION_KEYS = ("whats_new", "technical_details", "performance_highlights")
FaultKind = Literal["status", "timeout", "invalid_json", "fenced_json", "empty", "truncated",
                    "missing_section", "list_section", "wrong_language", "other_paper",
                    "invented_quote", "plain_sections", "latency"]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]
WINDOW = 60.0  # seconds: the rolling window of `rpm` and `tpm`


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one request.

    - `status`: answered at once with `status` and an OpenAI error body (and a
      `Retry-After: retry_after` header when `retry_after` is set);
    - `timeout`: the reply comes only after `seconds` (default 30);
    - `latency`: `seconds` (default 1) more delay, then a normal reply;
    - `invalid_json`, `fenced_json`, `empty`, `truncated` (cut in the middle,
      finish_reason "length"): a broken content;
    - `missing_section` (`section` absent), `list_section` (`section` as a list of
      strings): a wrong shape;
    - `wrong_language` (English whatever was asked), `other_paper` (a plausible
      summary of another paper, with other names and numbers): a wrong content;
    - `invented_quote` (`section`'s sentences quote a sentence the paper lacks),
      `plain_sections` (every section as one string, no quotes, as a model that
      ignores the format asked for): citations wrong or missing.

    Asked for quotes (the system prompt names a "quote"), the fake writes each
    section as a list of {"sentence", "quote"} objects, quoting the abstract
    sentence each sentence wraps; otherwise as strings.
    """

    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    seconds: float | None = None
    section: str = "technical_details"
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {FAULT_KINDS}")
        if self.section not in SECTION_KEYS:
            raise ValueError(f"unknown section {self.section!r}")

    @property
    def delay(self) -> float:
        """Seconds this fault adds before the reply."""
        if self.kind == "timeout":
            return 30.0 if self.seconds is None else self.seconds
        if self.kind == "latency":
            return 1.0 if self.seconds is None else self.seconds
        return 0.0


Plan = Callable[[int, dict], "Fault | None"]


def every(n: int, fault: Fault) -> Plan:
    """`fault` for requests n, 2n, 3n, ... (1-based), none for the others."""
    return lambda index, request: fault if (index + 1) % n == 0 else None


def one_in(n: int, fault: Fault, seed: int = 0) -> Plan:
    """`fault` for about one request in `n`, chosen pseudo-randomly but the same for
    the same request index and seed (whatever the order requests arrive in)."""
    return lambda index, request: (
        fault if random.Random(f"{seed}:{index}").random() < 1 / n else None)


def in_order(*faults: Fault | None) -> Plan:
    """The i-th request gets `faults[i]` (None: a normal reply); later ones none."""
    return lambda index, request: faults[index] if index < len(faults) else None


# --- the reply: sentences of the abstract, in the requested language ------------------

# Per language, one wrapper per section; "{}" is where the copied English sentence goes.
WRAPPERS: dict[str, tuple[str, str, str]] = {
    "ko": ("이 논문은 다음을 제안합니다: ({})", "방법은 다음과 같이 설명됩니다: ({})",
           "주요 결과는 다음과 같습니다: ({})"),
    "ja": ("本論文は次を提案する：（{}）", "手法は次のとおりである：（{}）",
           "主な結果は次のとおりである：（{}）"),
    "zh": ("本文提出了以下内容：（{}）", "本文的方法描述如下：（{}）", "本文的主要结果如下：（{}）"),
    "zh-TW": ("本文提出了以下內容：（{}）", "本文的方法描述如下：（{}）",
              "本文的主要結果如下：（{}）"),
    "fr": ("L'article propose ce qui suit : ({})", "La méthode est décrite ainsi : ({})",
           "Les résultats sont les suivants : ({})"),
    "de": ("Die Arbeit schlägt Folgendes vor: ({})", "Die Methode wird so beschrieben: ({})",
           "Die Ergebnisse sind wie folgt: ({})"),
    "es": ("El artículo propone lo siguiente: ({})", "El método se describe así: ({})",
           "Los resultados son los siguientes: ({})"),
    "pt": ("O artigo propõe o seguinte, com as palavras dos autores: ({})",
           "O método é descrito da seguinte forma: ({})", "Os resultados são os seguintes: ({})"),
    "it": ("Il lavoro propone quanto segue: ({})", "Il metodo è descritto così: ({})",
           "I risultati sono i seguenti: ({})"),
    "nl": ("Het artikel stelt het volgende voor: ({})",
           "De methode wordt als volgt beschreven: ({})", "De resultaten zijn als volgt: ({})"),
    "ru": ("В статье предлагается следующее: ({})", "Метод описывается следующим образом: ({})",
           "Основные результаты таковы: ({})"),
}
_LANGUAGE_LINE = re.compile(r"Output language:\s*(.*?)\s*\(\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)\s*\)")
_TAG = {t: re.compile(rf"<{t}>(.*?)</{t}>", re.S) for t in ("paper", "title", "abstract", "text")}
_ESCAPED_TAG = re.compile(r"&lt;(?=\s*/?\s*(?:paper|title|abstract|text)\b)", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_PROPOSES = re.compile(r"\b(?:we|this (?:paper|work))\b.*\b(?:propose|introduce|present)", re.I)
_RESULT = re.compile(r"\d|outperform|surpass|state-of-the-art|improv|achiev", re.I)
_ASIDE = re.compile(r"https?://|github\.com|\bavailable at\b", re.I)  # links say nothing
_NUMBER_OR_NAME = re.compile(r"\d+(?:\.\d+)?|\b[A-Z][\w-]*[A-Z0-9][\w-]*\b")

# Invented papers for `other_paper` (the one sharing the fewest names and numbers
# with the paper asked about is used).
OTHER_PAPERS = (
    "We introduce Helios-7B, a sparse retrieval transformer for long-horizon weather "
    "forecasting. Helios-7B routes each query through 48 expert blocks trained on 3.2 million "
    "hours of ERA5 reanalysis data. On the WeatherBench-X benchmark, Helios-7B reduces 10-day "
    "RMSE by 17.4% over Pangu-Weather while running 5.6 times faster.",
    "We present Corvid-Dock, a diffusion model for protein-ligand docking. Corvid-Dock denoises "
    "ligand poses with an equivariant graph network of 23 layers trained on 640 thousand PDBbind "
    "complexes. On the PoseBusters-V3 set, Corvid-Dock places 81.9% of ligands within 2.5 angstrom "
    "RMSD, 12.3 points above DiffDock-L.",
)


def language_of(messages: list[dict]) -> tuple[str, str]:
    """(name, code) from the `Output language: Name (code)` line; English when absent."""
    for message in messages:
        if message.get("role") in ("system", "developer"):
            match = _LANGUAGE_LINE.search(message_text(message))
            if match:
                return match.group(1), match.group(2)
    return "English", "en"


def message_text(message: dict) -> str:
    """A message's content as text (content parts joined)."""
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def asks_for_quotes(messages: list[dict]) -> bool:
    """True when the system prompt asks for a quote with each sentence."""
    return any(m.get("role") == "system" and '"quote"' in message_text(m) for m in messages)


def paper_of(messages: list[dict]) -> tuple[str, str, str]:
    """(title, abstract, text) of the first user message holding a <paper>; else the
    whole last user message stands as the abstract."""
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    for content in users:
        paper = _TAG["paper"].search(content)
        if paper:
            parts = [_TAG[t].search(paper.group(1)) for t in ("title", "abstract", "text")]
            return tuple(_ESCAPED_TAG.sub("<", p.group(1).strip()) if p else "" for p in parts)
    return "", users[-1] if users else "", ""


def split_sentences(text: str) -> list[str]:
    """Whole sentences of `text`, whitespace normalised (a simple split is enough here)."""
    return [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]


def pick_sentences(abstract: str) -> dict[str, list[str]]:
    """One or two abstract sentences per section: the contribution, the method, a result."""
    sentences = split_sentences(abstract) or ["(no abstract)"]
    sentences = [s for s in sentences if not _ASIDE.search(s)] or sentences
    first = next((i for i, s in enumerate(sentences) if _PROPOSES.search(s)), 0)
    rest = [i for i in range(len(sentences)) if i != first]
    result = next((i for i in reversed(rest) if _RESULT.search(sentences[i])),
                  rest[-1] if rest else first)
    method = [i for i in rest if i != result and i > first][:2] or \
        [i for i in rest if i != result][:1] or [first]
    picks = {"whats_new": [first], "technical_details": method, "performance_highlights": [result]}
    return {key: [sentences[i] for i in picks[key]] for key in SECTION_KEYS}


def wrap(sentence: str, template: str) -> str:
    """`sentence` inside `template`, in curly quotes when its parentheses are unbalanced."""
    if "({})" in template and sentence.count("(") != sentence.count(")"):
        template = template.replace("({})", "“{}”")
    return template.format(sentence)


def sections_for(abstract: str, code: str = "en") -> dict[str, list[str]]:
    """The default reply's sections as sentence lists, in language `code` (English for
    a language the fake cannot write)."""
    key = code.replace("_", "-")
    key = "zh-TW" if key.lower() in ("zh-tw", "zh-hk", "zh-hant") else key.split("-")[0].lower()
    picks = pick_sentences(abstract)
    if key not in WRAPPERS:
        return picks
    return {k: [wrap(s, WRAPPERS[key][n]) for s in picks[k]] for n, k in enumerate(SECTION_KEYS)}


def other_abstract(paper: str) -> str:
    """The invented abstract sharing the fewest names and numbers with `paper`."""
    tokens = set(_NUMBER_OR_NAME.findall(paper))
    return min(OTHER_PAPERS, key=lambda other: len(tokens & set(_NUMBER_OR_NAME.findall(other))))


def ceil4(chars: int) -> int:
    """Tokens as this fake counts them: one per four characters, rounded up."""
    return math.ceil(chars / 4)


# --- the server -----------------------------------------------------------------------


@dataclass
class Call:
    """One chat completion request as the fake saw it."""

    index: int
    received: float  # time.monotonic()
    request: Any = None  # the parsed JSON body (None when it was not JSON)
    answered: float | None = None
    status: int | None = None
    fault: Fault | None = None
    content: str | None = None  # the reply content of a 200


class FakeOpenAI(FakeServer):
    """An OpenAI-compatible server at `{url}/v1`; every option is also an attribute.

    `api_key`: when set, requests without `Authorization: Bearer <key>` get 401.
    `supports_json_schema`: when False, `response_format.type == "json_schema"` gets
    400 (as llama.cpp and older servers answer); `json_object` still works.
    `latency`: seconds before each reply. `rpm` / `tpm`: requests / tokens per rolling
    60 s (prompt tokens counted on arrival, completion tokens once answered); over the
    limit, 429 with `Retry-After`. `plan(index, request)`: a `Fault` or None per chat
    request (0-based index over every chat request received, parsed JSON body).
    Errors (401, 400, 429, faults of kind `status`) are answered without latency.
    """

    def __init__(self, model: str = "fake-gpt", *, api_key: str | None = None,
                 supports_json_schema: bool = True, latency: float = 0.0,
                 rpm: int | None = None, tpm: int | None = None,
                 plan: Plan | None = None, strict_model: bool = False) -> None:
        super().__init__()
        self.model, self.api_key, self.strict_model = model, api_key, strict_model
        self.supports_json_schema, self.latency = supports_json_schema, latency
        self.rpm, self.tpm, self.plan = rpm, tpm, plan
        self.honours_max_tokens = True  # False: replies run past max_tokens (a hostile server)
        self.send_quota_headers = True  # x-ratelimit-* headers whenever rpm or tpm is set
        self.calls: list[Call] = []
        self.in_flight = self.max_in_flight = 0
        self._window: deque[list[float]] = deque()  # [time admitted, tokens]
        self._stop = threading.Event()
        self.routes["POST /v1/chat/completions"] = self._chat
        self.routes["GET /v1/models"] = self._models

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as `base_url`."""
        return f"{self.url}/v1"

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wake every sleeping reply
        super().__exit__(*exc)

    def statuses(self) -> list[int | None]:
        """The status of every chat request, in arrival order (None: not answered yet)."""
        with self._lock:
            return [c.status for c in self.calls]

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, or less when the server is closing."""
        if seconds > 0:
            self._stop.wait(seconds)

    # -- errors ---------------------------------------------------------------------

    @staticmethod
    def error(status: int, message: str, type_: str | None = None, code: str | None = None,
              param: str | None = None, headers: dict[str, str] | None = None) -> Reply:
        """An OpenAI error reply."""
        type_ = type_ or {400: "invalid_request_error", 401: "invalid_request_error",
                          403: "permission_error", 404: "invalid_request_error",
                          429: "requests"}.get(status, "server_error")
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        return Reply(status, json.dumps(body), {"Content-Type": "application/json",
                                                **(headers or {})})

    def _auth_error(self, req: Request) -> Reply | None:
        if self.api_key is None:
            return None
        given = req.header("Authorization") or ""
        if not given.startswith("Bearer ") or not given[7:].strip():
            return self.error(401, "You didn't provide an API key. You need to provide your "
                              "API key in an Authorization header using Bearer auth.")
        if given[7:].strip() != self.api_key:
            return self.error(401, f"Incorrect API key provided: {given[7:11]}****.",
                              code="invalid_api_key")
        return None

    def _bad_request(self, body: Any) -> Reply | None:
        if not isinstance(body, dict):
            return self.error(400, "We could not parse the JSON body of your request.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or \
                not all(isinstance(m, dict) and "role" in m for m in messages):
            return self.error(400, "'messages' must be a non-empty array of messages.",
                              param="messages")
        if not body.get("model"):
            return self.error(400, "you must provide a model parameter", param="model")
        if self.strict_model and body["model"] != self.model:
            return self.error(404, f"The model `{body['model']}` does not exist or you do "
                              "not have access to it.", code="model_not_found")
        if body.get("stream"):
            return self.error(400, "this fake does not stream", param="stream")
        fmt = body.get("response_format") or {}
        kind = fmt.get("type", "text") if isinstance(fmt, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            return self.error(400, f"Invalid value for 'response_format.type': {kind!r}.",
                              param="response_format")
        if kind == "json_schema" and not self.supports_json_schema:
            return self.error(400, "'response_format' type must be one of 'text' or "
                              "'json_object', got 'json_schema'", param="response_format")
        return None

    def _admit(self, prompt_tokens: int) -> list[float] | Reply:
        """Count a request against `rpm`/`tpm`, or the 429 that refuses it."""
        with self._lock:
            now = time.monotonic()
            while self._window and self._window[0][0] <= now - WINDOW:
                self._window.popleft()
            wait, what = None, None
            if self.rpm is not None and len(self._window) >= self.rpm:
                wait, what = self._window[len(self._window) - self.rpm][0] + WINDOW - now, \
                    ("requests", f"requests per min (RPM): Limit {self.rpm}")
            elif self.tpm is not None:
                used = sum(tokens for _, tokens in self._window)
                if prompt_tokens > self.tpm:
                    return self.error(429, f"Request too large: {prompt_tokens} tokens, "
                                      f"limit {self.tpm} tokens per min (TPM).",
                                      "tokens", "rate_limit_exceeded")
                if used + prompt_tokens > self.tpm:
                    for admitted, tokens in self._window:
                        used -= tokens
                        if used + prompt_tokens <= self.tpm:
                            wait = admitted + WINDOW - now
                            break
                    what = ("tokens", f"tokens per min (TPM): Limit {self.tpm}, "
                                      f"Requested {prompt_tokens}")
            if what is not None:
                wait = max(wait or 0.0, 0.001)
                return self.error(
                    429, f"Rate limit reached for {self.model} on {what[1]}. Please try again "
                    f"in {wait:.3f}s.", what[0], "rate_limit_exceeded",
                    headers={"Retry-After": str(math.ceil(wait)),
                             "retry-after-ms": str(math.ceil(wait * 1000)),
                             **self._quota_headers(now)})
            entry = [now, float(prompt_tokens)]
            self._window.append(entry)
            return entry

    def _quota_headers(self, now: float) -> dict[str, str]:
        """OpenAI's `x-ratelimit-*` headers for the limits set (call with the lock held)."""
        if not self.send_quota_headers:
            return {}
        headers: dict[str, str] = {}
        reset = (self._window[-1][0] + WINDOW - now) if self._window else 0.0
        if self.rpm is not None:
            headers.update({"x-ratelimit-limit-requests": str(self.rpm),
                            "x-ratelimit-remaining-requests":
                                str(max(0, self.rpm - len(self._window))),
                            "x-ratelimit-reset-requests": f"{max(reset, 0.0):.3f}s"})
        if self.tpm is not None:
            used = sum(tokens for _, tokens in self._window)
            headers.update({"x-ratelimit-limit-tokens": str(self.tpm),
                            "x-ratelimit-remaining-tokens": str(max(0, int(self.tpm - used))),
                            "x-ratelimit-reset-tokens": f"{max(reset, 0.0):.3f}s"})
        return headers

    # -- routes ---------------------------------------------------------------------

    def _models(self, req: Request) -> Reply:
        denied = self._auth_error(req)
        if denied:
            return denied
        return Reply(200, json.dumps({"object": "list", "data": [
            {"id": self.model, "object": "model", "created": 1700000000,
             "owned_by": "papergist-tests"}]}), {"Content-Type": "application/json"})

    def _chat(self, req: Request) -> Reply:
        with self._lock:
            call = Call(index=len(self.calls), received=req.time)
            self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self._answer(req, call)
        except Exception as exc:  # a bug of the fake: say so rather than drop the line
            reply = self.error(500, f"fake server error: {exc!r}")
        with self._lock:
            self.in_flight -= 1
            call.answered, call.status = time.monotonic(), reply.status
        return reply

    def _answer(self, req: Request, call: Call) -> Reply:
        denied = self._auth_error(req)
        if denied:
            return denied
        try:
            body = call.request = req.json()
        except ValueError:
            return self.error(400, "We could not parse the JSON body of your request.")
        bad = self._bad_request(body)
        if bad:
            return bad
        messages = body["messages"]
        prompt_tokens = ceil4(sum(len(message_text(m)) for m in messages))
        admitted = self._admit(prompt_tokens)
        if isinstance(admitted, Reply):
            return admitted
        fault = call.fault = self.plan(call.index, body) if self.plan else None
        if fault and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return self.error(fault.status, fault.message or f"injected HTTP {fault.status}",
                              headers=headers)
        self.sleep(self.latency + (fault.delay if fault else 0.0))
        content, finish = self.content(messages, fault)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if self.honours_max_tokens and isinstance(limit, int) and ceil4(len(content)) > limit:
            content, finish = content[:limit * 4], "length"
        completion_tokens = ceil4(len(content))
        with self._lock:
            admitted[1] += completion_tokens
            call.content = content
            quota = self._quota_headers(time.monotonic())
        return Reply(200, json.dumps({
            "id": f"chatcmpl-fake{call.index:06d}", "object": "chat.completion",
            "created": int(time.time()), "model": body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                 "refusal": None},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }, ensure_ascii=False), {"Content-Type": "application/json", **quota})

    def content(self, messages: list[dict], fault: Fault | None = None) -> tuple[str, str]:
        """The reply content and finish_reason for `messages` under `fault`."""
        _, code = language_of(messages)
        title, abstract, text = paper_of(messages)
        abstract = abstract or text or title
        kind = fault.kind if fault else None
        if kind == "wrong_language":
            code = "en"
        if kind == "other_paper":
            abstract = other_abstract(" ".join((title, abstract, text)))
        written = sections_for(abstract, code)
        sections: dict[str, Any] = {k: " ".join(v) for k, v in written.items()}
        if asks_for_quotes(messages) and kind != "plain_sections":
            quotes = pick_sentences(abstract)
            if kind == "invented_quote":
                quotes[fault.section] = split_sentences(other_abstract(abstract))[:1] * len(
                    quotes[fault.section])
            sections = {k: [{"sentence": s, "quote": q} for s, q in zip(written[k], quotes[k])]
                        for k in SECTION_KEYS}
        if kind == "list_section":
            sections[fault.section] = sections_for(abstract, code)[fault.section]
        if kind == "missing_section":
            del sections[fault.section]
        payload = json.dumps(sections, ensure_ascii=False)
        if kind == "invalid_json":
            return "Sure! Here is the summary.\n\n" + "\n".join(
                f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in sections.items()), "stop"
        if kind == "fenced_json":
            return f"```json\n{payload}\n```", "stop"
        if kind == "empty":
            return "", "stop"
        if kind == "truncated":
            return payload[:len(payload) // 2], "length"
        return payload, "stop"

