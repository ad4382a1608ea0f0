"""The audit log: every event gets a persistent, gap-free ``seq``, is stored, then published.

Events are buffered and written in the database's group commit; ``seq`` is assigned when the
batch is sealed for its transaction, so a failed write burns no number and the sequence
never has a hole. Publication happens only after the commit, so a subscriber that sees
``seq`` N can always fetch N again with ``audit_replay``.

Recording never waits: an order's events ride in the commits its own writes make anyway, or,
when no order is writing, in a commit of their own a few milliseconds later (``linger_s``).
``flush()`` forces that commit at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic_core import to_json

from ordo_shared.models import Event
from ordod.clock import Clock
from ordod.storage.database import Database, Statement

log = logging.getLogger("ordod.audit")

Publish = Callable[["Event | AuditRecord"], None]

_INSERT = "INSERT INTO audit (seq, ts, type, order_ref, broker_id, data_json) VALUES (?, ?, ?, ?, ?, ?)"


@dataclass(slots=True)
class AuditRecord:
    """A numbered event on its way to the disk and then to subscribers. It reads like an
    ``Event`` (same attributes); its data is encoded once, and that one encoding is both the
    stored ``data_json`` and the inside of the published JSON, so neither is built twice.
    Recorded with ``seq`` 0 and no encoding yet: both are set when its batch is sealed."""

    seq: int
    ts: datetime
    type: str
    order_ref: str | None
    broker_id: str | None
    data: dict[str, Any]
    data_json: bytes

    def row(self) -> tuple[Any, ...]:
        return (self.seq, self.ts.isoformat(), self.type, self.order_ref, self.broker_id, self.data_json.decode())

    def frames(self) -> list[bytes]:
        """Exactly ``encode_event(self.event())``: Event's fields in its order, data last."""
        head = to_json({"seq": self.seq, "ts": self.ts, "type": self.type, "order_ref": self.order_ref,
                        "broker_id": self.broker_id})
        return [b"audit." + self.type.encode(), head[:-1] + b',"data":' + self.data_json + b"}"]

    def event(self) -> Event:
        return Event(seq=self.seq, ts=self.ts, type=self.type, order_ref=self.order_ref, broker_id=self.broker_id,
                     data=self.data)


@dataclass(frozen=True)
class AuditPage:
    """A replay answer that says when retention removed part of what was asked for."""

    events: list[Event]
    first_available_seq: int
    pruned: bool


class AuditStore(Protocol):
    """What the audit log needs from durable storage."""

    async def last_seq(self) -> int: ...

    async def archived_through(self) -> int: ...

    async def replay(self, since: int, limit: int) -> list[Event]: ...


class SqliteAuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def last_seq(self) -> int:
        # Retention may have removed every row; the archived mark keeps seq from restarting.
        row = await self.db.fetchone(
            "SELECT MAX(COALESCE((SELECT MAX(seq) FROM audit), 0),"
            " COALESCE((SELECT value FROM audit_meta WHERE key = 'archived_through'), 0))"
        )
        return int(row[0]) if row else 0

    async def archived_through(self) -> int:
        row = await self.db.fetchone("SELECT value FROM audit_meta WHERE key = 'archived_through'")
        return int(row[0]) if row else 0

    async def replay(self, since: int, limit: int) -> list[Event]:
        rows = await self.db.fetchall(
            "SELECT seq, ts, type, order_ref, broker_id, data_json FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            (since, limit),
        )
        return [
            Event(
                seq=row[0],
                ts=datetime.fromisoformat(row[1]),
                type=row[2],
                order_ref=row[3],
                broker_id=row[4],
                data=json.loads(row[5]),
            )
            for row in rows
        ]


@dataclass
class _Batch:
    """Events that will share one transaction; sealed (numbered) when handed to the writer."""

    log: AuditLog
    pending: list[AuditRecord] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    events: list[AuditRecord] | None = None
    done: bool = False
    error: BaseException | None = None

    @property
    def urgent(self) -> bool:
        # Nobody waits for an event unless flush() was called: until then the batch may
        # linger and ride in the next order's commit instead of taking an fsync of its own.
        return bool(self.waiters)

    def statements(self) -> Iterable[Statement]:
        if self.events is None:
            self.events = self.log._seal(self)
        return [(_INSERT, e.row()) for e in self.events]

    def committed(self) -> None:
        assert self.events is not None
        self.log._committed(self)
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def failed(self, exc: BaseException) -> None:
        log.error("audit write failed, %d events lost: %s", len(self.pending), exc)
        self.log._unseal(self)
        self.error = exc
        self.done = True
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(exc)


class AuditLog:
    def __init__(self, db: Database, store: AuditStore, clock: Clock, publish: Publish) -> None:
        self._db = db
        self.store = store
        self._clock = clock
        self._publish = publish
        self._open: _Batch | None = None
        self._newest: _Batch | None = None  # last batch submitted; batches commit in order
        self.last_seq = 0  # highest seq handed out (committed or in the transaction)
        self.first_available_seq = 1  # older events were archived by retention

    async def start(self) -> None:
        self.last_seq = await self.store.last_seq()
        self.first_available_seq = await self.store.archived_through() + 1

    def record(
        self,
        type: str,
        *,
        order_ref: str | None = None,
        broker_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Queue an event; it is stored in the next group commit, then published."""
        if self._open is None:
            self._open = self._newest = _Batch(self)
            self._db.submit(self._open)
        self._open.pending.append(AuditRecord(0, self._clock.now(), type, order_ref, broker_id, data or {}, b""))

    async def flush(self) -> None:
        """Wait until everything recorded so far is on disk."""
        newest = self._newest
        if newest is not None and newest.error is not None:
            raise newest.error  # what was recorded last never reached the disk
        if newest is None or newest.done:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        newest.waiters.append(waiter)
        self._db.wake()
        await waiter

    async def replay(self, since: int, limit: int) -> list[Event]:
        """Stored events after ``since``, including every event recorded before this call
        (reads see only committed rows, so what is still queued is flushed first)."""
        await self.flush()
        return await self.store.replay(since, limit)

    async def replay_page(self, since: int, limit: int) -> AuditPage:
        """Events after ``since``, and whether some of them were archived away.

        Retention only ever removes a prefix and seq has no other holes, so a first event
        beyond ``since + 1`` can only mean archived events: that is reported, never hidden.
        """
        await self.flush()  # reads see committed rows only: what was recorded must be there
        events = await self.store.replay(since, limit)
        if events and events[0].seq is not None and events[0].seq > since + 1:
            return AuditPage(events, events[0].seq, pruned=True)
        first = self.first_available_seq
        return AuditPage(events, first, pruned=not events and since + 1 < first)

    def archived(self, through: int) -> None:
        """Retention removed every event up to ``through`` from the database."""
        self.first_available_seq = max(self.first_available_seq, through + 1)

    def _seal(self, batch: _Batch) -> list[AuditRecord]:
        if self._open is batch:
            self._open = None
        for event in batch.pending:
            self.last_seq += 1
            event.seq = self.last_seq
            event.data_json = to_json(event.data)
        return batch.pending

    def _unseal(self, batch: _Batch) -> None:
        if batch.events:
            # Only this batch was numbered since the previous commit, so the counter rewinds cleanly.
            self.last_seq = batch.events[0].seq - 1 if batch.events[0].seq is not None else self.last_seq

    def _committed(self, batch: _Batch) -> None:
        batch.done = True
        for event in batch.events or []:
            try:
                self._publish(event)
            except Exception:  # a publishing fault must never lose the stored event
                log.exception("publishing audit event %s failed", event.seq)
