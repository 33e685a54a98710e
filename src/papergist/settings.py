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
    """One row of the settings table."""

    name: str
    env: str
    default: Any
    kind: Callable[[str], Any]
    help: str
    secret: bool = False


def _positive_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must not be negative (0 means no limit)")
    return value


def _policy(text: str) -> str:
    if text not in ("warn", "drop", "keep"):
        raise ValueError("must be warn, drop or keep")
    return text


def _tls(text: str) -> str:
    if text not in ("starttls", "ssl", "none"):
        raise ValueError("must be starttls, ssl or none")
    return text


def _optional_url(text: str) -> str:
    return _url(text) if text else ""


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return text.rstrip("/")


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "PAPERGIST_HOME", _default_home, str,
            "Data directory: the SQLite store and the config file live here."),
    Setting("hf_endpoint", "HF_ENDPOINT", "https://huggingface.co", _url,
            "Hugging Face endpoint serving /api/daily_papers (the variable huggingface_hub uses)."),
    Setting("hf_page_size", "PAPERGIST_HF_PAGE_SIZE", 50, _positive_int,
            "Papers asked for per page of the HF Daily Papers API; pages are read until the day is whole."),
    Setting("arxiv_api_url", "PAPERGIST_ARXIV_API_URL", "https://export.arxiv.org/api/query", _url,
            "arXiv Atom API endpoint used for --ids."),
    Setting("arxiv_delay", "PAPERGIST_ARXIV_DELAY", 3.0, _positive_float,
            "Seconds between two requests to the arXiv API (arXiv asks for 3)."),
    Setting("arxiv_url", "PAPERGIST_ARXIV_URL", "https://arxiv.org", _url,
            "arXiv site serving full texts: {arxiv_url}/html/{id} (LaTeXML), {arxiv_url}/pdf/{id}."),
    Setting("fulltext_delay", "PAPERGIST_FULLTEXT_DELAY", 1.0, _positive_float,
            "Seconds between two full-text downloads from arxiv_url (downloads are cached)."),
    Setting("budget_tokens", "PAPERGIST_BUDGET_TOKENS", 12000, _positive_int,
            "Tokens of paper text sent to a model: abstract, introduction, method, results, "
            "conclusion."),
    Setting("http_timeout", "PAPERGIST_HTTP_TIMEOUT", 30.0, _positive_float,
            "Seconds before one HTTP request times out."),
    Setting("http_retries", "PAPERGIST_HTTP_RETRIES", 4, _positive_int,
            "Attempts per HTTP request on timeouts, connection errors, 429 and 5xx."),
    Setting("http_backoff", "PAPERGIST_HTTP_BACKOFF", 1.0, _positive_float,
            "First retry delay in seconds; it doubles each attempt, with jitter (capped at 60)."),
    Setting("language", "PAPERGIST_LANG", "en", str,
            "Language of the summaries: en, ko, ja, zh, ... (the offline summarizer writes en only)."),
    Setting("model", "PAPERGIST_MODEL", "", str,
            "Model for summaries; empty: the offline extractive summarizer."),
    Setting("provider", "PAPERGIST_PROVIDER", "", str,
            "A [providers.NAME] table of the config file; empty: OPENAI_BASE_URL and OPENAI_API_KEY."),
    Setting("openai_base_url", "OPENAI_BASE_URL", "https://api.openai.com/v1", _url,
            "OpenAI-compatible endpoint used when no provider is named (Ollama, vLLM, llama.cpp...)."),
    Setting("concurrency", "PAPERGIST_CONCURRENCY", 64, _positive_int,
            "Model requests in flight at the start; narrowed on 429, widened while requests succeed."),
    Setting("max_concurrency", "PAPERGIST_MAX_CONCURRENCY", 256, _positive_int,
            "Most model requests ever in flight."),
    Setting("rpm", "PAPERGIST_RPM", 0, _count,
            "Model requests per minute allowed by the provider (0: no known limit)."),
    Setting("tpm", "PAPERGIST_TPM", 0, _count,
            "Model tokens per minute allowed by the provider (0: no known limit)."),
    Setting("max_tokens", "PAPERGIST_MAX_TOKENS", 0, _count,
            "Cap on the tokens of one run; papers beyond it are reported, not sent (0: no cap)."),
    Setting("max_output_tokens", "PAPERGIST_MAX_OUTPUT_TOKENS", 1500, _positive_int,
            "Most tokens a model may write for one summary."),
    Setting("llm_timeout", "PAPERGIST_LLM_TIMEOUT", 120.0, _positive_float,
            "Seconds before one model request times out (then retried with backoff)."),
    Setting("on_unverified", "PAPERGIST_ON_UNVERIFIED", "warn", _policy,
            "A model summary with claims the paper lacks, after one regeneration: warn (publish "
            "with a warning), drop (publish the abstract instead) or keep."),
    Setting("site_url", "PAPERGIST_SITE_URL", "", _optional_url,
            "Public URL of the static archive, linked from emails, chat messages and the feed."),
    Setting("smtp_host", "PAPERGIST_SMTP_HOST", "", str, "SMTP server for --to email."),
    Setting("smtp_port", "PAPERGIST_SMTP_PORT", 587, _positive_int, "SMTP port."),
    Setting("smtp_tls", "PAPERGIST_SMTP_TLS", "starttls", _tls,
            "SMTP security: starttls (port 587), ssl (port 465) or none (local relays only)."),
    Setting("smtp_user", "PAPERGIST_SMTP_USER", "", str, "SMTP login (empty: no login)."),
    Setting("smtp_password", "PAPERGIST_SMTP_PASSWORD", "", str, "SMTP password.", secret=True),
    Setting("email_from", "PAPERGIST_EMAIL_FROM", "", str, "Sender address of the email."),
    Setting("email_to", "PAPERGIST_EMAIL_TO", "", str, "Recipients of the email, comma-separated."),
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
    Setting("paper_timeout", "PAPERGIST_PAPER_TIMEOUT", 600.0, _positive_float,
            "Seconds one paper may take in all (full text, requests, retries) before it fails."),
)
_OWN_MESSAGES = frozenset({_optional_url, _url})  # their errors never quote the value
PROVIDER_KEYS = frozenset({"base_url", "api_key_env", "model", "rpm", "tpm", "concurrency",
                           "max_concurrency", "structured_output"})
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The values in force, and where each came from (`default`, `config`, `env`, `flag`)."""

    home: Path
    hf_endpoint: str
    hf_page_size: int
    arxiv_api_url: str
    arxiv_delay: float
    arxiv_url: str
    fulltext_delay: float
    budget_tokens: int
    http_timeout: float
    http_retries: int
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
    paper_timeout: float
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        shown = {s.name: ("***" if s.secret and getattr(self, s.name) else getattr(self, s.name))
                 for s in SETTINGS}
        return f"Settings({shown})"

    @property
    def db_path(self) -> Path:
        """The SQLite store."""
        return self.home / "papergist.db"

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


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    unknown = sorted(set(data) - set(_BY_NAME) - {"home", "providers"})
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}; "
                          f"known: {', '.join(_BY_NAME)}, [providers.NAME]")
    _check_providers(data.get("providers", {}), path)
    return data


def _check_providers(providers: Any, path: Path) -> None:
    if not isinstance(providers, dict) or not all(isinstance(v, dict) for v in providers.values()):
        raise ConfigError(f"in {path}: providers must be tables, e.g. [providers.ollama]")
    for name, table in providers.items():
        unknown = sorted(set(table) - PROVIDER_KEYS)
        if unknown:
            raise ConfigError(f"unknown key(s) in [providers.{name}] of {path}: "
                              f"{', '.join(unknown)}; known: {', '.join(sorted(PROVIDER_KEYS))}")


def _convert(setting: Setting, raw: Any, origin: str) -> Any:
    """The setting's value from `raw`; a `ConfigError` naming the setting and what is
    wrong. A secret's value is never quoted (a webhook URL holds its token), and
    neither is a message that might quote it."""
    try:
        return setting.kind(str(raw))
    except ValueError as exc:
        where = {"env": setting.env, "flag": f"--{setting.name}"}.get(origin, f"{origin} file")
        if setting.secret:
            reason = str(exc) if setting.kind in _OWN_MESSAGES else "not a valid value"
            raise ConfigError(f"invalid {setting.name} ({where}): {reason} "
                              "(the value is secret, so it is not shown)") from None
        raise ConfigError(f"invalid {setting.name} ({where}): {raw!r}: {exc}") from None


def load_settings(overrides: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting: overrides > environment > config file > default."""
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    config = _read_config(config_path(env))
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for s in SETTINGS:
        if s.name in overrides:
            raw, origin = overrides[s.name], "flag"
        elif env.get(s.env):
            raw, origin = env[s.env], "env"
        elif s.name in config and s.name != "home":
            raw, origin = config[s.name], "config"
        else:
            raw, origin = (s.default() if callable(s.default) else s.default), "default"
        values[s.name], origins[s.name] = _convert(s, raw, origin), origin
    values["home"] = Path(values["home"]).expanduser()
    return Settings(**values, providers=config.get("providers", {}), origins=origins)
