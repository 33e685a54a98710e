"""Who may send a delivery now: claims, their owners, and claims left by a dead process.

Before sending to a destination, a publisher claims it in one write transaction
(status `sending`, an owner token, the time). Another publisher that finds the
claim skips the destination ("in progress elsewhere").

A claim is *abandoned* -- left by a process that was killed or lost its machine --
when either

* its owner ran on this host and that process id is no longer alive, or
* it was not refreshed for `LEASE` (the sender refreshes it after every message
  the destination accepts; a live sender on another host never goes that long).

What an abandoned claim sent is unknown: the messages recorded as accepted
arrived, but the one in flight may or may not have. Such a delivery is reported
as `unknown` and is resumed only when asked (`publish(..., resend=True)`,
`papergist publish --resend`), from the first message not recorded as accepted.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

LEASE = timedelta(minutes=10)


def owner_token() -> str:
    """A token naming this process: host, pid and a random part (never reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def abandoned(owner: str | None, claimed_at: str | None, now: datetime,
              lease: timedelta = LEASE) -> bool:
    """True when a `sending` claim was left by a process that is gone (see the module doc)."""
    if not owner or not claimed_at:
        return True
    if now - datetime.fromisoformat(claimed_at) > lease:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))


@dataclass(frozen=True)
class Decision:
    """What to do with one destination: send | skipped | in-progress | unknown.

    `base` is the digest version the destination already has (an update is sent
    relative to it); `message` says why a destination is not sent to.
    """

    action: str
    base: str | None = None
    message: str | None = None


def decide(row: dict[str, Any] | None, version: str, *, now: datetime, resend: bool = False,
           if_changed: bool = False, lease: timedelta = LEASE) -> Decision:
    """Whether to send `version` to a destination whose delivery row is `row`."""
    if row is None:
        return Decision("send")
    if row["status"] == "sending":
        return _claimed(row, now, resend, lease)
    if row["version"] == version:
        return Decision("skipped")
    if row["status"] == "delivered":
        if row["version"] is None:
            return Decision("skipped", message="delivered before digest versions were recorded")
        if not if_changed:
            return Decision("skipped", message="delivered an earlier version of this digest; "
                            "publish with --if-changed (if_changed=True) to send what changed")
    return Decision("send", base=row["version"])


def _claimed(row: dict[str, Any], now: datetime, resend: bool, lease: timedelta) -> Decision:
    host, _, rest = (row["owner"] or "").partition(":")
    if not abandoned(row["owner"], row["claimed_at"], now, lease):
        return Decision("in-progress", message=f"in progress elsewhere: being sent by process "
                        f"{rest.partition(':')[0]} on {host} (claimed {row['claimed_at']})")
    if resend:
        return Decision("send", base=row["version"])
    return Decision("unknown", message=(
        f"unknown: a publish that started sending at {row['claimed_at']} stopped before it "
        "finished (killed?); the messages it recorded arrived, the one it was sending may or "
        "may not have. Check the channel, then run publish again with --resend "
        "(resend=True) to send the rest"))


def claim_values(version: str, owner: str, now: datetime) -> dict[str, Any]:
    """The columns a claim writes."""
    return {"status": "sending", "owner": owner, "claimed_at": now.isoformat(timespec="seconds"),
            "sending_version": version}
