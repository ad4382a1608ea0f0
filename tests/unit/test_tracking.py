"""The tracker follows open orders within a budget of status lookups per broker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ordo_shared.errors import StorageUnavailable
from ordo_shared.models import BrokerResult, OrderSpec
from ordod.audit import AuditLog, SqliteAuditStore
from ordod.brokers.base import BrokerOrderStatus
from ordod.brokers.errors import OrderNotFound
from ordod.clock import ManualClock
from ordod.config import RetryConfig, TrackingConfig
from ordod.storage.database import Database
from ordod.tracking import OpenOrder, OrderTracker, TrackingStore, track_statements
from tests.harness import ORDER


class CountingBook:
    """A broker whose orders all stay open; it records which order each lookup asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.filled: set[str] = set()
        self.gone: set[str] = set()  # no longer in the broker's (daily) order book

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        self.asked.append(order_id)
        if order_id in self.gone:
            raise OrderNotFound(f"no order {order_id}", broker_message="order not found")
        if order_id in self.filled:
            return BrokerOrderStatus(order_id, "filled", 1, 500.5)
        return BrokerOrderStatus(order_id, "open")


async def tracker_with_open_orders(db: Database, clock: ManualClock, n: int, **tracking: Any
                                   ) -> tuple[OrderTracker, CountingBook]:
    order = OrderSpec.model_validate(ORDER)
    for i in range(n):
        result = BrokerResult(broker_id="fyers", status="success", order_id=f"F-{i}")
        await db.write(track_statements(f"ORD-{i}", order, [result], clock.time()))
    book = CountingBook()
    gateway = SimpleNamespace(adapter=book, retry=RetryConfig())
    audit = AuditLog(db, SqliteAuditStore(db), clock, lambda event: None)
    await audit.start()
    config = TrackingConfig(**tracking)
    return OrderTracker(TrackingStore(db), {"fyers": gateway}, audit, clock, config), book  # type: ignore[dict-item]


async def test_lookups_per_pass_stay_within_the_budget_and_take_turns(db: Database, clock: ManualClock) -> None:
    # 4 lookups/s with a 0.25 s tick: one lookup per pass, whatever the number of open orders.
    tracker, book = await tracker_with_open_orders(db, clock, 10, poll_interval_s=2.0, fast_poll_s=0.5,
                                                   max_polls_per_s=4)
    for _ in range(10):
        await tracker.poll_once()
        clock.advance(0.25)
    assert len(book.asked) == 10
    assert sorted(book.asked) == sorted(f"F-{i}" for i in range(10)), "each open order gets its turn"


async def test_a_fill_is_applied_once_and_the_order_is_no_longer_polled(db: Database, clock: ManualClock) -> None:
    tracker, book = await tracker_with_open_orders(db, clock, 2, poll_interval_s=60.0, fast_poll_s=0.1,
                                                   max_polls_per_s=100)
    book.filled.add("F-0")
    assert await tracker.poll_once() == 1
    clock.advance(1.0)
    book.asked.clear()
    assert await tracker.poll_once() == 0, "a change already applied is not applied again"
    assert book.asked == ["F-1"]
    assert [t.view.state for t in await tracker.store.for_order("ORD-0")] == ["filled"]


async def test_an_order_gone_from_the_book_after_its_day_closed_has_expired(db: Database, clock: ManualClock) -> None:
    tracker, book = await tracker_with_open_orders(db, clock, 1, poll_interval_s=1.0, fast_poll_s=0.5,
                                                   max_polls_per_s=100)
    book.gone.add("F-0")
    assert await tracker.poll_once() == 0, "the same day, a missing order is asked about again, not ended"
    assert [t.view.state for t in await tracker.store.for_order("ORD-0")] == ["open"]

    clock.advance(24 * 3600)  # the next trading day: yesterday's day order left the broker's book
    assert await tracker.poll_once() == 1
    [expired] = await tracker.store.for_order("ORD-0")
    assert expired.view.state == "expired" and "expires at the close" in expired.view.message
    book.asked.clear()
    clock.advance(5.0)
    await tracker.poll_once()
    assert book.asked == [], "an expired order is not looked up again"


def test_a_trading_day_is_the_exchange_date_in_india() -> None:
    from datetime import date

    from ordod.clock import trading_day

    # 18:29 and 18:31 UTC straddle midnight in Mumbai (UTC+05:30, no daylight saving).
    assert trading_day(1_800_000_000 - 8 * 3600 + 18 * 3600 + 29 * 60) == date(2027, 1, 15)
    assert trading_day(1_800_000_000 - 8 * 3600 + 18 * 3600 + 31 * 60) == date(2027, 1, 16)


class CountingStore(TrackingStore):
    """The real store, noting how many open orders each read brought back."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.read_sizes: list[int] = []

    async def open_for_polling(self, after_row: int = 0, order_ref: str | None = None
                               ) -> tuple[list[OpenOrder], int]:
        rows, top = await super().open_for_polling(after_row, order_ref)
        self.read_sizes.append(len(rows))
        return rows, top


async def test_resting_orders_are_read_once_and_new_ones_as_they_come(db: Database, clock: ManualClock) -> None:
    tracker, book = await tracker_with_open_orders(db, clock, 200, poll_interval_s=2.0, fast_poll_s=0.5,
                                                   max_polls_per_s=1000)
    store = CountingStore(db)
    tracker.store = store
    await tracker.poll_once()
    order = OrderSpec.model_validate(ORDER)
    await db.write(track_statements("ORD-new", order, [BrokerResult(broker_id="fyers", status="success",
                                                                     order_id="F-new")], clock.time()))
    clock.advance(0.25)
    book.asked.clear()
    await tracker.poll_once()
    assert store.read_sizes == [200, 1], "the 200 resting orders are not read again"
    assert book.asked == ["F-new"], "the new order is looked up at once; the others are not due yet"


async def test_a_poked_order_is_read_again_and_one_no_longer_open_is_dropped(db: Database, clock: ManualClock) -> None:
    tracker, book = await tracker_with_open_orders(db, clock, 2, poll_interval_s=2.0, fast_poll_s=0.5,
                                                   max_polls_per_s=1000)
    await tracker.poll_once()
    # A cancel recorded the order's end elsewhere (as order actions do), then poked the tracker.
    await db.write([("UPDATE broker_orders SET state = 'cancelled' WHERE order_ref = 'ORD-0'", ())])
    tracker.poke("ORD-0")
    clock.advance(60.0)
    book.asked.clear()
    await tracker.poll_once()
    assert book.asked == ["F-1"]


async def test_orders_a_failed_pass_did_not_finish_keep_their_turn(db: Database, clock: ManualClock) -> None:
    tracker, book = await tracker_with_open_orders(db, clock, 3, poll_interval_s=60.0, fast_poll_s=0.5,
                                                   max_polls_per_s=1000)
    book.filled.update({"F-0", "F-1", "F-2"})
    failing = FailingOnce(db)
    tracker.store = failing
    with pytest.raises(StorageUnavailable):
        await tracker.poll_once()  # the first fill cannot be stored: the pass stops there
    book.asked.clear()
    assert await tracker.poll_once() == 3, "none of the three dropped out of the queue"
    assert sorted(book.asked) == ["F-0", "F-1", "F-2"]


class FailingOnce(TrackingStore):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.failed = False

    async def record_status(self, order_ref: str, broker_id: str, status: BrokerOrderStatus, now: float) -> None:
        if not self.failed:
            self.failed = True
            raise StorageUnavailable("disk full")
        await super().record_status(order_ref, broker_id, status, now)
