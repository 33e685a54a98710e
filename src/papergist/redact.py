"""Masking secrets in any text before it is printed, logged or stored.

A server may echo what it was sent ("Invalid API key: Bearer sk-..."), an
exception may quote a URL, a delivery error may name its webhook. `Redactor`
knows every secret the settings hold and masks each, and its obvious pieces,
wherever it appears:

* API keys: the value of `OPENAI_API_KEY` and of every provider's `api_key_env`;
* webhook URLs (Slack, Discord): the whole URL, and each token in its path and
  query (`/services/T…/B…/<token>`, `/api/webhooks/<id>/<token>`);
* the SMTP password;
* the Telegram bot token, and its secret part after the colon;
* each of these also URL-encoded, as a server may quote them that way;
* a credential after `Bearer ` or `Basic `, configured or not.

Secrets shorter than `MIN_SECRET` characters are not masked: masking every
"ab" in a text would garble it and hide nothing worth hiding.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlsplit

MASK = "***"
MIN_SECRET = 4
MIN_FRAGMENT = 8  # a URL path segment this long (not a plain word) is taken for a token
# A credential after "Bearer"/"Basic": 8+ characters with a digit or a symbol, so
# "a basic approach" is left alone.
_AUTH = re.compile(r"(?i)\b(bearer|basic)(\s+)(?=[^\s\"',;)\]}]*[\d=+/_.~-])"
                   r"[^\s\"',;)\]}]{8,}")
_WORD = re.compile(r"[a-z]+(?:[-_][a-z]+)*")  # "webhooks", "send-message": not a token


def url_fragments(url: str) -> list[str]:
    """The pieces of a secret URL that are tokens: long path segments and query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    pieces = parts.path.split("/") + [v for pair in parts.query.split("&")
                                      for v in pair.split("=", 1)[1:]]
    return [p for p in pieces if len(p) >= MIN_FRAGMENT and not _WORD.fullmatch(p)]


def token_fragments(token: str) -> list[str]:
    """The secret part of a `<bot id>:<secret>` token (Telegram's shape)."""
    _, colon, secret = token.partition(":")
    return [secret] if colon and len(secret) >= MIN_FRAGMENT else []


class Redactor:
    """Masks a fixed set of secrets (and any Bearer/Basic credential) in text."""

    def __init__(self, secrets: Iterable[str] = ()):
        found = {s for s in secrets if s and len(s) >= MIN_SECRET}
        found |= {quote(s, safe="") for s in found}
        self.secrets = tuple(sorted(found, key=len, reverse=True))  # longest first
        self._pattern = re.compile("|".join(map(re.escape, self.secrets))) if found else None

    @classmethod
    def from_settings(cls, settings: Any, env: Mapping[str, str] | None = None) -> "Redactor":
        """Every secret `settings` (a `Settings`) and the API key variables hold."""
        env = os.environ if env is None else env
        key_envs = {"OPENAI_API_KEY"} | {str(p.get("api_key_env")) for p in
                                          settings.providers.values() if p.get("api_key_env")}
        secrets = [env.get(name, "") for name in sorted(key_envs)]
        for url in (settings.slack_webhook_url, settings.discord_webhook_url):
            secrets += [url, *url_fragments(url)] if url else []
        token = settings.telegram_bot_token
        secrets += [settings.smtp_password, token, *token_fragments(token)]
        return cls(secrets)

    def __call__(self, text: str) -> str:
        """`text` with every secret replaced by `***`."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _AUTH.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"
