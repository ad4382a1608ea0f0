"""Idempotency for cancels and modifies: each request may carry its own key, and a repeat
gets the stored answer instead of a second round of broker calls."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ordo_shared.errors import IdempotencyKeyInFlight, IdempotencyKeyReused
from ordo_shared.models import OrderActionReply
from ordod.storage.database import Database


def action_fingerprint(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused("idempotency key was used for a different request", field="idempotency_key")


class ActionStore:
    def __init__(self, db: Database, ttl_s: float) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._in_flight: dict[str, str] = {}  # key -> fingerprint

    async def begin(self, key: str, fingerprint: str, now: float) -> OrderActionReply | None:
        """Claim ``key``; returns the stored reply if this exact request already ran."""
        running = self._in_flight.get(key)
        if running is not None:
            if running != fingerprint:
                raise _reused()
            raise IdempotencyKeyInFlight("a request with this idempotency key is still running",
                                         field="idempotency_key")
        row = await self._db.fetchone(
            "SELECT fingerprint, reply_json FROM order_actions WHERE key = ? AND expires_at > ?", (key, now))
        if row is not None:
            if row[0] != fingerprint:
                raise _reused()
            stored = OrderActionReply.model_validate_json(row[1], strict=False)
            return stored.model_copy(update={"replayed": True})
        self._in_flight[key] = fingerprint
        return None

    async def finish(self, key: str, fingerprint: str, reply: OrderActionReply, now: float) -> None:
        try:
            await self._db.write([(
                "INSERT OR REPLACE INTO order_actions (key, action, order_ref, fingerprint, reply_json, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, reply.action, reply.order_ref, fingerprint, reply.model_dump_json(), now + self._ttl_s),
            )])
        finally:
            self._in_flight.pop(key, None)

    def abandon(self, key: str) -> None:
        """The request was refused before any broker call: the key may be used again."""
        self._in_flight.pop(key, None)
