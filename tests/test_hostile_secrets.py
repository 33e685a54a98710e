"""Secrets never printed: server messages echoing a key, settings with a typo."""

from __future__ import annotations

import asyncio
import string

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from conftest import local_env
from fakes import FakeServer, Reply
from papergist.errors import ConfigError, SourceRejected
from papergist.http import AsyncHttpClient, HttpClient
from papergist.redact import MASK, Redactor, token_fragments, url_fragments
from papergist.settings import SETTINGS, load_settings

KEY = "sk-proj-Q3vT9xLm2RkPz8WnYc4HbA"
SLACK = "https://hooks.slack.com/services/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"
DISCORD = ("https://discord.com/api/webhooks/112233445566778899/"
           "Zq9vLm2RkPz8WnYc4HbA7tUe-Fg_h1J2k3L4m5N6o7P8q9R0s1T2u3V4w5X6y7Z8")
TG = "123456789:AAHk3Lm9Qp2RsTuVwXyZ0aBcDeFgHiJkLmN"
SMTP = "correct horse battery staple"
SLACK_TOKEN = "xQ9vLm2RkPz8WnYc4HbA7tUe"


def env_with_secrets(tmp_path, **extra) -> dict[str, str]:
    return local_env(tmp_path, OPENAI_API_KEY=KEY, PAPERGIST_SLACK_WEBHOOK_URL=SLACK,
                     PAPERGIST_DISCORD_WEBHOOK_URL=DISCORD, PAPERGIST_TELEGRAM_BOT_TOKEN=TG,
                     PAPERGIST_SMTP_PASSWORD=SMTP, **extra)


@pytest.fixture
def redact(tmp_path) -> Redactor:
    env = env_with_secrets(tmp_path)
    return Redactor.from_settings(load_settings(env=env), env)


# --- what is masked -------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    (f"Invalid API key: Bearer {KEY}", f"Invalid API key: Bearer {MASK}"),
    (f"Incorrect API key provided: {KEY}.", f"Incorrect API key provided: {MASK}."),
    (f"POST {SLACK} failed", f"POST {MASK} failed"),
    (f"no such hook: {SLACK_TOKEN}", f"no such hook: {MASK}"),
    (f"/services/T0AB12CD3/B0EF45GH6/{SLACK_TOKEN}", f"/services/{MASK}/{MASK}/{MASK}"),
    (f"unknown webhook {DISCORD.rsplit('/', 1)[1]}", f"unknown webhook {MASK}"),
    (f"https://api.telegram.org/bot{TG}/sendMessage", f"https://api.telegram.org/bot{MASK}/sendMessage"),
    (f"token …{TG.split(':')[1]}", f"token …{MASK}"),
    (f"535 auth failed for password {SMTP!r}", f"535 auth failed for password '{MASK}'"),
    ("url=https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0AB12CD3%2FB0EF45GH6%2F" + SLACK_TOKEN,
     f"url={MASK}"),
    ("Authorization: Bearer some-other-token-123", f"Authorization: Bearer {MASK}"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", f"Authorization: Basic {MASK}"),
])
def test_each_secret_and_its_fragments_are_masked(redact, text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "HF Daily Papers refused the request (HTTP 404: Not Found)",
    "a basic approach; the bearer of bad news",
    "Discord webhooks and Slack services are fine words",
    "",
])
def test_ordinary_text_is_left_alone(redact, text):
    assert redact(text) == text


def test_provider_keys_and_short_secrets(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[providers.groq]\napi_key_env = "GROQ_KEY"\n', encoding="utf-8")
    env = local_env(tmp_path, PAPERGIST_CONFIG=str(config), GROQ_KEY="gsk_live_0123456789",
                    PAPERGIST_SMTP_PASSWORD="ab")
    redact = Redactor.from_settings(load_settings(env=env), env)
    assert redact("key gsk_live_0123456789 refused; ab") == f"key {MASK} refused; ab"
    assert repr(redact) == "Redactor(1 secrets)"  # its URL-encoded twin is the same text


def test_fragments():
    assert url_fragments(SLACK) == ["T0AB12CD3", "B0EF45GH6", SLACK_TOKEN]
    assert url_fragments(DISCORD) == ["112233445566778899", DISCORD.rsplit("/", 1)[1]]
    assert url_fragments("https://relay.example/hook?key=abcd1234efgh&x=1") == ["abcd1234efgh"]
    assert url_fragments("http://[::1") == []
    assert token_fragments(TG) == [TG.split(":")[1]] and token_fragments("nocolon") == []


def test_no_secret_no_pattern():
    redact = Redactor()
    assert redact("Bearer abcdefgh1") == f"Bearer {MASK}" and redact("plain") == "plain"


ALPHABET = string.ascii_letters + string.digits + "-_.:/%"


@hsettings(max_examples=200, deadline=None)
@given(secrets=st.lists(st.text(ALPHABET, min_size=4, max_size=40), min_size=1, max_size=4),
       pieces=st.lists(st.text(string.printable, max_size=30), min_size=1, max_size=5))
def test_no_secret_survives_anywhere(secrets, pieces):
    redact = Redactor(secrets)
    text = pieces[0] + "".join(s + p for s, p in zip(secrets * 2, pieces[1:] * 2))
    masked = redact(text)
    assert not [s for s in secrets if s in masked]
    assert redact(masked) == masked  # idempotent


# --- where it is applied here ---------------------------------------------------------


def test_a_401_echoing_the_key_is_masked_in_http_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeServer() as server:
        server.routes["/x"] = lambda req: Reply(401, f'{{"error": "Invalid API key: Bearer {KEY}"}}')
        settings = load_settings(env=env_with_secrets(tmp_path, arxiv_url=server.url))
        async def streamed() -> bytes:
            http = AsyncHttpClient(settings)
            try:
                return await http.get_bytes(f"{server.url}/x", what="T", max_bytes=100)
            finally:
                await http.aclose()
        with HttpClient(settings) as http:
            for call in (lambda: http.get(f"{server.url}/x", what="T"),
                         lambda: asyncio.run(streamed())):
                with pytest.raises(SourceRejected) as info:
                    call()
                assert str(info.value) == f"T refused the request (HTTP 401: Invalid API key: Bearer {MASK})"


# --- settings with a typo -------------------------------------------------------------


@pytest.mark.parametrize("name, env, value", [
    ("slack_webhook_url", "PAPERGIST_SLACK_WEBHOOK_URL", SLACK.removeprefix("https://")),
    ("discord_webhook_url", "PAPERGIST_DISCORD_WEBHOOK_URL", DISCORD.removeprefix("https://")),
])
def test_a_webhook_typo_names_the_setting_never_its_value(tmp_path, name, env, value):
    with pytest.raises(ConfigError) as info:
        load_settings(env=local_env(tmp_path, **{env: value}))
    message = str(info.value)
    assert message == (f"invalid {name} ({env}): must start with http:// or https:// "
                       "(the value is secret, so it is not shown)")
    fragments = url_fragments("https://" + value)
    assert len(fragments) >= 2 and not [f for f in fragments if f in message]


def test_a_secret_in_the_config_file_is_not_quoted_either(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'slack_webhook_url = "{SLACK.removeprefix("https://")}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(env=local_env(tmp_path, PAPERGIST_CONFIG=str(config)))
    assert "(config file)" in str(info.value) and SLACK_TOKEN not in str(info.value)


def test_every_secret_setting_is_masked_when_invalid(tmp_path):
    """Any secret setting whose check fails: the message never holds the value."""
    for s in (s for s in SETTINGS if s.secret):
        try:
            load_settings(env=local_env(tmp_path, **{s.env: "nohttp" + SLACK_TOKEN}))
        except ConfigError as exc:
            assert SLACK_TOKEN not in str(exc) and s.env in str(exc)


def test_a_non_secret_typo_still_shows_the_value(tmp_path):
    with pytest.raises(ConfigError, match=r"invalid hf_endpoint \(HF_ENDPOINT\): 'hf.co': must"):
        load_settings(env=local_env(tmp_path, HF_ENDPOINT="hf.co"))


def test_an_unrelated_command_fails_with_the_same_safe_message(cli, monkeypatch):
    """Settings are checked as a whole, so a cron `digest --publish` learns of a broken
    webhook before it builds anything; the message is the same safe one."""
    monkeypatch.setenv("PAPERGIST_SLACK_WEBHOOK_URL", SLACK.removeprefix("https://"))
    for args in (("digest", "2024-08-26"), ("settings",), ("publish", "2024-08-26", "--to", "slack")):
        code, out, err = cli(*args)
        assert (code, out) == (2, "")
        assert err == ("papergist: error: invalid slack_webhook_url (PAPERGIST_SLACK_WEBHOOK_URL): "
                       "must start with http:// or https:// (the value is secret, so it is not "
                       "shown)\n")
