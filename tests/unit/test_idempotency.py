"""The idempotency store over a real SQLite database: reserve, replay, conflicts, TTL, restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ordo_shared.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, StorageUnavailable
from ordo_shared.models import BrokerResult, OrderSpec, PlaceOrderReply
from ordod.idempotency import (
    Replayed,
    Reserved,
    SqliteIdempotencyStore,
    fingerprint,
    unified_reply,
)
from ordod.storage.database import Database
from tests.harness import ORDER

NOW = 1_800_000_000.0
TTL_S = 60.0
BROKERS = ["fyers", "hdfc"]


def spec(**changes: Any) -> OrderSpec:
    fields: dict[str, Any] = {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 10, "order_type": "LIMIT", "price": 500.5}
    fields.update(changes)
    return OrderSpec.model_validate(fields)


def placed_everywhere(order_ref: str, key: str) -> PlaceOrderReply:
    return unified_reply(order_ref, key, [
        BrokerResult(broker_id="fyers", status="success", order_id="FYERS-1", attempts=1),
        BrokerResult(broker_id="hdfc", status="success", order_id="HDFC-1", attempts=1),
    ])


@pytest.fixture
async def store(db: Database) -> SqliteIdempotencyStore:
    s = SqliteIdempotencyStore(db, ttl_s=TTL_S)
    await s.start(NOW)
    return s


async def reserve(store: SqliteIdempotencyStore, key: str, order_ref: str, order: OrderSpec | None = None,
                  now: float = NOW) -> Reserved | Replayed:
    return await store.reserve(key, order or spec(), BROKERS, order_ref, "trader", now)


async def placed(store: SqliteIdempotencyStore, key: str, order_ref: str, now: float = NOW) -> PlaceOrderReply:
    """Reserve and complete, as a whole successful order does."""
    assert await reserve(store, key, order_ref, now=now) == Reserved(order_ref)
    reply = placed_everywhere(order_ref, key)
    await store.complete(key, spec(), reply, now + 1)
    return reply


async def test_a_new_key_is_reserved_and_the_order_recorded_in_flight(store: SqliteIdempotencyStore) -> None:
    assert await reserve(store, "k1", "ORD-1") == Reserved("ORD-1")
    record = await store.get(order_ref="ORD-1")
    assert record is not None
    assert (record.state, record.idempotency_key, record.order) == ("in_flight", "k1", spec())
    assert store.in_flight_count() == 1


async def test_concurrent_reserves_of_one_key_admit_exactly_one(store: SqliteIdempotencyStore) -> None:
    outcomes = await asyncio.gather(
        reserve(store, "k1", "ORD-1"), reserve(store, "k1", "ORD-2"), reserve(store, "k1", "ORD-3"),
        return_exceptions=True,
    )
    assert outcomes[0] == Reserved("ORD-1")
    assert all(isinstance(o, IdempotencyKeyInFlight) for o in outcomes[1:])
    assert await store.get(order_ref="ORD-2") is None


async def test_same_key_while_the_first_is_running_is_in_flight_with_409(store: SqliteIdempotencyStore) -> None:
    await reserve(store, "k1", "ORD-1")
    with pytest.raises(IdempotencyKeyInFlight) as caught:
        await reserve(store, "k1", "ORD-2")
    assert caught.value.http_status == 409
    assert caught.value.field == "idempotency_key"
    assert "ORD-1" in caught.value.message


async def test_same_key_different_payload_is_key_reused_while_in_flight(store: SqliteIdempotencyStore) -> None:
    await reserve(store, "k1", "ORD-1")
    with pytest.raises(IdempotencyKeyReused) as caught:
        await reserve(store, "k1", "ORD-2", spec(qty=11))
    assert caught.value.http_status == 422


async def test_same_key_different_payload_is_key_reused_after_completion(store: SqliteIdempotencyStore) -> None:
    await placed(store, "k1", "ORD-1")
    with pytest.raises(IdempotencyKeyReused, match="ORD-1"):
        await reserve(store, "k1", "ORD-2", spec(side="SELL"))


async def test_same_key_same_payload_replays_stored_reply(store: SqliteIdempotencyStore) -> None:
    original = await placed(store, "k1", "ORD-1")
    outcome = await reserve(store, "k1", "ORD-2")
    assert isinstance(outcome, Replayed)
    assert outcome.reply.replayed is True
    assert outcome.reply.model_copy(update={"replayed": False}) == original
    assert await store.get(order_ref="ORD-2") is None


async def test_completion_marks_the_record_and_keeps_the_results(store: SqliteIdempotencyStore) -> None:
    await placed(store, "k1", "ORD-1")
    record = await store.get(key="k1")
    assert record is not None
    assert (record.state, record.status) == ("completed", "success")
    assert [r.order_id for r in record.results] == ["FYERS-1", "HDFC-1"]
    assert store.in_flight_count() == 0


async def test_release_frees_the_key_and_forgets_the_order(store: SqliteIdempotencyStore) -> None:
    await reserve(store, "k1", "ORD-1")
    await store.release("k1", "ORD-1")
    assert await store.get(order_ref="ORD-1") is None
    assert await reserve(store, "k1", "ORD-2", spec(qty=99)) == Reserved("ORD-2")


async def test_release_with_another_order_ref_leaves_the_reservation(store: SqliteIdempotencyStore) -> None:
    await reserve(store, "k1", "ORD-1")
    await store.release("k1", "ORD-OTHER")
    with pytest.raises(IdempotencyKeyInFlight):
        await reserve(store, "k1", "ORD-2")


async def test_a_key_still_binds_just_before_its_ttl(store: SqliteIdempotencyStore) -> None:
    await placed(store, "k1", "ORD-1")
    with pytest.raises(IdempotencyKeyReused):
        await reserve(store, "k1", "ORD-2", spec(qty=1), now=NOW + TTL_S - 0.001)


async def test_an_expired_key_can_be_used_for_a_new_order(store: SqliteIdempotencyStore) -> None:
    await placed(store, "k1", "ORD-1")
    assert await reserve(store, "k1", "ORD-2", spec(qty=1), now=NOW + TTL_S) == Reserved("ORD-2")
    newest = await store.get(key="k1")
    assert newest is not None and newest.order_ref == "ORD-2"
    oldest = await store.get(order_ref="ORD-1")
    assert oldest is not None and oldest.state == "completed"  # history is kept, only the key moves on


async def test_a_restarted_store_still_replays_and_blocks_known_keys(db: Database) -> None:
    first = SqliteIdempotencyStore(db, ttl_s=TTL_S)
    await first.start(NOW)
    original = await placed(first, "done", "ORD-1")
    await reserve(first, "running", "ORD-2")

    second = SqliteIdempotencyStore(db, ttl_s=TTL_S)
    await second.start(NOW + 10)
    replay = await reserve(second, "done", "ORD-3", now=NOW + 10)
    assert isinstance(replay, Replayed) and replay.reply.order_ref == original.order_ref
    with pytest.raises(IdempotencyKeyInFlight):
        await reserve(second, "running", "ORD-4", now=NOW + 10)
    with pytest.raises(IdempotencyKeyReused):
        await reserve(second, "done", "ORD-5", spec(qty=2), now=NOW + 10)
    assert second.in_flight_count() == 1


async def test_a_restarted_store_lists_the_orders_left_in_flight(db: Database) -> None:
    first = SqliteIdempotencyStore(db, ttl_s=TTL_S)
    await first.start(NOW)
    await placed(first, "done", "ORD-1")
    await first.reserve("running", spec(order_type="MARKET", price=None, brokers=["hdfc"]), ["hdfc"], "ORD-2",
                        "trader", NOW)

    second = SqliteIdempotencyStore(db, ttl_s=TTL_S)
    await second.start(NOW + 10)
    [record] = await second.in_flight()
    assert (record.order_ref, record.idempotency_key, record.brokers) == ("ORD-2", "running", ["hdfc"])
    assert record.order == spec(order_type="MARKET", price=None, brokers=["hdfc"])


async def test_a_restart_after_the_ttl_forgets_expired_keys(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "ordo.db")
    try:
        first = SqliteIdempotencyStore(db, ttl_s=TTL_S)
        await first.start(NOW)
        await placed(first, "k1", "ORD-1")
    finally:
        await db.close()
    db = await Database.open(tmp_path / "ordo.db")
    try:
        second = SqliteIdempotencyStore(db, ttl_s=TTL_S)
        await second.start(NOW + TTL_S + 1)
        assert await reserve(second, "k1", "ORD-2", spec(qty=3), now=NOW + TTL_S + 1) == Reserved("ORD-2")
    finally:
        await db.close()


async def test_a_failed_durable_write_does_not_leave_the_key_claimed(store: SqliteIdempotencyStore) -> None:
    await reserve(store, "k1", "ORD-1")
    with pytest.raises(StorageUnavailable):
        await reserve(store, "k2", "ORD-1")  # the order_ref clashes, so the write fails
    assert await reserve(store, "k2", "ORD-2") == Reserved("ORD-2")


async def test_recent_lists_newest_first_up_to_the_limit(store: SqliteIdempotencyStore) -> None:
    for i in range(4):
        await reserve(store, f"k{i}", f"ORD-{i}")
    assert [r.order_ref for r in await store.recent(3)] == ["ORD-3", "ORD-2", "ORD-1"]


async def test_an_unknown_outcome_is_kept_for_reconciliation_and_resolve_rewrites_the_reply(
    store: SqliteIdempotencyStore,
) -> None:
    await reserve(store, "k1", "ORD-1")
    reply = unified_reply("ORD-1", "k1", [
        BrokerResult(broker_id="fyers", status="success", order_id="FYERS-1"),
        BrokerResult(broker_id="hdfc", status="error", error_code="OUTCOME_UNKNOWN"),
    ])
    assert reply.status == "partial_success"
    await store.complete("k1", spec(), reply, NOW + 1)
    [unresolved] = await store.unresolved()
    assert (unresolved.order_ref, unresolved.broker_id) == ("ORD-1", "hdfc")

    resolved = await store.resolve("ORD-1", BrokerResult(broker_id="hdfc", status="success", order_id="HDFC-9"),
                                   NOW + 5)
    assert (resolved.status, resolved.http_status) == ("success", 200)
    assert await store.unresolved() == []
    replay = await reserve(store, "k1", "ORD-2")
    assert isinstance(replay, Replayed) and replay.reply.status == "success"


# --- fingerprints ----------------------------------------------------------------------


def test_fingerprint_ignores_key_order_and_spelled_out_defaults() -> None:
    terse = OrderSpec.model_validate({"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 10, "order_type": "LIMIT",
                                      "price": 500.5})
    verbose = OrderSpec.model_validate({"validity": "DAY", "product": "INTRADAY", "tag": None, "brokers": None,
                                        "trigger_price": None, "price": 500.5, "order_type": "LIMIT", "qty": 10,
                                        "side": "BUY", "symbol": "NSE:SBIN-EQ"})
    assert fingerprint(terse) == fingerprint(verbose)


def test_fingerprint_is_the_one_stored_by_earlier_versions() -> None:
    # Keys stored before an upgrade must still match their retries: the digest never changes.
    order = OrderSpec.model_validate({"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 10, "order_type": "LIMIT",
                                      "price": 500.5, "brokers": ["hdfc", "fyers"], "tag": 'a"b'})
    assert fingerprint(order) == "fcf687726592cba8583844986783a18ef2080459289a3e7626a27d656bed7632"


def test_fingerprint_treats_an_integral_price_like_its_float() -> None:
    assert fingerprint(spec(price=500)) == fingerprint(spec(price=500.0))


@pytest.mark.parametrize(
    "change",
    [{"qty": 11}, {"side": "SELL"}, {"price": 500.55}, {"product": "CNC"}, {"brokers": ["fyers"]}, {"tag": "t"}],
)
def test_fingerprint_changes_with_any_field_of_the_order(change: dict[str, Any]) -> None:
    assert fingerprint(spec(**change)) != fingerprint(spec())


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    digest = fingerprint(spec())
    assert len(digest) == 64 and int(digest, 16) >= 0


# --- the unified reply -----------------------------------------------------------------


def _results(*statuses: str) -> list[BrokerResult]:
    return [BrokerResult(broker_id=f"b{i}", status=s) for i, s in enumerate(statuses)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("statuses", "status", "http_status"),
    [
        (("success", "success"), "success", 200),
        (("success", "error"), "partial_success", 207),
        (("skipped", "success"), "partial_success", 207),
        (("error", "skipped"), "failed", 502),
        ((), "failed", 502),
    ],
)
def test_the_unified_reply_summarises_the_fan_out(statuses: tuple[str, ...], status: str, http_status: int) -> None:
    reply = unified_reply("ORD-1", "k1", _results(*statuses))
    assert (reply.status, reply.http_status, reply.replayed) == (status, http_status, False)


async def test_expired_keys_are_purged_from_memory_and_disk_but_orders_stay(db: Database) -> None:
    store = SqliteIdempotencyStore(db, ttl_s=10)
    await store.start(now=0)
    order = OrderSpec.model_validate(ORDER)
    reserved = await store.reserve("k-old", order, ["fyers"], "ORD-old", "default", now=0)
    assert isinstance(reserved, Reserved)
    await store.complete("k-old", order, unified_reply("ORD-old", "k-old", []), now=1)
    assert await store.purge_expired(now=5) == 0
    assert await store.purge_expired(now=11) == 1
    assert await db.fetchall("SELECT key FROM idempotency_keys") == []
    assert (await store.get(order_ref="ORD-old")) is not None
    again = await store.reserve("k-old", order.model_copy(update={"qty": 9}), ["fyers"], "ORD-new", "default", now=12)
    assert isinstance(again, Reserved)


async def test_a_reservation_stores_its_brokers_as_the_json_module_writes_them(
    store: SqliteIdempotencyStore, db: Database
) -> None:
    await reserve(store, "k1", "ORD-1")
    await store.reserve("k2", spec(), ["hdfc"], "ORD-2", "trader", NOW)
    await reserve(store, "k3", "ORD-3")  # the same set again: the same text
    rows = await db.fetchall("SELECT brokers_json FROM orders ORDER BY order_ref")
    assert [row[0] for row in rows] == ['["fyers", "hdfc"]', '["hdfc"]', '["fyers", "hdfc"]']
