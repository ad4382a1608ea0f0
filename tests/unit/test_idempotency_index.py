"""The idempotency store keeps claims of orders being placed in memory and only the bare keys
of completed orders; its decisions are exactly what the stored rows say, on every path an
order can take, concurrent repeats included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ordo_shared.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, StorageUnavailable
from ordo_shared.models import BrokerResult, OrderSpec, PlaceOrderReply
from ordod.idempotency import Replayed, Reserved, SqliteIdempotencyStore
from ordod.storage.database import Database

ORDER = OrderSpec(symbol="NSE:SBIN-EQ", side="BUY", qty=1, order_type="MARKET")
NOW = 1_800_000_000.0


def reply(order_ref: str, key: str) -> PlaceOrderReply:
    return PlaceOrderReply(status="success", http_status=200, order_ref=order_ref, idempotency_key=key,
                           results=[BrokerResult(broker_id="fyers", status="success", order_id="F-1")])


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "ordo.db")
    yield database
    await database.close()


async def store(db: Database, ttl_s: float = 3600) -> SqliteIdempotencyStore:
    s = SqliteIdempotencyStore(db, ttl_s)
    await s.start(NOW)
    return s


async def test_the_in_flight_count_follows_reserve_complete_and_release(db: Database) -> None:
    s = await store(db)
    assert isinstance(await s.reserve("k1", ORDER, ["fyers"], "ORD-1", "p", NOW), Reserved)
    assert isinstance(await s.reserve("k2", ORDER, ["fyers"], "ORD-2", "p", NOW), Reserved)
    assert s.in_flight_count() == 2
    await s.complete("k1", ORDER, reply("ORD-1", "k1"), NOW)
    await s.complete("k1", ORDER, reply("ORD-1", "k1"), NOW)  # a repeat changes nothing
    assert s.in_flight_count() == 1
    await s.release("k2", "ORD-2")
    assert s.in_flight_count() == 0
    assert isinstance(await s.reserve("k2", ORDER, ["fyers"], "ORD-3", "p", NOW), Reserved)
    assert s.in_flight_count() == 1


async def test_duplicates_are_decided_from_memory_as_before(db: Database) -> None:
    s = await store(db)
    await s.reserve("k", ORDER, ["fyers"], "ORD-1", "p", NOW)
    with pytest.raises(IdempotencyKeyInFlight):
        await s.reserve("k", ORDER, ["fyers"], "ORD-2", "p", NOW)
    with pytest.raises(IdempotencyKeyReused):
        await s.reserve("k", ORDER.model_copy(update={"qty": 2}), ["fyers"], "ORD-2", "p", NOW)
    await s.complete("k", ORDER, reply("ORD-1", "k"), NOW)
    replayed = await s.reserve("k", ORDER, ["fyers"], "ORD-2", "p", NOW)
    assert isinstance(replayed, Replayed) and replayed.reply.order_ref == "ORD-1" and replayed.reply.replayed
    assert s.in_flight_count() == 0


async def test_an_expired_key_can_be_bound_to_a_new_order(db: Database) -> None:
    s = await store(db, ttl_s=10)
    await s.reserve("k", ORDER, ["fyers"], "ORD-1", "p", NOW)
    await s.complete("k", ORDER, reply("ORD-1", "k"), NOW)
    later = NOW + 11
    assert isinstance(await s.reserve("k", ORDER.model_copy(update={"qty": 2}), ["fyers"], "ORD-2", "p", later),
                      Reserved)
    assert s.in_flight_count() == 1
    record = await s.get(key="k")
    assert record is not None and record.order_ref == "ORD-2"


async def test_a_reservation_that_cannot_be_written_frees_its_key(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "ordo.db")
    s = await store(database)
    await database.close()
    with pytest.raises(StorageUnavailable):
        await s.reserve("k", ORDER, ["fyers"], "ORD-1", "p", NOW)
    assert s.in_flight_count() == 0


async def test_a_restart_rebuilds_the_index_and_its_count_from_disk(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "ordo.db")
    s = await store(database)
    for i in range(3):
        await s.reserve(f"k{i}", ORDER, ["fyers"], f"ORD-{i}", "p", NOW)
    await s.complete("k0", ORDER, reply("ORD-0", "k0"), NOW)
    await database.close()

    database = await Database.open(tmp_path / "ordo.db")
    try:
        again = await store(database)
        assert again.in_flight_count() == 2
        assert isinstance(await again.reserve("k0", ORDER, ["fyers"], "ORD-9", "p", NOW), Replayed)
        with pytest.raises(IdempotencyKeyInFlight):
            await again.reserve("k1", ORDER, ["fyers"], "ORD-9", "p", NOW)
    finally:
        await database.close()


async def test_concurrent_repeats_of_a_completed_key_all_get_the_stored_reply(db: Database) -> None:
    s = await store(db)
    await s.reserve("k", ORDER, ["fyers"], "ORD-1", "p", NOW)
    await s.complete("k", ORDER, reply("ORD-1", "k"), NOW)
    outcomes = await asyncio.gather(*(s.reserve("k", ORDER, ["fyers"], f"ORD-{i}", "p", NOW) for i in range(2, 8)))
    assert all(isinstance(o, Replayed) and o.reply.order_ref == "ORD-1" for o in outcomes)
    assert s.in_flight_count() == 0


async def test_concurrent_rebindings_of_an_expired_key_let_exactly_one_through(db: Database) -> None:
    s = await store(db, ttl_s=10)
    await s.reserve("k", ORDER, ["fyers"], "ORD-1", "p", NOW)
    await s.complete("k", ORDER, reply("ORD-1", "k"), NOW)
    outcomes = await asyncio.gather(
        *(s.reserve("k", ORDER, ["fyers"], f"ORD-{i}", "p", NOW + 11) for i in range(2, 6)), return_exceptions=True
    )
    assert sum(isinstance(o, Reserved) for o in outcomes) == 1
    assert all(isinstance(o, Reserved | IdempotencyKeyInFlight) for o in outcomes)


async def test_a_failed_rebinding_leaves_the_key_free_and_unclaimed(db: Database) -> None:
    s = await store(db, ttl_s=10)
    await s.reserve("k", ORDER, ["fyers"], "ORD-1", "p", NOW)
    await s.complete("k", ORDER, reply("ORD-1", "k"), NOW)
    with pytest.raises(StorageUnavailable):  # ORD-1 exists: the new order's row cannot be written
        await s.reserve("k", ORDER, ["fyers"], "ORD-1", "p", NOW + 11)
    assert s.in_flight_count() == 0
    assert isinstance(await s.reserve("k", ORDER, ["fyers"], "ORD-2", "p", NOW + 11), Reserved)
