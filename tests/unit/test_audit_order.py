"""Audit events are written off the order's critical path (they ride in its commits, or linger a
few milliseconds for one) but stay in order, gap-free, durable before they are published, and
readable by audit_replay as soon as they are recorded."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ordo_shared.models import Event
from ordod.audit import AuditLog, SqliteAuditStore
from ordod.clock import ManualClock
from ordod.storage.database import Database


class Subscriber:
    """Stands in for the PUB socket, and checks each event is on disk when it goes out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: list[Event] = []
        self.unstored: list[int | None] = []

    def publish(self, event: Event) -> None:
        conn = sqlite3.connect(self.path)
        try:
            stored = conn.execute("SELECT type FROM audit WHERE seq = ?", (event.seq,)).fetchone()
        finally:
            conn.close()
        if stored is None or stored[0] != event.type:
            self.unstored.append(event.seq)
        self.events.append(event)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "ordo.db", linger_s=0.002)
    yield database
    await database.close()


async def audit_log(db: Database, subscriber: Subscriber) -> AuditLog:
    audit = AuditLog(db, SqliteAuditStore(db), ManualClock(), subscriber.publish)
    await audit.start()
    return audit


async def test_events_keep_recording_order_and_gap_free_seq_across_many_commits(db: Database) -> None:
    subscriber = Subscriber(db.path)
    audit = await audit_log(db, subscriber)

    async def order(n: int) -> None:
        audit.record("order.received", order_ref=f"ORD-{n}")
        await db.write([("INSERT INTO audit_meta (key, value) VALUES ('test', ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (n,))])
        audit.record("order.completed", order_ref=f"ORD-{n}")
        await asyncio.sleep(0)

    for wave in range(5):
        await asyncio.gather(*(order(wave * 10 + i) for i in range(10)))
        audit.record("wave.done", data={"wave": wave})
        await asyncio.sleep(0.005 * (wave % 2))  # some waves let the audit batch linger out alone
    await audit.flush()

    stored = await audit.replay(0, 1000)
    assert [e.seq for e in stored] == list(range(1, 106))  # 5 waves x (10 orders x 2 events + 1)
    assert [(e.seq, e.type, e.order_ref) for e in subscriber.events] == [(e.seq, e.type, e.order_ref) for e in stored]
    assert subscriber.unstored == []
    received_at = {e.order_ref: e.seq for e in stored if e.type == "order.received"}
    completed_at = {e.order_ref: e.seq for e in stored if e.type == "order.completed"}
    assert all(received_at[ref] < completed_at[ref] for ref in received_at)
    assert db.commits < 105  # they were batched, not one commit per event


async def test_replay_shows_an_event_recorded_just_before_it(db: Database) -> None:
    audit = await audit_log(db, Subscriber(db.path))
    audit.record("kill_switch.changed", data={"active": True})
    events = await audit.replay(0, 10)  # no flush in between: replay must not miss it
    assert [e.type for e in events] == ["kill_switch.changed"]


async def test_flush_commits_at_once_even_with_a_long_linger(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "ordo.db", linger_s=30.0)
    try:
        subscriber = Subscriber(database.path)
        audit = await audit_log(database, subscriber)
        audit.record("daemon.started")
        await asyncio.wait_for(audit.flush(), 10)  # only possible if flush cuts the 30 s linger
        assert [e.type for e in subscriber.events] == ["daemon.started"]
    finally:
        await database.close()


async def test_seq_continues_after_a_restart_without_a_hole(tmp_path: Path) -> None:
    for run in range(2):
        database = await Database.open(tmp_path / "ordo.db")
        audit = await audit_log(database, Subscriber(database.path))
        for i in range(3):
            audit.record("tick", data={"run": run, "i": i})
        await audit.flush()
        await database.close()
    database = await Database.open(tmp_path / "ordo.db")
    try:
        events = await SqliteAuditStore(database).replay(0, 100)
    finally:
        await database.close()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.data for e in events][3] == {"run": 1, "i": 0}
