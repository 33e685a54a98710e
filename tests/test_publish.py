"""Publishing: a real SMTP server (aiosmtpd) and fake webhooks on 127.0.0.1, exactly once."""

from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import sys
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

from conftest import local_env
from fakes import FakeServer, Reply

DAY = "2024-08-26"
SLACK_PATH = "/services/T000/B000/secret-slack-token"
TELEGRAM_TOKEN = "123456:secret-telegram-token"


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks it can connect to it)
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def hooks():
    with FakeServer() as server:
        server.routes[f"POST {SLACK_PATH}"] = lambda req: Reply(200, "ok")
        server.routes["POST /discord/hook"] = lambda req: Reply(204, "")
        server.routes[f"POST /bot{TELEGRAM_TOKEN}/sendMessage"] = lambda req: Reply(
            200, '{"ok": true, "result": {}}')
        yield server


@pytest.fixture
def channels_env(monkeypatch, smtp, hooks):
    env = {"PAPERGIST_SMTP_HOST": "127.0.0.1", "PAPERGIST_SMTP_PORT": str(smtp.port),
           "PAPERGIST_SMTP_TLS": "none", "PAPERGIST_EMAIL_FROM": "papergist@example.org",
           "PAPERGIST_EMAIL_TO": "reader@example.org",
           "PAPERGIST_SLACK_WEBHOOK_URL": hooks.url + SLACK_PATH,
           "PAPERGIST_DISCORD_WEBHOOK_URL": hooks.url + "/discord/hook",
           "PAPERGIST_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
           "PAPERGIST_TELEGRAM_CHAT_ID": "@papers",
           "PAPERGIST_TELEGRAM_API_URL": hooks.url,
           "PAPERGIST_SITE_URL": "https://papers.example.org"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def posts(hooks: FakeServer, path: str) -> list[dict]:
    return [json.loads(r.body) for r in hooks.requests if r.path == path and r.method == "POST"]


def test_publish_to_every_channel_then_never_twice(cli, smtp, hooks, channels_env):
    assert cli("digest", DAY, "-q")[0] == 0
    code, out, err = cli("publish", DAY, "--to", "email,slack,discord,telegram")
    assert code == 0, err
    assert err.count(": delivered") == 4
    [message] = smtp.messages
    assert message["To"] == "reader@example.org" and DAY in message["Subject"]
    assert message["Message-ID"].endswith("@example.org>") and message["Date"]
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds
    assert posts(hooks, SLACK_PATH)[0]["blocks"]
    assert posts(hooks, "/discord/hook")[0]["embeds"]
    assert all(r.query.get("wait") == "true" for r in hooks.requests if r.path == "/discord/hook")
    telegram = posts(hooks, f"/bot{TELEGRAM_TOKEN}/sendMessage")
    assert telegram[0]["parse_mode"] == "HTML" and telegram[0]["chat_id"] == "@papers"
    sent = len(hooks.requests)
    code, out, err = cli("publish", DAY, "--to", "email,slack,discord,telegram")
    assert code == 0 and err.count(": skipped") == 4
    assert len(smtp.messages) == 1 and len(hooks.requests) == sent


def test_secrets_never_appear(cli, smtp, hooks, channels_env, tmp_path):
    assert cli("digest", DAY, "-q")[0] == 0
    hooks.routes[f"POST {SLACK_PATH}"] = lambda req: Reply(403, "invalid_token")
    code, out, err = cli("publish", DAY, "--to", "slack,telegram")
    assert code == 7 and "slack" in err and "failed after 1 attempt(s)" in err
    code, settings_out, _ = cli("settings")
    for text in (out, err, settings_out, (tmp_path / "home" / "papergist.db").read_bytes().decode(
            "utf-8", "replace")):
        assert "secret-slack-token" not in text and "secret-telegram-token" not in text


def test_failures_are_retried_with_backoff_and_later_runs_retry_them(cli, smtp, hooks,
                                                                      channels_env):
    assert cli("digest", DAY, "-q")[0] == 0
    hooks.routes["POST /discord/hook"] = lambda req: Reply(503, "down")
    code, out, err = cli("publish", DAY, "--to", "email,discord")
    assert code == 7
    assert "email" in err and "delivered" in err
    assert "discord" in err and "failed after 3 attempt(s): discord: HTTP 503" in err
    hooks.routes["POST /discord/hook"] = lambda req: Reply(204, "")
    code, out, err = cli("publish", DAY, "--to", "email,discord")
    assert code == 0 and "skipped" in err and "delivered" in err
    assert len(smtp.messages) == 1 and len(posts(hooks, "/discord/hook")) == 3 + 2


def test_telegram_429_waits_for_its_retry_after(cli, smtp, hooks, channels_env):
    assert cli("digest", DAY, "-q")[0] == 0
    answers = [Reply(429, '{"ok": false, "parameters": {"retry_after": 0.2}}')]
    path = f"POST /bot{TELEGRAM_TOKEN}/sendMessage"
    hooks.routes[path] = lambda req: answers.pop() if answers else Reply(200, '{"ok": true}')
    code, out, err = cli("publish", DAY, "--to", "telegram")
    assert code == 0 and "delivered" in err
    times = [r.time for r in hooks.requests]
    assert times[1] - times[0] >= 0.19


def test_dry_run_sends_and_records_nothing(cli, smtp, hooks, channels_env):
    assert cli("digest", DAY, "-q")[0] == 0
    code, out, err = cli("publish", DAY, "--to", "email,slack", "--dry-run")
    assert code == 0 and err.count("dry-run") == 2 and "Daily Papers" in err
    assert smtp.messages == [] and hooks.requests == []
    code, out, err = cli("publish", DAY, "--to", "email,slack")
    assert err.count(": delivered") == 2


@pytest.mark.parametrize("args, message", [
    (("publish", DAY, "--to", "pigeon"), "unknown channel(s) pigeon"),
    (("publish", "2024-08-25", "--to", "email"), "no en digest stored for 2024-08-25"),
])
def test_publish_bad_input(cli, channels_env, args, message):
    code, out, err = cli(*args)
    assert code == 2 and message in err


def test_missing_settings_say_which(cli, monkeypatch):
    code, out, err = cli("publish", DAY, "--to", "email")
    assert code == 2
    assert "--to email needs smtp_host, email_from, email_to: set PAPERGIST_SMTP_HOST" in err


@pytest.mark.slow
def test_a_crash_mid_way_then_a_rerun_reports_the_unknown_and_sends_the_rest(
        tmp_path, fake_hf, arxiv, smtp, hooks, channels_env):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PAPERGIST_")},
           **local_env(tmp_path / "home", fake_hf.url, arxiv.url), **channels_env}
    run = [sys.executable, "-m", "papergist"]
    assert subprocess.run(run + ["digest", DAY, "-q"], env=env, capture_output=True).returncode == 0
    hooks.routes[f"POST {SLACK_PATH}"] = lambda req: Reply(200, "ok", delay=30)  # hangs
    proc = subprocess.Popen(run + ["publish", DAY, "--to", "email,slack,telegram"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not any(r.path == SLACK_PATH for r in hooks.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # the crash: email delivered, Slack in flight
    proc.wait(10)
    assert len(smtp.messages) == 1
    hooks.requests.clear()
    hooks.routes[f"POST {SLACK_PATH}"] = lambda req: Reply(200, "ok")
    done = subprocess.run(run + ["publish", DAY, "--to", "email,slack,telegram"], env=env,
                          capture_output=True, text=True, timeout=60)
    lines = done.stderr.splitlines()
    assert lines[0].startswith("email (") and lines[0].endswith(": skipped")
    assert lines[1].startswith("slack (") and ": unknown: " in lines[1] and "--resend" in lines[1]
    assert lines[2].startswith("telegram (") and lines[2].endswith(": delivered")
    assert len(smtp.messages) == 1 and posts(hooks, SLACK_PATH) == []
    assert len(posts(hooks, f"/bot{TELEGRAM_TOKEN}/sendMessage")) == 3
    assert done.returncode == 7  # an unknown outcome is not a success a cron may ignore
    again = subprocess.run(run + ["publish", DAY, "--to", "email,telegram"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stderr.count(": skipped") == 2
    forced = subprocess.run(run + ["publish", DAY, "--to", "slack", "--resend"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert forced.returncode == 0, forced.stderr
    assert forced.stderr.strip().endswith(": delivered") and len(posts(hooks, SLACK_PATH)) == 1


def test_digest_then_publish_in_one_run(cli, smtp, hooks, channels_env):
    code, out, err = cli("digest", DAY, "-o", "day.md", "--publish", "email,slack")
    assert code == 0, err
    assert len(smtp.messages) == 1 and posts(hooks, SLACK_PATH)
    code, out, err = cli("digest", DAY, "-o", "day.md", "--publish", "email,slack")
    assert code == 0 and err.count("skipped") == 2 and len(smtp.messages) == 1
