"""The idempotency store, with Stripe's semantics.

A key is reserved durably before any broker sees the order. The same key with the same
payload later gets the stored reply; while the first is running, ``IDEMPOTENCY_KEY_IN_FLIGHT``;
with another payload, ``IDEMPOTENCY_KEY_REUSED``. Keys expire after a TTL.

The SQLite store keeps the keys of orders still being placed in memory, so that the decision
for a concurrent duplicate never waits for the disk, and only a hint for each completed order:
a repeat of one of those is rare, and is answered from the database in one read. The daemon
holds a lock on its state directory, so memory and the database cannot disagree. A shared backend (PostgreSQL for
several daemons) would implement the same interface with ``INSERT ... ON CONFLICT``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from ordo_shared.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, InternalError
from ordo_shared.models import BrokerResult, OrderRecord, OrderSpec, OverallStatus, PlaceOrderReply
from ordod.storage.database import Database
from ordod.tracking import track_statements

STATUS_HTTP: dict[OverallStatus, int] = {"success": 200, "partial_success": 207, "failed": 502}


def overall_status(results: list[BrokerResult]) -> OverallStatus:
    placed = sum(1 for r in results if r.status == "success")
    if placed == len(results) and placed > 0:
        return "success"
    return "partial_success" if placed else "failed"


def unified_reply(order_ref: str, key: str, results: list[BrokerResult]) -> PlaceOrderReply:
    """One answer for the whole fan-out: success, partial_success (207) or failed (502)."""
    status = overall_status(results)
    return PlaceOrderReply(
        status=status, http_status=STATUS_HTTP[status], order_ref=order_ref, idempotency_key=key, results=results
    )


def rebuild_reply(reply: PlaceOrderReply, results: list[BrokerResult]) -> PlaceOrderReply:
    return unified_reply(reply.order_ref, reply.idempotency_key, results)


# json.dumps with these options builds an encoder for every call; this one is built once and
# writes the same text, so stored fingerprints never change.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def fingerprint(order: OrderSpec) -> str:
    """Same payload means same fingerprint, whatever the key order or defaults spelled out."""
    canonical = _CANONICAL.encode(order.model_dump(mode="json"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@lru_cache(maxsize=64)
def _brokers_json(brokers: tuple[str, ...]) -> str:
    # A desk routes to a handful of broker sets: encode each once, not once an order.
    return json.dumps(list(brokers))


@dataclass(frozen=True)
class Reserved:
    order_ref: str


@dataclass(frozen=True)
class Replayed:
    reply: PlaceOrderReply


@dataclass(frozen=True)
class Unresolved:
    """A broker whose outcome for an order is unknown; reconciliation keeps asking it."""

    order_ref: str
    idempotency_key: str
    broker_id: str
    order: OrderSpec


@dataclass(frozen=True)
class InFlightRecord:
    """An order a previous process left mid-flight; recovery decides what became of it."""

    order_ref: str
    idempotency_key: str
    brokers: list[str]
    order: OrderSpec


class IdempotencyStore(Protocol):
    async def start(self, now: float) -> None: ...

    async def reserve(
        self, key: str, order: OrderSpec, brokers: list[str], order_ref: str, principal: str, now: float
    ) -> Reserved | Replayed:
        """Raises IdempotencyKeyInFlight, IdempotencyKeyReused or StorageUnavailable."""
        ...

    async def complete(self, key: str, order: OrderSpec, reply: PlaceOrderReply, now: float) -> None:
        """Store the outcome, start tracking what the brokers accepted, and keep the brokers
        that answered OUTCOME_UNKNOWN for reconciliation: all in one transaction."""
        ...

    async def unresolved(self) -> list[Unresolved]: ...

    async def resolve(self, order_ref: str, result: BrokerResult, now: float) -> PlaceOrderReply:
        """Replace one broker's unknown outcome with what reconciliation learnt."""
        ...

    async def release(self, key: str, order_ref: str) -> None: ...

    async def get(self, *, order_ref: str | None = None, key: str | None = None) -> OrderRecord | None: ...

    async def recent(self, limit: int) -> list[OrderRecord]: ...

    async def in_flight(self) -> list[InFlightRecord]: ...

    def in_flight_count(self) -> int: ...

    async def purge_expired(self, now: float) -> int:
        """Forget keys past their TTL (their orders stay); returns how many."""
        ...


# A key whose order is being placed: (order_ref, fingerprint digest, expires_at). A plain tuple
# of plain values: CPython's collector stops tracking such tuples (and then their dict), so
# keys add nothing to full collections.
_Claim = tuple[str, bytes, float]


_SELECT_ORDERS = (
    "SELECT order_ref, idempotency_key, state, created_at, completed_at, order_json, reply_json FROM orders "
)


class SqliteIdempotencyStore:
    def __init__(self, db: Database, ttl_s: float) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._claims: dict[str, _Claim] = {}
        # hash() of each key bound to a completed order: ~60 bytes a key, not the whole binding.
        # Only a hint that the database has something to say: a repeat (or, once in 2**64, a
        # key of the same hash) is answered from the stored row, which also knows about expiry.
        self._completed: set[int] = set()
        self._fresh: set[int] | None = None  # hints given while purge_expired rebuilds the set

    async def start(self, now: float) -> None:
        await self._db.write([("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,))])
        rows = await self._db.fetchall(
            "SELECT k.key, k.order_ref, k.fingerprint, k.expires_at, o.state FROM idempotency_keys k "
            "JOIN orders o ON o.order_ref = k.order_ref"
        )
        self._claims = {row[0]: (row[1], bytes.fromhex(row[2]), row[3]) for row in rows if row[4] != "completed"}
        self._completed = {hash(row[0]) for row in rows if row[4] == "completed"}

    async def reserve(
        self, key: str, order: OrderSpec, brokers: list[str], order_ref: str, principal: str, now: float
    ) -> Reserved | Replayed:
        fp = fingerprint(order)
        digest = bytes.fromhex(fp)
        self._refuse_if_claimed(key, digest, now)
        if hash(key) in self._completed:
            replayed = await self._replay(key, digest, now)
            if replayed is not None:
                return replayed
            # Expired (or another key's hash): the key is free, unless someone took it meanwhile.
            # The hint stays: removing it could hide a colliding key's live binding.
            self._refuse_if_claimed(key, digest, now)
        # Claim the key in memory before the first await, so a concurrent duplicate sees it.
        self._claims[key] = (order_ref, digest, now + self._ttl_s)
        try:
            await self._db.write(
                [
                    (
                        "INSERT INTO orders (order_ref, idempotency_key, fingerprint, state, principal, brokers_json,"
                        " order_json, created_at) VALUES (?, ?, ?, 'in_flight', ?, ?, ?, ?)",
                        (order_ref, key, fp, principal, _brokers_json(tuple(brokers)), order.model_dump_json(), now),
                    ),
                    (
                        # REPLACE: an expired binding of the same key gives way to this one.
                        "INSERT OR REPLACE INTO idempotency_keys (key, order_ref, fingerprint, expires_at)"
                        " VALUES (?, ?, ?, ?)",
                        (key, order_ref, fp, now + self._ttl_s),
                    ),
                ]
            )
        except BaseException:
            self._unclaim(key, order_ref)
            raise
        return Reserved(order_ref)

    async def complete(self, key: str, order: OrderSpec, reply: PlaceOrderReply, now: float) -> None:
        unknown = [
            ("INSERT OR IGNORE INTO unresolved (order_ref, broker_id, since) VALUES (?, ?, ?)",
             (reply.order_ref, r.broker_id, now))
            for r in reply.results
            if r.error_code == "OUTCOME_UNKNOWN"
        ]
        await self._db.write(
            [
                (
                    "UPDATE orders SET state = 'completed', reply_json = ?, completed_at = ? WHERE order_ref = ?",
                    (reply.model_dump_json(), now, reply.order_ref),
                ),
                *track_statements(reply.order_ref, order, reply.results, now),
                *unknown,
            ]
        )
        if self._unclaim(key, reply.order_ref):
            self._hint(key)

    async def unresolved(self) -> list[Unresolved]:
        rows = await self._db.fetchall(
            "SELECT u.order_ref, o.idempotency_key, u.broker_id, o.order_json FROM unresolved u "
            "JOIN orders o ON o.order_ref = u.order_ref ORDER BY u.since"
        )
        return [
            Unresolved(row[0], row[1], row[2], OrderSpec.model_validate_json(row[3], strict=False)) for row in rows
        ]

    async def resolve(self, order_ref: str, result: BrokerResult, now: float) -> PlaceOrderReply:
        row = await self._db.fetchone("SELECT reply_json, order_json FROM orders WHERE order_ref = ?", (order_ref,))
        if row is None or row[0] is None:
            raise InternalError(f"order {order_ref} has no stored reply to reconcile")
        stored = PlaceOrderReply.model_validate_json(row[0], strict=False)
        order = OrderSpec.model_validate_json(row[1], strict=False)
        results = [result if r.broker_id == result.broker_id else r for r in stored.results]
        reply = rebuild_reply(stored, results)
        await self._db.write(
            [
                ("UPDATE orders SET reply_json = ? WHERE order_ref = ?", (reply.model_dump_json(), order_ref)),
                ("DELETE FROM unresolved WHERE order_ref = ? AND broker_id = ?", (order_ref, result.broker_id)),
                *track_statements(order_ref, order, [result], now),
            ]
        )
        return reply

    async def release(self, key: str, order_ref: str) -> None:
        """Forget a reservation that never reached a broker, so the key can be used again."""
        await self._db.write(
            [
                ("DELETE FROM idempotency_keys WHERE key = ? AND order_ref = ?", (key, order_ref)),
                ("DELETE FROM orders WHERE order_ref = ? AND state = 'in_flight'", (order_ref,)),
            ]
        )
        self._unclaim(key, order_ref)

    async def get(self, *, order_ref: str | None = None, key: str | None = None) -> OrderRecord | None:
        if order_ref is not None:
            row = await self._db.fetchone(_SELECT_ORDERS + "WHERE order_ref = ?", (order_ref,))
        else:
            row = await self._db.fetchone(
                _SELECT_ORDERS + "WHERE idempotency_key = ? ORDER BY rowid DESC LIMIT 1", (key,)
            )
        return None if row is None else _record(row)

    async def recent(self, limit: int) -> list[OrderRecord]:
        rows = await self._db.fetchall(_SELECT_ORDERS + "ORDER BY rowid DESC LIMIT ?", (limit,))
        return [_record(row) for row in rows]

    async def in_flight(self) -> list[InFlightRecord]:
        rows = await self._db.fetchall(
            "SELECT order_ref, idempotency_key, brokers_json, order_json FROM orders WHERE state = 'in_flight'"
        )
        return [
            InFlightRecord(row[0], row[1], json.loads(row[2]), OrderSpec.model_validate_json(row[3], strict=False))
            for row in rows
        ]

    def in_flight_count(self) -> int:
        return len(self._claims)

    async def purge_expired(self, now: float) -> int:
        """Forget keys past their TTL (their orders stay): their rows, and their hints."""
        self._fresh = set()
        try:
            expired = await self._db.fetchone(
                "SELECT COUNT(*) FROM idempotency_keys k JOIN orders o ON o.order_ref = k.order_ref "
                "WHERE o.state = 'completed' AND k.expires_at <= ?", (now,))
            live = await self._db.fetchall(
                "SELECT k.key FROM idempotency_keys k JOIN orders o ON o.order_ref = k.order_ref "
                "WHERE o.state = 'completed' AND k.expires_at > ?", (now,))
            await self._db.write([("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,))])
            # Hints given while we read stay: their orders completed after the rows were read.
            self._completed = {hash(row[0]) for row in live} | self._fresh
        finally:
            self._fresh = None
        return int(expired[0]) if expired else 0

    def _hint(self, key: str) -> None:
        self._completed.add(hash(key))
        if self._fresh is not None:
            self._fresh.add(hash(key))

    def _refuse_if_claimed(self, key: str, digest: bytes, now: float) -> None:
        claim = self._claims.get(key)
        if claim is None or claim[2] <= now:
            return
        if claim[1] != digest:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} was used for a different order ({claim[0]})", field="idempotency_key"
            )
        raise IdempotencyKeyInFlight(
            f"order {claim[0]} with this idempotency key is still being placed; retry shortly",
            field="idempotency_key",
        )

    def _unclaim(self, key: str, order_ref: str) -> bool:
        """Drop the claim on ``key`` if ``order_ref`` holds it; True if it did."""
        claim = self._claims.get(key)
        if claim is None or claim[0] != order_ref:
            return False
        del self._claims[key]
        return True

    async def _replay(self, key: str, digest: bytes, now: float) -> Replayed | None:
        """The stored answer for a completed key; None once its binding has expired."""
        row = await self._db.fetchone(
            "SELECT k.order_ref, k.fingerprint, k.expires_at, o.reply_json FROM idempotency_keys k "
            "JOIN orders o ON o.order_ref = k.order_ref WHERE k.key = ?",
            (key,),
        )
        if row is None or row[2] <= now:
            return None
        order_ref, stored_fp, _, reply_json = row
        if bytes.fromhex(stored_fp) != digest:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} was used for a different order ({order_ref})", field="idempotency_key"
            )
        if reply_json is None:
            raise InternalError(f"order {order_ref} is marked complete but has no stored reply")
        reply = PlaceOrderReply.model_validate_json(reply_json, strict=False)
        return Replayed(reply.model_copy(update={"replayed": True}))


def _record(row: sqlite3.Row) -> OrderRecord:
    order_ref, key, state, created_at, completed_at, order_json, reply_json = row
    reply = PlaceOrderReply.model_validate_json(str(reply_json), strict=False) if reply_json else None
    return OrderRecord(
        order_ref=str(order_ref),
        idempotency_key=str(key),
        state="completed" if state == "completed" else "in_flight",
        created_at=datetime.fromtimestamp(float(created_at), UTC),
        completed_at=datetime.fromtimestamp(float(completed_at), UTC) if completed_at else None,
        order=OrderSpec.model_validate_json(str(order_json), strict=False),
        status=reply.status if reply else None,
        results=reply.results if reply else [],
    )
