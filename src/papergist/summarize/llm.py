"""Summaries by any OpenAI-compatible chat API (OpenAI, Gemini, Ollama, vLLM, llama.cpp...).

`model_config` resolves which endpoint, key, model and limits to use;
`ChatAPI` speaks the protocol (one POST to `/chat/completions`) and classifies
failures for the `Scheduler`; `LLMSummarizer` turns a paper's text into
validated sections in the asked language, with one repair turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

import httpx2

from papergist import __version__
from papergist.errors import ConfigError, SummarizeError, UsageError
from papergist.http import NoStopwatch, Stopwatch, env_options, retry_after_seconds
from papergist.logs import emit, logger
from papergist.redact import Redactor
from papergist.models import (LANGUAGE_TAG_RE, Paper, PaperText, Summary, Usage,
                              Verdict)
from papergist.settings import Settings
from papergist.summarize.budget import estimate_tokens, select_text
from papergist.summarize.prompts import (PROMPT_VERSION, build_messages, regenerate_message,
                                         repair_message)
from papergist.summarize.reply import SCHEMA, Reply, ReplyProblem, parse_reply
from papergist.summarize.scheduler import (Quota, RateLimits, Scheduler, Stats, Throttled,
                                          Transient, Window)

Structured = Literal["json_schema", "json_object"]
REPLY_ATTEMPTS = 4  # replies read per summary: the first, a repair turn, two fresh resends
# A reply longer than this many characters per max_tokens asked is a runaway (a token
# is about 4 characters of English, 1-2 of Korean): refused before it is parsed.
REPLY_CHARS_PER_TOKEN = 8
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")
log = logger("llm")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to call one model; the key is never printed."""

    model: str
    base_url: str
    api_key: str | None
    provider: str
    structured: Structured = "json_schema"
    rpm: int = 0
    tpm: int = 0
    concurrency: int = 64
    max_concurrency: int = 256
    max_output_tokens: int = 2000
    timeout: float = 120.0

    def __repr__(self) -> str:
        return f"ModelConfig(model={self.model!r}, base_url={self.base_url!r}, provider={self.provider!r})"


def _needs_key(base_url: str) -> bool:
    host = httpx2.URL(base_url).host
    return host not in LOCAL_HOSTS


def model_config(settings: Settings, env: Mapping[str, str] | None = None) -> ModelConfig | None:
    """The model to use, or None for the offline summarizer.

    Endpoint and key come from the named provider table, else from
    `OPENAI_BASE_URL` / `OPENAI_API_KEY`. Flags and environment variables beat a
    provider's own limits, which beat the config file's global ones.
    """
    env = os.environ if env is None else env
    provider = settings.providers.get(settings.provider, None) if settings.provider else {}
    if provider is None:
        known = ", ".join(sorted(settings.providers)) or "none defined"
        raise ConfigError(f"no provider {settings.provider!r} in the config file (known: {known})")
    model = settings.model if settings.origins.get("model") in ("flag", "env") else (
        provider.get("model") or settings.model)
    if not model:
        return None
    base_url = str(provider.get("base_url") or settings.openai_base_url).rstrip("/")
    key_env = str(provider.get("api_key_env", "OPENAI_API_KEY"))
    api_key = env.get(key_env) if key_env else None
    if not api_key and key_env and _needs_key(base_url):
        raise ConfigError(f"no API key for {base_url}: set {key_env} (export {key_env}=...), "
                          "or point OPENAI_BASE_URL at a local server such as Ollama")

    def limit(name: str) -> Any:
        if settings.origins.get(name) in ("flag", "env") or name not in provider:
            return getattr(settings, name)
        return provider[name]

    structured = provider.get("structured_output", "json_schema")
    if structured not in ("json_schema", "json_object"):
        raise ConfigError(f"structured_output must be json_schema or json_object, not {structured!r}")
    return ModelConfig(model=model, base_url=base_url, api_key=api_key or None,
                       provider=settings.provider or "openai", structured=structured,
                       rpm=int(limit("rpm")), tpm=int(limit("tpm")),
                       concurrency=int(limit("concurrency")),
                       max_concurrency=int(limit("max_concurrency")),
                       max_output_tokens=settings.max_output_tokens, timeout=settings.llm_timeout)


@dataclass(frozen=True)
class Completion:
    """One reply of the chat API (`usage_known`: the server's `usage` could be read)."""

    content: str | None
    finish_reason: str | None
    usage: Usage
    usage_known: bool = True


def read_usage(body: dict[str, Any]) -> tuple[Usage, bool]:
    """The reply's token usage, and whether it was readable.

    Usage is advisory: servers send odd shapes (a list, `"prompt_tokens": "many"`).
    What is readable is counted; an unreadable count is 0 and the reply is
    marked, so the run can say once that its token counts are incomplete.
    """
    raw = body.get("usage")
    if not isinstance(raw, dict):
        return Usage(requests=1), False

    def tokens(key: str) -> int | None:
        value = raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
            else None

    prompt, completion = tokens("prompt_tokens"), tokens("completion_tokens")
    return Usage(prompt_tokens=prompt or 0, completion_tokens=completion or 0, requests=1), \
        prompt is not None and completion is not None


class SchemaUnsupported(Exception):
    """The server refused `response_format: json_schema`."""


def _error_message(response: httpx2.Response) -> str:
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = response.text
    return " ".join(str(message or "").split())[:300]


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str | None) -> float | None:
    """Seconds in a reset header: "1s", "6m0s", "59.12s", "120ms" or a bare number."""
    if not text:
        return None
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def _count_header(text: str | None) -> int | None:
    """A header's non-negative count, or None when absent or unreadable."""
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def read_quota(headers: Mapping[str, str]) -> Quota:
    """The `x-ratelimit-*` headers of a reply (whatever is there and readable)."""
    def get(name: str) -> str | None:
        return headers.get(f"x-ratelimit-{name}")
    return Quota(limit_requests=_count_header(get("limit-requests")),
                 remaining_requests=_count_header(get("remaining-requests")),
                 reset_requests=_duration(get("reset-requests")),
                 limit_tokens=_count_header(get("limit-tokens")),
                 remaining_tokens=_count_header(get("remaining-tokens")),
                 reset_tokens=_duration(get("reset-tokens")))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """`retry-after-ms` (OpenAI's precise one) if readable, else `Retry-After`."""
    precise = _count_header(headers.get("retry-after-ms"))
    if precise is not None:
        return precise / 1000
    return retry_after_seconds(headers.get("Retry-After"))


class ChatAPI:
    """The chat-completions endpoint of one provider.

    `on_quota` hears every reply's rate-limit headers (the scheduler learns from them).
    """

    def __init__(self, config: ModelConfig, client: httpx2.AsyncClient,
                 on_quota: Callable[[Quota], None] = lambda quota: None):
        self.config, self.client = config, client
        self.structured: Structured = config.structured
        self.on_quota = on_quota
        self.redact = Redactor([config.api_key or ""])  # servers may echo the key back

    def _body(self, messages: list[dict], structured: Structured) -> dict[str, Any]:
        if structured == "json_schema":
            response_format = {"type": "json_schema", "json_schema": {
                "name": "paper_summary", "strict": True, "schema": SCHEMA}}
        else:
            response_format = {"type": "json_object"}
        return {"model": self.config.model, "messages": messages, "temperature": 0.2,
                "max_tokens": self.config.max_output_tokens, "response_format": response_format}

    async def complete(self, messages: list[dict]) -> Completion:
        """One request; switches to JSON mode for good if the schema is refused."""
        try:
            return await self._post(messages, self.structured)
        except SchemaUnsupported:
            self.structured = "json_object"
            return await self._post(messages, "json_object")

    async def _post(self, messages: list[dict], structured: Structured) -> Completion:
        url = f"{self.config.base_url}/chat/completions"
        try:
            response = await self.client.post(url, json=self._body(messages, structured))
        except httpx2.TimeoutException:
            raise Transient(f"timed out after {self.config.timeout:g} s") from None
        except httpx2.TransportError as exc:
            raise Transient(f"connection failed ({type(exc).__name__})") from None
        quota = read_quota(response.headers)
        if not quota.empty:
            self.on_quota(quota)
        self._raise_for_status(response, structured)
        return self._completion(response)

    def _raise_for_status(self, response: httpx2.Response, structured: Structured) -> None:
        status = response.status_code
        if status < 400:
            return
        message = self.redact(_error_message(response))
        if status == 429:
            raise Throttled(_retry_after(response.headers))
        if status >= 500 or status in (408, 409):
            raise Transient(f"HTTP {status}: {message}")
        if status == 400 and structured == "json_schema" and re.search(
                r"response_format|json_schema|schema", message, re.IGNORECASE):
            raise SchemaUnsupported(message)
        if status in (401, 403):
            raise ConfigError(f"the model API at {self.config.base_url} refused the key "
                              f"(HTTP {status}: {message}); check the API key")
        if status == 404:
            raise ConfigError(f"the model API at {self.config.base_url} has no model "
                              f"{self.config.model!r} (HTTP 404: {message})")
        raise SummarizeError(f"the model API refused the request (HTTP {status}: {message})")

    def _completion(self, response: httpx2.Response) -> Completion:
        try:
            body = response.json()
            choice = body["choices"][0]
            content = choice["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise Transient("the model API sent a malformed completion") from None
        usage, known = read_usage(body)
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        return Completion(content=content if isinstance(content, str) else None,
                          finish_reason=finish if isinstance(finish, str) else None,
                          usage=usage, usage_known=known)


class TokenCap:
    """The run's token budget (`--max-tokens`): reserved before sending, settled after."""

    def __init__(self, cap: int):
        self.cap, self.spent, self.reserved = cap, 0, 0

    def reserve(self, tokens: int) -> None:
        """Book `tokens`, or refuse if that could exceed the cap."""
        if self.cap and self.spent + self.reserved + tokens > self.cap:
            raise SummarizeError(f"not sent: the run's token cap ({self.cap:,} tokens, "
                                 f"--max-tokens) would be exceeded")
        self.reserved += tokens

    def settle(self, reserved: int, used: int) -> None:
        """Replace a reservation by the tokens actually used."""
        self.reserved -= reserved
        self.spent += used


class LLMSummarizer:
    """Writes the three sections with a model; use as an async context manager."""

    name = "llm"
    wants_fulltext = True
    paid = True  # each summary costs: concurrent runs share one (leases)
    prompt_version = PROMPT_VERSION

    def __init__(self, config: ModelConfig, settings: Settings):
        self.config = config
        self.model = config.model
        self.budget_tokens = settings.budget_tokens
        self.attempts, self.backoff = settings.http_attempts, settings.http_backoff
        self.cap = TokenCap(settings.max_tokens)
        self.max_reply_chars = REPLY_CHARS_PER_TOKEN * config.max_output_tokens
        self.usage_unknown = 0  # replies whose `usage` could not be read
        self._said_usage, self._said_learned = False, 0

    async def __aenter__(self) -> "LLMSummarizer":
        headers = {"User-Agent": f"papergist/{__version__}"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        limits = httpx2.Limits(max_connections=self.config.max_concurrency,
                               max_keepalive_connections=self.config.max_concurrency)
        self._client = httpx2.AsyncClient(headers=headers, timeout=self.config.timeout,
                                          limits=limits, **env_options())
        self.scheduler = Scheduler(Window(self.config.concurrency, self.config.max_concurrency),
                                   RateLimits(self.config.rpm or None, self.config.tpm or None),
                                   attempts=self.attempts, backoff=self.backoff)
        self.api = ChatAPI(self.config, self._client, on_quota=self.scheduler.learn)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.aclose()

    def run_notes(self) -> list[str]:
        """What a person should hear once about the run so far (each said once)."""
        notes = [f"Learned the provider's limits from its headers: {what}; pacing to them"
                 for what in self.scheduler.learned[self._said_learned:]]
        self._said_learned = len(self.scheduler.learned)
        if self.usage_unknown and not self._said_usage:
            self._said_usage = True
            notes.append(f"{self.usage_unknown} model replies had no readable token usage: "
                         "the token counts are incomplete")
        return notes

    def check_language(self, language: str) -> None:
        """Any language a model can write; only the code's shape is checked."""
        if not LANGUAGE_TAG_RE.fullmatch(language):
            raise UsageError(f"invalid language code {language!r}: use e.g. en, ko, ja, zh, zh-TW")

    def sent_body(self, text: PaperText) -> str | None:
        """The selection of the full text a model is sent (None for an abstract)."""
        return self._body(text)

    def _body(self, text: PaperText) -> str | None:
        if text.origin == "abstract":
            return None
        sections = tuple(s for s in text.sections if s.title.strip().lower() != "abstract")
        return select_text(text.model_copy(update={"sections": sections}), self.budget_tokens)

    def source_hash(self, paper: Paper, text: PaperText) -> str:
        """What the summary is written from: the paper's version and the text sent."""
        sent = f"{paper.version}\n{self.budget_tokens}\n{paper.title}\n{paper.abstract}\n" \
               f"{self._body(text) or ''}"
        return hashlib.sha256(sent.encode("utf-8")).hexdigest()

    async def summarize_text(self, paper: Paper, text: PaperText, language: str,
                             regenerate: Verdict | None = None,
                             tally: Stats | None = None,
                             stopwatch: Stopwatch = NoStopwatch()) -> Summary:
        """Summarize from `text`, or raise `SummarizeError` with the reason.

        A spoiled reply (empty, cut off, not JSON, far too long) is a transient
        fault: the model gets a repair turn, then fresh requests with backoff,
        `REPLY_ATTEMPTS` replies in all. A reply in the wrong language gets one
        repair turn; a second one ends the paper. `regenerate`: an earlier
        summary failed the check against the paper with this verdict; the model
        is told why. `tally`
        counts the requests sent for this paper, resends included; `stopwatch`
        (the paper's time budget) is paused while a request waits in line.
        """
        first = build_messages(paper.title, paper.abstract, self._body(text), language)
        if regenerate is not None:
            first.append(regenerate_message(regenerate))
        usages: list[Usage] = []
        reply = await self._reply(first, language, tally or Stats(), usages, stopwatch)
        return Summary(paper_id=paper.id, sections=reply.sections, cited=reply.cited,
                       summarizer=self.name, model=self.model, language=language,
                       prompt_version=PROMPT_VERSION, source=text.source,
                       source_hash=self.source_hash(paper, text),
                       paper_version=paper.version, usage=sum(usages, Usage()))

    async def _reply(self, first: list[dict], language: str, tally: Stats,
                     usages: list[Usage], stopwatch: Stopwatch) -> Reply:
        """Ask until a reply parses, within the attempt budget; usage goes to `usages`."""
        messages, repaired, wrong_language = first, False, 0
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            try:
                completion = await self._send(messages, tally, stopwatch)
            except SummarizeError as exc:
                raise exc.with_context(usage=sum(usages, Usage()),
                                       attempts=tally.requests) from None
            usages.append(completion.usage)
            try:
                return parse_reply(completion.content, completion.finish_reason, language,
                                   max_chars=self.max_reply_chars)
            except ReplyProblem as problem:
                wrong_language += problem.kind == "language"
                if attempt == REPLY_ATTEMPTS or wrong_language == 2:
                    raise SummarizeError(
                        f"no usable reply after {attempt} replies: {problem}",
                        usage=sum(usages, Usage()), attempts=tally.requests) from None
                self._note_resend(attempt, problem, tally, repair=not repaired)
                if not repaired:
                    messages = first + [
                        {"role": "assistant", "content": (completion.content or "")[:4000]},
                        repair_message(str(problem), language)]
                    repaired = True
                else:
                    messages = first
                    await asyncio.sleep(self.scheduler.backoff_for(attempt))
        raise AssertionError("unreachable")

    def _note_resend(self, attempt: int, problem: ReplyProblem, tally: Stats,
                     repair: bool) -> None:
        """Count and log a spoiled reply that is asked again (a repair turn or a resend)."""
        for stats in (self.scheduler.stats, tally):
            stats.count("retries")
        how = "a repair turn" if repair else "a fresh request"
        emit(log, logging.INFO, f"unusable model reply ({problem.kind}); asking again with "
             f"{how}", "retry", attempt=attempt, problem=problem.kind, repair=repair)

    async def _send(self, messages: list[dict], tally: Stats, stopwatch: Stopwatch) -> Completion:
        estimate = sum(estimate_tokens(m["content"]) for m in messages) + \
            self.config.max_output_tokens
        self.cap.reserve(estimate)
        used = 0
        try:
            async def send() -> tuple[Completion, int]:
                completion = await self.api.complete(messages)
                if not completion.usage_known:
                    self.usage_unknown += 1
                    return completion, estimate  # pace on the estimate when usage is unreadable
                return completion, completion.usage.total_tokens
            completion = await self.scheduler.call(send, estimate, tally, stopwatch)
            used = completion.usage.total_tokens if completion.usage_known else estimate
            return completion
        except ConfigError as exc:  # a refused key or model: no other paper can do better
            self.scheduler.stop(exc)
            raise
        except Throttled:
            raise SummarizeError("the model API kept answering 429 (rate limited); "
                                 "set rpm/tpm to the provider's limits") from None
        except Transient as exc:
            raise SummarizeError(f"the model API failed {self.attempts} times: "
                                 f"{self.api.redact(str(exc))}") from None
        finally:
            self.cap.settle(estimate, used)

