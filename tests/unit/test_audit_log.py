"""The audit log: a persistent gap-free seq, stored in the group commit, published after it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic_core import to_json

from ordo_shared.codec import decode_event, encode_event
from ordo_shared.errors import StorageUnavailable
from ordo_shared.models import Event
from ordod.audit import AuditLog, AuditRecord, SqliteAuditStore
from ordod.clock import ManualClock
from ordod.storage.database import Database


class Published:
    """The PUB socket as the audit log sees it; notes the database's commit count at each publish."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.events: list[Event] = []
        self.commits_seen: list[int] = []

    def __call__(self, event: Event | AuditRecord) -> None:
        # What a subscriber decodes from the PUB frames.
        self.events.append(decode_event(event.frames()) if isinstance(event, AuditRecord) else event)
        self.commits_seen.append(self.db.commits)

    @property
    def seqs(self) -> list[int | None]:
        return [e.seq for e in self.events]


@pytest.fixture
def published(db: Database) -> Published:
    return Published(db)


async def started(db: Database, clock: ManualClock, publish: Published) -> AuditLog:
    audit = AuditLog(db, SqliteAuditStore(db), clock, publish)
    await audit.start()
    return audit


async def test_the_first_event_gets_seq_1(db: Database, clock: ManualClock, published: Published) -> None:
    audit = await started(db, clock, published)
    audit.record("daemon.started")
    await audit.flush()
    assert published.seqs == [1]
    assert audit.last_seq == 1


async def test_seq_is_gap_free_across_many_batches(db: Database, clock: ManualClock, published: Published) -> None:
    audit = await started(db, clock, published)
    for batch in range(4):
        for i in range(batch + 1):
            audit.record("order.received", order_ref=f"ORD-{batch}-{i}")
        await audit.flush()
    stored = await audit.replay(0, 100)
    assert [e.seq for e in stored] == list(range(1, 11))
    assert published.seqs == list(range(1, 11))


async def test_seq_continues_across_a_new_audit_log_on_the_same_database(
    db: Database, clock: ManualClock, published: Published
) -> None:
    first = await started(db, clock, published)
    for _ in range(3):
        first.record("order.received")
    await first.flush()
    second = await started(db, clock, published)
    assert second.last_seq == 3
    second.record("daemon.started")
    await second.flush()
    assert published.seqs == [1, 2, 3, 4]


async def test_seq_continues_after_the_database_is_reopened(tmp_path: Path, clock: ManualClock) -> None:
    for expected in ([1, 2], [3, 4]):
        db = await Database.open(tmp_path / "ordo.db")
        try:
            published = Published(db)
            audit = await started(db, clock, published)
            audit.record("a")
            audit.record("b")
            await audit.flush()
            assert published.seqs == expected
        finally:
            await db.close()


async def test_nothing_is_published_before_its_commit(db: Database, clock: ManualClock, published: Published) -> None:
    audit = await started(db, clock, published)
    commits_before = db.commits
    audit.record("order.received")
    audit.record("order.completed")
    assert published.events == []  # queued, not yet durable
    await audit.flush()
    assert published.seqs == [1, 2]
    assert all(seen > commits_before for seen in published.commits_seen)


async def test_concurrent_recorders_see_events_published_in_seq_order(
    db: Database, clock: ManualClock, published: Published
) -> None:
    audit = await started(db, clock, published)

    async def recorder(n: int) -> None:
        for i in range(5):
            audit.record("broker.result", order_ref=f"ORD-{n}", data={"i": i})
            await asyncio.sleep(0)
        await audit.flush()

    await asyncio.gather(*(recorder(n) for n in range(10)))
    assert published.seqs == list(range(1, 51))
    assert [e.seq for e in await audit.replay(0, 100)] == list(range(1, 51))


async def test_events_share_group_commits(db: Database, clock: ManualClock, published: Published) -> None:
    audit = await started(db, clock, published)
    before = db.commits
    for i in range(20):
        audit.record("order.received", data={"i": i})
    await audit.flush()
    assert db.commits - before == 1


async def test_a_stored_event_replays_with_every_field(db: Database, clock: ManualClock, published: Published) -> None:
    audit = await started(db, clock, published)
    audit.record("broker.result", order_ref="ORD-1", broker_id="fyers", data={"status": "success", "attempts": 2})
    await audit.flush()
    [event] = await audit.replay(0, 10)
    assert event == Event(seq=1, ts=clock.now(), type="broker.result", order_ref="ORD-1", broker_id="fyers",
                          data={"status": "success", "attempts": 2})
    assert event.ts.tzinfo is not None and event.ts.utcoffset() == UTC.utcoffset(None)
    assert event == published.events[0]


async def test_replay_returns_the_events_after_since_up_to_limit(
    db: Database, clock: ManualClock, published: Published
) -> None:
    audit = await started(db, clock, published)
    for i in range(10):
        audit.record("tick", data={"i": i})
    await audit.flush()
    assert [e.seq for e in await audit.replay(3, 4)] == [4, 5, 6, 7]
    assert [e.seq for e in await audit.replay(0, 3)] == [1, 2, 3]
    assert [e.seq for e in await audit.replay(8, 100)] == [9, 10]
    assert await audit.replay(10, 5) == []


async def test_timestamps_come_from_the_injected_clock(db: Database, clock: ManualClock, published: Published) -> None:
    audit = await started(db, clock, published)
    audit.record("first")
    clock.advance(90)
    audit.record("second")
    await audit.flush()
    first, second = await audit.replay(0, 10)
    assert (second.ts - first.ts).total_seconds() == 90
    assert first.ts == datetime.fromtimestamp(1_800_000_000.0, UTC)


async def test_a_failed_write_publishes_nothing_and_burns_no_seq(
    db: Database, clock: ManualClock, published: Published
) -> None:
    audit = await started(db, clock, published)
    audit.record("kept")
    await audit.flush()
    squatter = ("INSERT INTO audit (seq, ts, type, data_json) VALUES (2, '2026-01-01T00:00:00+00:00', 'x', '{}')", ())
    await db.write([squatter])  # seq 2 is taken behind the log's back, so its next write fails
    audit.record("lost")
    with pytest.raises(StorageUnavailable):
        await audit.flush()
    assert published.seqs == [1]
    assert audit.last_seq == 1

    await db.write([("DELETE FROM audit WHERE seq = 2", ())])
    audit.record("after")
    await audit.flush()
    assert [(e.seq, e.type) for e in published.events] == [(1, "kept"), (2, "after")]
    assert [(e.seq, e.type) for e in await audit.replay(0, 10)] == [(1, "kept"), (2, "after")]


async def test_a_publishing_fault_loses_no_stored_event(db: Database, clock: ManualClock) -> None:
    delivered: list[int | None] = []

    def flaky(event: Event) -> None:
        if event.seq == 1:
            raise ConnectionError("PUB socket gone")
        delivered.append(event.seq)

    audit = AuditLog(db, SqliteAuditStore(db), clock, flaky)
    await audit.start()
    for _ in range(3):
        audit.record("tick")
    await audit.flush()
    assert delivered == [2, 3]
    assert [e.seq for e in await audit.replay(0, 10)] == [1, 2, 3]


async def test_flush_with_nothing_recorded_returns_at_once(
    db: Database, clock: ManualClock, published: Published
) -> None:
    audit = await started(db, clock, published)
    commits = db.commits
    await asyncio.wait_for(audit.flush(), 0.5)
    assert db.commits == commits


async def test_flush_reports_a_write_that_failed_before_it_was_called(tmp_path: Path, clock: ManualClock) -> None:
    db = await Database.open(tmp_path / "ordo.db")
    audit = await started(db, clock, Published(db))
    await db.close()
    audit.record("order.received")  # the database is gone: this event cannot be stored
    with pytest.raises(StorageUnavailable):
        await audit.flush()


async def test_an_event_with_unencodable_data_fails_alone(tmp_path: Path, clock: ManualClock) -> None:
    db = await Database.open(tmp_path / "ordo.db")
    try:
        published = Published(db)
        audit = await started(db, clock, published)
        audit.record("bad", data={"what": object()})
        flushing = asyncio.ensure_future(audit.flush())
        done, _ = await asyncio.wait({flushing}, timeout=0.5)
        assert flushing in done, "flush never returned"
        assert flushing.exception() is not None
        audit.record("good")
        await asyncio.wait_for(audit.flush(), 0.5)
        assert [e.type for e in await audit.replay(0, 10)] == ["good"]
    finally:
        flushing.cancel()
        try:
            await db.close()
        except TypeError:
            await db._conn.close()  # the dead writer re-raises in close(); still release the connection


@pytest.mark.parametrize("data", [
    {},
    {"status": "accepted", "order_id": "FYERS-00000001", "error_code": None, "latency_ms": 0.125},
    {"message": "caf\u00e9 \u20b9 \"quoted\" \\ slash \n", "nested": {"list": [1, 2.5, None, True]}},
])
@pytest.mark.parametrize(("order_ref", "broker_id"), [(None, None), ("ORD-19abc-000001", "fyers")])
def test_a_published_record_is_byte_for_byte_the_encoded_event(data: dict[str, object], order_ref: str | None,
                                                                 broker_id: str | None) -> None:
    record = AuditRecord(42, datetime(2026, 11, 26, 9, 14, 0, 123456, tzinfo=UTC), "broker.result", order_ref,
                         broker_id, data, to_json(data))
    assert record.frames() == encode_event(record.event())
    assert decode_event(record.frames()) == record.event()
