"""The deliveries part of the store: claims, per-message progress, digest versions.

One row of `deliveries` per (day, language, channel, destination) says where that
delivery stands: `sending` (claimed by `owner` at `claimed_at`, refreshed after
each message), `delivered` (`version` is the digest version it carries) or
`failed`. `delivery_parts` records each message of a version once the
destination accepted it, so a retry, or a re-run after a crash, resumes at the
first message not yet accepted. `digest_versions` keeps each version's body, so
a later version can say what changed since the one a destination got.

Mixed into `Store`; the decision whether to claim is the caller's (a function of
the current row), made while this module holds the write lock, so two
publishers never both claim one destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable

import sqlalchemy as sa

from papergist.models import Digest
from papergist.store import bodies



@dataclass(frozen=True)
class DeliveryKey:
    """One destination of one digest; `destination` is redacted, never a secret.

    `day` names the digest: a day (a `date` or "2024-08-26"), or its
    `Digest.delivery_label` ("2024-W34", "2024-08", "arxiv:2024-08-26"), kept in
    the `day` column as it is.
    """

    day: date | str
    language: str
    channel: str
    destination: str

    @property
    def label(self) -> str:
        """The digest's name as stored: "2024-08-26", "2024-W34" or "2024-08"."""
        return self.day if isinstance(self.day, str) else self.day.isoformat()

    def where(self, table: sa.Table) -> list[Any]:
        """SQL conditions selecting this key's rows of `table`."""
        return [table.c.day == self.label, table.c.language == self.language,
                table.c.channel == self.channel, table.c.destination == self.destination]

    def row(self) -> dict[str, str]:
        """The key as column values."""
        return {"day": self.label, "language": self.language,
                "channel": self.channel, "destination": self.destination}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class DeliveriesMixin:
    """Delivery records of `Store` (which provides `engine`, `t`, `_upsert`, `_read`
    and `_write`: every method raises `StoreError`, as the store's own do)."""

    engine: sa.Engine
    t: Any
    _upsert: Callable[..., None]
    _read: Callable[..., Any]
    _write: Callable[..., Any]

    def delivery(self, day: date | str, language: str, channel: str,
                 destination: str) -> dict[str, Any] | None:
        """The recorded delivery of a digest (a day, or a week's or month's label) to one
        destination, if any."""
        key = DeliveryKey(day, language, channel, destination)
        return self._read(self._delivery_row, key)

    def _delivery_row(self, conn: sa.Connection, key: DeliveryKey) -> dict[str, Any] | None:
        d = self.t["deliveries"]
        row = conn.execute(sa.select(d).where(*key.where(d))).mappings().first()
        return dict(row) if row else None

    def claim_delivery(self, key: DeliveryKey,
                       decide: Callable[[dict[str, Any] | None], dict[str, Any] | None]
                       ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Read the delivery row and, in the same write transaction, write `decide(row)`.

        `decide` gets the current row (or None) and returns the column values of the
        claim to write, or None to leave the row as it is. Returns (row before, claim).
        """
        def run(conn: sa.Connection) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
            row = self._delivery_row(conn, key)
            claim = decide(row)
            if claim is not None:
                values = {"attempts": 0, "error": None, **(row or {}), **claim,
                          **key.row(), "updated_at": _now()}
                self._upsert(conn, self.t["deliveries"], [values], list(key.row()))
            return row, claim
        return self._write(run)

    def finish_delivery(self, key: DeliveryKey, owner: str, **values: Any) -> None:
        """Set `values` (status, attempts, error, version...) on a delivery `owner` claimed."""
        d = self.t["deliveries"]
        values = {**values, "owner": None, "updated_at": _now()}
        self._write(lambda conn: conn.execute(
            d.update().where(*key.where(d), d.c.owner == owner).values(**values)))

    def record_part(self, key: DeliveryKey, version: str, part: int, owner: str,
                    now: str | None = None) -> None:
        """Record that message `part` of `version` was accepted; refresh the claim's time."""
        p, d = self.t["delivery_parts"], self.t["deliveries"]
        stamp = now or _now()

        def run(conn: sa.Connection) -> None:
            self._upsert(conn, p, [{**key.row(), "version": version, "part": part,
                                    "sent_at": _now()}], [*key.row(), "version", "part"])
            conn.execute(d.update().where(*key.where(d), d.c.owner == owner)
                         .values(claimed_at=stamp))
        self._write(run)

    def sent_parts(self, key: DeliveryKey, version: str) -> set[int]:
        """The messages of `version` the destination already accepted (0-based)."""
        p = self.t["delivery_parts"]
        query = sa.select(p.c.part).where(*key.where(p), p.c.version == version)
        return self._read(lambda conn: set(conn.execute(query).scalars()))

    def save_digest_version(self, version: str, digest: Digest) -> None:
        """Keep the body of a digest version a delivery carries (once per version)."""
        row = {"version": version, "body": bodies.dump_digest(digest), "saved_at": _now()}
        self._write(lambda conn: self._upsert(conn, self.t["digest_versions"], [row],
                                               ["version"]))

    def digest_version(self, version: str) -> Digest | None:
        """The digest of a version a delivery carried, if it was kept."""
        v = self.t["digest_versions"]
        query = sa.select(v.c.body).where(v.c.version == version)
        body = self._read(lambda conn: conn.execute(query).scalar())
        return self._read(lambda conn: bodies.load_digest(body)) if body else None
