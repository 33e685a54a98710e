"""The one settings table: name, environment variable, default and help.

Precedence, highest first: explicit overrides (command-line flags), environment
variables, the config file (TOML, `$PAPERGIST_HOME/config.toml` or the file named
by `PAPERGIST_CONFIG`), then the defaults below. `papergist settings` prints the
table with the value in force and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from papergist.errors import ConfigError


def _default_home() -> str:
    import platformdirs

    return platformdirs.user_data_dir("papergist", appauthor=False)


@dataclass(frozen=True)
class Setting:
    """One row of the settings table.

    `flag` is the command-line option that sets it (empty: none); `many` marks a
    list (a TOML array, or commas in a variable); `aliases` are deprecated
    `(config key, variable)` pairs still read, after the current ones.
    """

    name: str
    env: str
    default: Any
    kind: Callable[[str], Any]
    help: str
    secret: bool = False
    flag: str = ""
    many: bool = False
    aliases: tuple[tuple[str, str], ...] = ()


def _number(text: str, cast: Callable[[str], Any], what: str) -> Any:
    """`text` as a finite number, or a ValueError saying `what` it must be."""
    try:
        value = cast(text.strip())
    except ValueError:
        raise ValueError(f"must be {what}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"must be {what}")
    return value


def _delay(text: str) -> float:
    value = _number(text, float, "a number of seconds, 0 or more")
    if value < 0:
        raise ValueError("must be a number of seconds, 0 or more")
    return value


def _duration(text: str) -> float:
    value = _number(text, float, "a number of seconds, more than 0")
    if value <= 0:
        raise ValueError("must be a number of seconds, more than 0")
    return value


def _positive_int(text: str) -> int:
    value = _number(text, int, "a whole number, 1 or more")
    if value < 1:
        raise ValueError("must be a whole number, 1 or more")
    return value


def _count(text: str) -> int:
    value = _number(text, int, "a whole number, 0 or more (0 means no limit)")
    if value < 0:
        raise ValueError("must be a whole number, 0 or more (0 means no limit)")
    return value


def _policy(text: str) -> str:
    if text not in ("warn", "drop", "keep"):
        raise ValueError("must be warn, drop or keep")
    return text


def _tls(text: str) -> str:
    if text not in ("starttls", "ssl", "none"):
        raise ValueError("must be starttls, ssl or none")
    return text


def _embed_when(text: str) -> str:
    if text not in ("digest", "search"):
        raise ValueError("must be digest or search")
    return text


def _optional_url(text: str) -> str:
    return _url(text) if text else ""


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return text.rstrip("/")


def _store_url(text: str) -> str:
    """Empty (the SQLite file under `home`) or a PostgreSQL URL for SQLAlchemy."""
    if text and not text.startswith(("postgresql://", "postgresql+psycopg://")):
        raise ValueError("must be empty (SQLite under home) or a postgresql+psycopg:// URL")
    return text.replace("postgresql://", "postgresql+psycopg://", 1)


def _addresses(text: str) -> str:
    """Comma-separated addresses, normalised to `a, b` (empty items dropped)."""
    return ", ".join(part.strip() for part in text.split(",") if part.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "PAPERGIST_HOME", _default_home, str,
            "Data directory: the SQLite store and the config file live here."),
    Setting("store_url", "PAPERGIST_STORE_URL", "", _store_url,
            "A PostgreSQL store for a team, e.g. postgresql://user@host/papers (needs "
            "papergist[postgres]); empty: the SQLite file in home.", secret=True),
    Setting("embed_papers", "PAPERGIST_EMBED_PAPERS", "digest", _embed_when,
            "With papergist[semantic]: embed papers for search by meaning as a digest stores "
            "them (digest), or at the first search by meaning after (search)."),
    Setting("hf_endpoint", "HF_ENDPOINT", "https://huggingface.co", _url,
            "Hugging Face endpoint serving /api/daily_papers (the variable huggingface_hub uses)."),
    Setting("hf_page_size", "PAPERGIST_HF_PAGE_SIZE", 50, _positive_int,
            "Papers asked for per page of the HF Daily Papers API; pages are read until the day is whole."),
    Setting("arxiv_api_url", "PAPERGIST_ARXIV_API_URL", "https://export.arxiv.org/api/query", _url,
            "arXiv Atom API endpoint used for --ids."),
    Setting("arxiv_delay", "PAPERGIST_ARXIV_DELAY", 3.0, _delay,
            "Seconds between two requests to the arXiv API (arXiv asks for 3)."),
    Setting("arxiv_url", "PAPERGIST_ARXIV_URL", "https://arxiv.org", _url,
            "arXiv site serving full texts: {arxiv_url}/html/{id} (LaTeXML), {arxiv_url}/pdf/{id}."),
    Setting("fulltext_delay", "PAPERGIST_FULLTEXT_DELAY", 1.0, _delay,
            "Seconds between two full-text downloads from arxiv_url (downloads are cached)."),
    Setting("budget_tokens", "PAPERGIST_BUDGET_TOKENS", 12000, _positive_int,
            "Tokens of paper text sent to a model: abstract, introduction, method, results, "
            "conclusion."),
    Setting("http_timeout", "PAPERGIST_HTTP_TIMEOUT", 30.0, _duration,
            "Seconds before one HTTP request times out."),
    Setting("http_attempts", "PAPERGIST_HTTP_ATTEMPTS", 4, _positive_int,
            "Attempts per request, the first included, on timeouts, connection errors, 429 "
            "and 5xx (1: no retry). Formerly http_retries (PAPERGIST_HTTP_RETRIES), still read.",
            aliases=(("http_retries", "PAPERGIST_HTTP_RETRIES"),)),
    Setting("http_backoff", "PAPERGIST_HTTP_BACKOFF", 1.0, _delay,
            "First retry delay in seconds; it doubles each attempt, with jitter (capped at 60)."),
    Setting("language", "PAPERGIST_LANG", "en", str,
            "Language of the summaries: en, ko, ja, zh, ... (the offline summarizer writes en only).",
            flag="--lang"),
    Setting("model", "PAPERGIST_MODEL", "", str,
            "Model for summaries; empty: the offline extractive summarizer.", flag="--model"),
    Setting("provider", "PAPERGIST_PROVIDER", "", str,
            "A [providers.NAME] table of the config file; empty: OPENAI_BASE_URL and OPENAI_API_KEY.",
            flag="--provider"),
    Setting("openai_base_url", "OPENAI_BASE_URL", "https://api.openai.com/v1", _url,
            "OpenAI-compatible endpoint used when no provider is named (Ollama, vLLM, llama.cpp...)."),
    Setting("concurrency", "PAPERGIST_CONCURRENCY", 64, _positive_int,
            "Model requests in flight at the start; narrowed on 429, widened while requests succeed.",
            flag="--concurrency"),
    Setting("max_concurrency", "PAPERGIST_MAX_CONCURRENCY", 256, _positive_int,
            "Most model requests ever in flight.", flag="--max-concurrency"),
    Setting("rpm", "PAPERGIST_RPM", 0, _count,
            "Model requests per minute allowed by the provider (0: no known limit).", flag="--rpm"),
    Setting("tpm", "PAPERGIST_TPM", 0, _count,
            "Model tokens per minute allowed by the provider (0: no known limit).", flag="--tpm"),
    Setting("max_tokens", "PAPERGIST_MAX_TOKENS", 0, _count,
            "Cap on the tokens of one run; papers beyond it are reported, not sent (0: no cap).",
            flag="--max-tokens"),
    Setting("max_output_tokens", "PAPERGIST_MAX_OUTPUT_TOKENS", 2000, _positive_int,
            "Most tokens a model may write for one summary (its sentences and their quotes)."),
    Setting("llm_timeout", "PAPERGIST_LLM_TIMEOUT", 120.0, _duration,
            "Seconds before one model request times out (then retried with backoff)."),
    Setting("on_unverified", "PAPERGIST_ON_UNVERIFIED", "warn", _policy,
            "A model summary with claims the paper lacks, after one regeneration: warn (publish "
            "with a warning), drop (publish the abstract instead) or keep.", flag="--on-unverified"),
    Setting("site_url", "PAPERGIST_SITE_URL", "", _optional_url,
            "Public URL of the static archive, linked from emails, chat messages and the feed."),
    Setting("smtp_host", "PAPERGIST_SMTP_HOST", "", str, "SMTP server for --to email."),
    Setting("smtp_port", "PAPERGIST_SMTP_PORT", 587, _positive_int, "SMTP port."),
    Setting("smtp_tls", "PAPERGIST_SMTP_TLS", "starttls", _tls,
            "SMTP security: starttls (port 587), ssl (port 465) or none (local relays only)."),
    Setting("smtp_user", "PAPERGIST_SMTP_USER", "", str, "SMTP login (empty: no login)."),
    Setting("smtp_password", "PAPERGIST_SMTP_PASSWORD", "", str, "SMTP password.", secret=True),
    Setting("email_from", "PAPERGIST_EMAIL_FROM", "", str, "Sender address of the email."),
    Setting("email_to", "PAPERGIST_EMAIL_TO", "", _addresses,
            "Recipients of the email: a TOML array, or comma-separated.", many=True),
    Setting("slack_webhook_url", "PAPERGIST_SLACK_WEBHOOK_URL", "", _optional_url,
            "Slack incoming webhook for --to slack.", secret=True),
    Setting("discord_webhook_url", "PAPERGIST_DISCORD_WEBHOOK_URL", "", _optional_url,
            "Discord webhook for --to discord.", secret=True),
    Setting("telegram_bot_token", "PAPERGIST_TELEGRAM_BOT_TOKEN", "", str,
            "Telegram bot token for --to telegram.", secret=True),
    Setting("telegram_chat_id", "PAPERGIST_TELEGRAM_CHAT_ID", "", str,
            "Telegram chat (or @channel) the bot posts to."),
    Setting("telegram_api_url", "PAPERGIST_TELEGRAM_API_URL", "https://api.telegram.org", _url,
            "Telegram Bot API endpoint."),
    Setting("feishu_webhook_url", "PAPERGIST_FEISHU_WEBHOOK_URL", "", _optional_url,
            "Feishu (Lark) custom bot webhook for --to feishu.", secret=True),
    Setting("feishu_secret", "PAPERGIST_FEISHU_SECRET", "", str,
            "The bot's signing secret, if it checks signatures.", secret=True),
    Setting("paper_timeout", "PAPERGIST_PAPER_TIMEOUT", 600.0, _duration,
            "Seconds one paper may take in all (full text, requests, retries) before it fails."),
)
_OWN_MESSAGES = frozenset({_optional_url, _url})  # their errors never quote the value
PROVIDER_KEYS = frozenset({"base_url", "api_key_env", "model", "rpm", "tpm", "concurrency",
                           "max_concurrency", "structured_output"})
_BY_NAME = {s.name: s for s in SETTINGS}
_ALIASES = {key: s for s in SETTINGS for key, _ in s.aliases}


@dataclass(frozen=True)
class Settings:
    """The values in force, and where each came from (`default`, `config`, `env`, `flag`)."""

    home: Path
    store_url: str
    embed_papers: str
    hf_endpoint: str
    hf_page_size: int
    arxiv_api_url: str
    arxiv_delay: float
    arxiv_url: str
    fulltext_delay: float
    budget_tokens: int
    http_timeout: float
    http_attempts: int
    http_backoff: float
    language: str
    model: str
    provider: str
    openai_base_url: str
    concurrency: int
    max_concurrency: int
    rpm: int
    tpm: int
    max_tokens: int
    max_output_tokens: int
    llm_timeout: float
    on_unverified: str
    site_url: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    smtp_user: str
    smtp_password: str
    email_from: str
    email_to: str
    slack_webhook_url: str
    discord_webhook_url: str
    telegram_bot_token: str
    telegram_chat_id: str
    telegram_api_url: str
    feishu_webhook_url: str
    feishu_secret: str
    paper_timeout: float
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    readers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # [readers.NAME]
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        shown = {s.name: ("***" if s.secret and getattr(self, s.name) else getattr(self, s.name))
                 for s in SETTINGS}
        return f"Settings({shown})"

    @property
    def http_retries(self) -> int:
        """Deprecated name of `http_attempts` (it always counted attempts)."""
        return self.http_attempts

    @property
    def db_path(self) -> Path:
        """The SQLite store."""
        return self.home / "papergist.db"

    @property
    def store_target(self) -> Path | str:
        """What `Store.open` opens: `store_url` when set, else the SQLite file."""
        return self.store_url or self.db_path

    @property
    def cache_dir(self) -> Path:
        """Downloaded full texts (arXiv versions never change, so they are kept)."""
        return self.home / "cache"


def config_path(env: Mapping[str, str]) -> Path:
    """The config file: `PAPERGIST_CONFIG`, else `config.toml` in the data directory."""
    if env.get("PAPERGIST_CONFIG"):
        return Path(env["PAPERGIST_CONFIG"]).expanduser()
    home = env.get("PAPERGIST_HOME") or _default_home()
    return Path(home).expanduser() / "config.toml"


@dataclass(frozen=True)
class _Raw:
    """A value before conversion: what was given, where (`origin`), and the key or
    variable or flag it was given as (`source`), for messages."""

    value: Any
    origin: str
    source: str
    key: str
    where: str = ""


def _read_config(path: Path, named: bool) -> dict[str, Any]:
    """The config file's table (empty if there is none), its keys checked.

    `named`: the file was named by `PAPERGIST_CONFIG`, so it may set `home`.
    """
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    unknown = sorted(set(data) - set(_BY_NAME) - set(_ALIASES) - {"providers", "readers"})
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}; "
                          f"known: {', '.join(_BY_NAME)}, [providers.NAME], [readers.NAME]")
    if "home" in data and not named:
        raise ConfigError(f"home cannot be set in {path}: that file is read from the data "
                          "directory itself. Set PAPERGIST_HOME instead, or keep the config "
                          "file elsewhere and name it with PAPERGIST_CONFIG")
    for key, setting in _ALIASES.items():
        if key in data and setting.name in data:
            raise ConfigError(f"in {path}: give {setting.name} only ({key} is its former "
                              "name)")
    _check_providers(data.get("providers", {}), path)
    readers = data.get("readers", {})
    if not isinstance(readers, dict) or not all(isinstance(v, dict) for v in readers.values()):
        raise ConfigError(f"in {path}: readers must be tables, e.g. [readers.alice]")
    return data


def _check_providers(providers: Any, path: Path) -> None:
    if not isinstance(providers, dict) or not all(isinstance(v, dict) for v in providers.values()):
        raise ConfigError(f"in {path}: providers must be tables, e.g. [providers.ollama]")
    for name, table in providers.items():
        unknown = sorted(set(table) - PROVIDER_KEYS)
        if unknown:
            raise ConfigError(f"unknown key(s) in [providers.{name}] of {path}: "
                              f"{', '.join(unknown)}; known: {', '.join(sorted(PROVIDER_KEYS))}")


def _raw(setting: Setting, overrides: Mapping[str, Any], env: Mapping[str, str],
         config: Mapping[str, Any], path: Path) -> _Raw:
    """Where `setting` is given, highest first: flag, variable, config key, default;
    at each level the current name before its deprecated aliases."""
    names = [(setting.name, setting.env), *setting.aliases]
    for key, _ in names:
        if key in overrides:
            return _Raw(overrides[key], "flag", setting.flag or f"override {key}=", key)
    for key, var in names:
        if env.get(var):
            return _Raw(env[var], "env", var, key)
    for key, _ in names:
        if key in config:
            return _Raw(config[key], "config", "config file", key, f" (in {path})")
    default = setting.default() if callable(setting.default) else setting.default
    return _Raw(default, "default", "default", setting.name)


def _text(setting: Setting, raw: _Raw) -> str:
    """The raw value as text for `setting.kind`: a list only for a list setting."""
    value = raw.value
    if isinstance(value, (list, tuple)) and setting.many:
        if not all(isinstance(item, str) and "," not in item for item in value):
            raise ValueError("must be a list of texts without commas, e.g. "
                             '["a@example.org", "b@example.org"]')
        return ", ".join(value)
    if isinstance(value, (list, tuple, dict)):
        kind = "a table" if isinstance(value, dict) else "a list"
        raise ValueError(f"must be a single value, not {kind}")
    if isinstance(value, bool):
        raise ValueError("must not be true or false")
    return str(value)


def _convert(setting: Setting, raw: _Raw) -> Any:
    """The setting's value from `raw`; a `ConfigError` naming the setting, where the
    value came from and what is wrong. A secret's value is never quoted (a webhook
    URL holds its token), and neither is a message that might quote it."""
    try:
        return setting.kind(_text(setting, raw))
    except ValueError as exc:
        if setting.secret:
            reason = str(exc) if setting.kind in _OWN_MESSAGES else "not a valid value"
            raise ConfigError(f"invalid {raw.key} ({raw.source}): {reason} "
                              f"(the value is secret, so it is not shown){raw.where}") from None
        raise ConfigError(f"invalid {raw.key} ({raw.source}): {raw.value!r}: {exc}"
                          f"{raw.where}") from None


def load_settings(overrides: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting: overrides > environment > config file > default.

    `home` may come from the config file only when `PAPERGIST_CONFIG` named it (the
    default config file lives in the home it would set).
    """
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(_BY_NAME) - set(_ALIASES))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    path = config_path(env)
    config = _read_config(path, named=bool(env.get("PAPERGIST_CONFIG")))
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for s in SETTINGS:
        raw = _raw(s, overrides, env, config, path)
        values[s.name], origins[s.name] = _convert(s, raw), raw.origin
    values["home"] = Path(values["home"]).expanduser()
    return Settings(**values, providers=config.get("providers", {}),
                    readers=config.get("readers", {}), origins=origins)
