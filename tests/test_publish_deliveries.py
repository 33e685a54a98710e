"""Deliveries message by message: resuming after a failure or a crash, claims, races.

Fake chat webhooks on 127.0.0.1 keep every message they accepted; each test
asserts the exact sequence of the digest's messages a channel got.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import local_env
from digests import fixture_digest, fixture_items
from fakes import FakeServer, Reply
from papergist.deliver.claims import abandoned, claim_values, owner_token
from papergist.deliver.targets import Plan
from papergist.deliver.updates import digest_version
from papergist.models import Digest
from papergist.publish import Delivery, publish, targets
from papergist.settings import Settings, load_settings
from papergist.store import Store
from papergist.store.deliveries import DeliveryKey

DAY = "2024-08-26"
SLACK = "/services/T000/B000/secret-slack-token"
DISCORD = "/discord/hook"
TELEGRAM_TOKEN = "123456:secret-telegram-token"
TELEGRAM = f"/bot{TELEGRAM_TOKEN}/sendMessage"
OK = {SLACK: Reply(200, "ok"), DISCORD: Reply(204, ""),
      TELEGRAM: Reply(200, '{"ok": true, "result": {}}')}
PATHS = {"slack": SLACK, "discord": DISCORD, "telegram": TELEGRAM}
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _canonical(body: object) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


class Channel:
    """One fake chat webhook: accepts messages, or fails or holds chosen ones."""

    def __init__(self, path: str):
        self.ok = OK[path]
        self.accepted: list[object] = []
        self.received: list[object] = []
        self.fail: dict[str, list[Reply]] = {}
        self.hold_body: str | None = None
        self.held, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()

    def fail_once(self, body: object, status: int) -> None:
        """Answer `status` the first time `body` arrives."""
        self.fail[_canonical(body)] = [Reply(status, "error")]

    def hold(self, body: object) -> None:
        """Block on `body` until `release` is set, then answer 503 (never accepted)."""
        self.hold_body = _canonical(body)

    def __call__(self, req) -> Reply:
        body = req.json()
        key = _canonical(body)
        with self.lock:
            self.received.append(body)
            queued = self.fail.get(key)
            if queued:
                return queued.pop(0)
        if key == self.hold_body:
            self.held.set()
            self.release.wait(30)
            return Reply(503, "gone")
        with self.lock:
            self.accepted.append(body)
        return self.ok


@pytest.fixture
def hooks():
    with FakeServer() as server:
        server.channels = {name: Channel(path) for name, path in PATHS.items()}
        for name, path in PATHS.items():
            server.routes[f"POST {path}"] = server.channels[name]
        yield server
        for channel in server.channels.values():
            channel.release.set()


@pytest.fixture
def env(tmp_path, hooks) -> dict[str, str]:
    return {**local_env(tmp_path / "home"),
            "PAPERGIST_SLACK_WEBHOOK_URL": hooks.url + SLACK,
            "PAPERGIST_DISCORD_WEBHOOK_URL": hooks.url + DISCORD,
            "PAPERGIST_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "PAPERGIST_TELEGRAM_CHAT_ID": "@papers",
            "PAPERGIST_TELEGRAM_API_URL": hooks.url,
            "PAPERGIST_SITE_URL": "https://papers.example.org"}


@pytest.fixture
def settings(env) -> Settings:
    return load_settings(env=env)


@pytest.fixture
def store(settings):
    opened = Store.open(settings.db_path)
    yield opened
    opened.close()


def big_digest(n: int = 50) -> Digest:
    """A digest of `n` real papers (Slack needs 4 messages for 50)."""
    seen, items = set(), []
    for day in ("2025-10-15", "2024-10-25", "2024-08-23", "2024-08-21"):
        for item in fixture_items(day):
            if item.paper.id not in seen:
                seen.add(item.paper.id)
                items.append(item.model_copy(update={"rank": len(items) + 1}))
    return Digest(date=date.fromisoformat(DAY), items=tuple(items[:n]))


def expected(settings: Settings, channel: str, digest: Digest) -> list[object]:
    """The messages `channel` should get for a first delivery of `digest`."""
    [target] = targets(settings, [channel])
    key = DeliveryKey(digest.date, "en", channel, target.destination)
    return target.parts(digest, Plan(key, digest_version(digest)))


def order(got: list[object], messages: list[object]) -> list[int]:
    """Which of `messages` (1-based) arrived, in arrival order."""
    canon = [_canonical(m) for m in messages]
    return [canon.index(_canonical(b)) + 1 for b in got]


def run(settings: Settings, store: Store, digest: Digest, channels: list[str],
        **options) -> list[Delivery]:
    options.setdefault("sleep", lambda seconds: None)
    return publish(digest, "en", targets(settings, channels), store, backoff=0, **options)


# --- a retry resumes at the message that failed ------------------------------------


@pytest.mark.parametrize("channel, digest_day, status", [
    ("telegram", "2024-08-21", 503),  # 4 messages: part 3 answers 503 once
    ("discord", "2024-10-25", 502),
    ("slack", None, 500),  # 50 papers, 4 messages
])
def test_a_failed_message_is_retried_without_resending_the_ones_before(
        settings, store, hooks, channel, digest_day, status):
    digest = fixture_digest(digest_day) if digest_day else big_digest()
    messages = expected(settings, channel, digest)
    assert len(messages) == 4
    failing = 2 if channel == "slack" else 3
    hooks.channels[channel].fail_once(messages[failing - 1], status)
    [result] = run(settings, store, digest, [channel])
    assert (result.status, result.attempts, result.parts) == ("delivered", 2, 4)
    assert order(hooks.channels[channel].accepted, messages) == [1, 2, 3, 4]
    assert order(hooks.channels[channel].received, messages) == \
        [*range(1, failing + 1), *range(failing, 5)]


def test_a_failed_run_then_a_later_run_sends_only_the_rest(settings, store, hooks):
    digest = fixture_digest("2024-08-21")
    messages = expected(settings, "telegram", digest)
    tg = hooks.channels["telegram"]
    tg.fail[_canonical(messages[2])] = [Reply(503, "down")] * 3
    [first] = run(settings, store, digest, ["telegram"])
    assert (first.status, first.attempts, first.parts) == ("failed", 3, 2)
    assert "telegram: HTTP 503" in first.error
    [second] = run(settings, store, digest, ["telegram"])
    assert (second.status, second.attempts, second.parts) == ("delivered", 4, 2)
    assert order(tg.accepted, messages) == [1, 2, 3, 4]
    [third] = run(settings, store, digest, ["telegram"])
    assert third.status == "skipped" and order(tg.accepted, messages) == [1, 2, 3, 4]


def test_the_store_records_each_accepted_message_and_the_version(settings, store, hooks):
    digest = fixture_digest("2024-08-21")
    [result] = run(settings, store, digest, ["telegram"])
    key = DeliveryKey(digest.date, "en", "telegram", "chat @papers")
    assert store.sent_parts(key, digest_version(digest)) == {0, 1, 2, 3}
    row = store.delivery(digest.date, "en", "telegram", "chat @papers")
    assert (row["status"], row["version"], row["owner"]) == ("delivered", result.version, None)
    assert result.version == digest_version(digest)


# --- claims ------------------------------------------------------------------------


def _claim(store: Store, settings: Settings, channel: str, owner: str, at: datetime,
           digest: Digest) -> None:
    [target] = targets(settings, [channel])
    key = DeliveryKey(digest.date, "en", channel, target.destination)
    store.claim_delivery(key, lambda row: claim_values(digest_version(digest), owner, at))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_claim_by_a_live_process_is_in_progress_elsewhere(settings, store, hooks):
    digest = fixture_digest(DAY)
    _claim(store, settings, "telegram", owner_token(), T0, digest)
    [result] = run(settings, store, digest, ["telegram"], clock=lambda: T0 + timedelta(minutes=1))
    assert result.status == "in-progress"
    assert result.error.startswith(f"in progress elsewhere: being sent by process {os.getpid()}")
    assert hooks.requests == []


def test_a_claim_left_by_a_killed_process_is_unknown_until_resend(settings, store, hooks):
    digest = fixture_digest(DAY)
    messages = expected(settings, "telegram", digest)
    owner = f"{socket.gethostname()}:{_dead_pid()}:0000"
    _claim(store, settings, "telegram", owner, T0, digest)
    key = DeliveryKey(digest.date, "en", "telegram", "chat @papers")
    store.record_part(key, digest_version(digest), 0, owner)  # it got message 1 out
    clock = lambda: T0 + timedelta(seconds=30)  # noqa: E731 (well within the lease)
    [result] = run(settings, store, digest, ["telegram"], clock=clock)
    assert result.status == "unknown"
    assert "may or may not have" in result.error and "--resend" in result.error
    assert hooks.requests == []
    [again] = run(settings, store, digest, ["telegram"], clock=clock, dry_run=True)
    assert again.status == "unknown" and hooks.requests == []
    [resent] = run(settings, store, digest, ["telegram"], clock=clock, resend=True)
    assert (resent.status, resent.parts) == ("delivered", len(messages) - 1)
    assert order(hooks.channels["telegram"].accepted, messages) == list(range(2, len(messages) + 1))


def test_a_claim_from_another_host_is_abandoned_after_the_lease(settings, store, hooks):
    digest = fixture_digest(DAY)
    _claim(store, settings, "telegram", "other-host:1:abcd", T0, digest)
    [early] = run(settings, store, digest, ["telegram"], clock=lambda: T0 + timedelta(minutes=9))
    [late] = run(settings, store, digest, ["telegram"], clock=lambda: T0 + timedelta(minutes=11))
    assert (early.status, late.status) == ("in-progress", "unknown")
    assert hooks.requests == []


def test_abandoned_claims():
    me = f"{socket.gethostname()}:{os.getpid()}:ab12"
    stamp = T0.isoformat()
    assert not abandoned(me, stamp, T0 + timedelta(minutes=9))
    assert abandoned(me, stamp, T0 + timedelta(minutes=10, seconds=1))
    assert abandoned(f"{socket.gethostname()}:{_dead_pid()}:ab12", stamp, T0)
    assert not abandoned("elsewhere:1:ab12", stamp, T0 + timedelta(minutes=10))
    assert abandoned(None, None, T0)


# --- real processes: a SIGKILL mid-way, and two publishers at once ------------------

WORKER = """
import json, sys
from dataclasses import asdict
from datetime import date
from papergist.publish import publish, targets
from papergist.settings import load_settings
from papergist.store import Store
settings = load_settings()
store = Store.open(settings.db_path)
digest = store.load_digest(date.fromisoformat(sys.argv[1]), settings.language)
found = targets(settings, sys.argv[2].split(","))
for r in publish(digest, settings.language, found, store, backoff=0,
                 resend="--resend" in sys.argv):
    print(json.dumps(asdict(r)), flush=True)
"""


def _process_env(env: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PAPERGIST_")}, **env}


def worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`publish DAY CHANNELS [--resend]` in a process of its own."""
    return subprocess.Popen([sys.executable, "-c", WORKER, DAY, *args], env=_process_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def results(proc: subprocess.Popen) -> list[Delivery]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return [Delivery(**json.loads(line)) for line in out.splitlines()]


@pytest.mark.slow
def test_sigkill_after_two_of_four_messages_then_a_resend_sends_3_and_4(
        env, settings, store, hooks):
    digest = big_digest()
    store.save_digest(digest, "en")
    messages = expected(settings, "slack", digest)
    slack = hooks.channels["slack"]
    slack.hold(messages[2])
    proc = worker(env, "slack")
    assert slack.held.wait(30), proc.stderr.read() if proc.poll() is not None else "no message 3"
    proc.send_signal(signal.SIGKILL)  # messages 1 and 2 accepted, 3 in flight
    proc.wait(10)
    slack.release.set()
    assert order(slack.accepted, messages) == [1, 2]
    slack.hold_body = None
    [unknown] = results(worker(env, "slack"))
    assert unknown.status == "unknown" and "--resend" in unknown.error
    assert order(slack.accepted, messages) == [1, 2]
    [resent] = results(worker(env, "slack", "--resend"))
    assert (resent.status, resent.parts) == ("delivered", 2)
    assert order(slack.accepted, messages) == [1, 2, 3, 4]
    [again] = results(worker(env, "slack", "--resend"))
    assert again.status == "skipped" and len(slack.accepted) == 4


@pytest.mark.slow
def test_two_publishers_at_once_send_each_message_once(env, settings, store, hooks):
    digest = big_digest()
    store.save_digest(digest, "en")
    slack_messages = expected(settings, "slack", digest)
    telegram_messages = expected(settings, "telegram", digest)
    for path in (SLACK, TELEGRAM):
        channel = hooks.routes[f"POST {path}"]
        channel.ok = Reply(channel.ok.status, channel.ok.body, delay=0.2)
    first, second = worker(env, "slack,telegram"), worker(env, "telegram,slack")
    outcomes = results(first) + results(second)
    assert order(hooks.channels["slack"].accepted, slack_messages) == [1, 2, 3, 4]
    assert order(hooks.channels["telegram"].accepted, telegram_messages) == \
        list(range(1, len(telegram_messages) + 1))
    for channel in ("slack", "telegram"):
        statuses = sorted(r.status for r in outcomes if r.channel == channel)
        assert len(statuses) == 2  # one result per publisher: one delivered, exactly one
        assert statuses[0] == "delivered" and statuses[1] in ("in-progress", "skipped")


def test_secrets_never_reach_the_store(settings, store, hooks, tmp_path):
    digest = fixture_digest(DAY)
    hooks.routes[f"POST {SLACK}"] = lambda req: Reply(403, "invalid_token")
    results_ = run(settings, store, digest, ["slack", "telegram"])
    assert [r.status for r in results_] == ["failed", "delivered"]
    files = Path(settings.db_path).parent.glob("papergist.db*")  # with the WAL
    text = "".join(f.read_bytes().decode("utf-8", "replace") for f in files)
    text += "".join(json.dumps(asdict(r)) for r in results_)
    assert "secret-slack-token" not in text and "secret-telegram-token" not in text
