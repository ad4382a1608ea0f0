"""The in-process paper broker: its book, its knobs, and its journal across restarts."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from ordo_shared.models import OrderSpec
from ordod.brokers.base import BrokerOrder, OrderChange, client_tag
from ordod.brokers.errors import (
    BrokerTimeout,
    BrokerUnavailable,
    InsufficientFunds,
    OrderRejected,
    RateLimitExceeded,
)
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import ManualClock


def order(key: str = "key-1", **changes: Any) -> BrokerOrder:
    fields: dict[str, Any] = {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 5, "order_type": "LIMIT", "price": 100.0}
    fields.update(changes)
    return BrokerOrder(order_ref=f"ORD-{key}", idempotency_key=key, spec=OrderSpec.model_validate(fields))


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def paper(clock: ManualClock, journal: Path | None = None, **knobs: Any) -> PaperBroker:
    return PaperBroker("fyers", PaperKnobs(**{"latency_ms": 0, **knobs}), clock, rng=random.Random(5),
                       sleep=Sleeps(), journal=journal)


def test_the_client_tag_is_stable_and_fits_broker_limits() -> None:
    assert client_tag("key-1") == client_tag("key-1") != client_tag("key-2")
    assert len(client_tag("k" * 255)) == 30 and client_tag("x").startswith("ordo")
    assert client_tag("key-1", length=20, digits_only=True).isdigit()


async def test_an_order_is_accepted_with_a_new_id(clock: ManualClock) -> None:
    broker = paper(clock)
    placed = await broker.place_order(order())
    assert (placed.order_id, placed.broker_code) == ("FYERS-00000001", "0")
    assert await broker.find_order_by_tag(order()) == "FYERS-00000001"
    assert await broker.find_order_by_tag(order("other")) is None


async def test_the_same_tag_twice_returns_the_existing_order(clock: ManualClock) -> None:
    broker = paper(clock)
    first = await broker.place_order(order())
    again = await broker.place_order(order())
    assert again.order_id == first.order_id
    assert "duplicate tag" in (again.broker_message or "")
    assert len(broker.book) == 1


async def test_latency_goes_through_the_injected_sleep(clock: ManualClock) -> None:
    sleeps = Sleeps()
    broker = PaperBroker("fyers", PaperKnobs(latency_ms=250), clock, sleep=sleeps)
    await broker.place_order(order())
    assert sleeps.delays == [0.25]


@pytest.mark.parametrize(
    ("code", "error"),
    [("RATE_LIMIT_EXCEEDED", RateLimitExceeded), ("INSUFFICIENT_FUNDS", InsufficientFunds),
     ("TIMEOUT", BrokerTimeout), ("SOMETHING_ELSE", BrokerUnavailable)],
)
async def test_a_reject_code_answers_every_order_with_that_error(clock: ManualClock, code: str, error: type) -> None:
    broker = paper(clock, reject_code=code)
    with pytest.raises(error):
        await broker.place_order(order())
    assert len(broker.book) == 0
    assert broker.calls.place_calls == 1


async def test_a_full_fail_rate_refuses_connections_that_certainly_sent_nothing(clock: ManualClock) -> None:
    broker = paper(clock, fail_rate=1.0)
    with pytest.raises(BrokerUnavailable) as caught:
        await broker.place_order(order())
    assert caught.value.sent is False
    with pytest.raises(BrokerUnavailable):
        await broker.find_order_by_tag(order())


async def test_the_health_probe_fails_only_for_outage_codes(clock: ManualClock) -> None:
    await paper(clock, reject_code="ORDER_REJECTED").health_probe()
    with pytest.raises(BrokerUnavailable):
        await paper(clock, reject_code="BROKER_UNAVAILABLE").health_probe()


async def test_an_open_order_can_be_cancelled_once(clock: ManualClock) -> None:
    broker = paper(clock)
    placed = await broker.place_order(order())
    await broker.cancel_order(placed.order_id)
    assert (await broker.order_status(placed.order_id)).state == "cancelled"
    with pytest.raises(OrderRejected, match="cancelled"):
        await broker.cancel_order(placed.order_id)


async def test_an_unknown_order_cannot_be_cancelled(clock: ManualClock) -> None:
    with pytest.raises(OrderRejected, match="no order"):
        await paper(clock).cancel_order("FYERS-404")


async def test_an_open_order_fills_after_fill_after_ms(clock: ManualClock) -> None:
    broker = paper(clock, fill_after_ms=2000)
    placed = await broker.place_order(order())
    assert (await broker.order_status(placed.order_id)).state == "open"
    clock.advance(2)
    status = await broker.order_status(placed.order_id)
    assert (status.state, status.filled_qty, status.average_price) == ("filled", 5, 100.0)


async def test_a_late_rejection_carries_its_message(clock: ManualClock) -> None:
    broker = paper(clock, fill_after_ms=1000, late_reject="RMS: circuit limit")
    placed = await broker.place_order(order())
    clock.advance(1)
    status = await broker.order_status(placed.order_id)
    assert (status.state, status.message) == ("rejected", "RMS: circuit limit")


async def test_a_modified_order_keeps_its_new_terms(clock: ManualClock) -> None:
    broker = paper(clock)
    placed = await broker.place_order(order())
    await broker.modify_order(placed.order_id, OrderChange(order_type="LIMIT", qty=7, price=101.0))
    paper_order = broker.book.by_id(placed.order_id)
    assert paper_order is not None and (paper_order.qty, paper_order.price) == (7, 101.0)


async def test_the_journal_restores_the_book_after_a_restart(clock: ManualClock, tmp_path: Path) -> None:
    journal = tmp_path / "paper" / "fyers.jsonl"
    broker = paper(clock, journal=journal)
    first = await broker.place_order(order("a"))
    second = await broker.place_order(order("b"))
    await broker.cancel_order(first.order_id)
    await broker.close()

    restarted = paper(clock, journal=journal)
    try:
        assert await restarted.find_order_by_tag(order("b")) == second.order_id
        assert (await restarted.order_status(first.order_id)).state == "cancelled"
        third = await restarted.place_order(order("c"))
        assert third.order_id == "FYERS-00000003"
        assert (await restarted.place_order(order("a"))).order_id == first.order_id  # never a second order
    finally:
        await restarted.close()


async def test_a_torn_last_journal_line_is_ignored(clock: ManualClock, tmp_path: Path) -> None:
    journal = tmp_path / "fyers.jsonl"
    broker = paper(clock, journal=journal)
    placed = await broker.place_order(order())
    await broker.close()
    with journal.open("a", encoding="utf-8") as fh:
        fh.write('{"op":"add","order_id":"FYERS-0000')
    restarted = paper(clock, journal=journal)
    try:
        assert len(restarted.book) == 1
        assert await restarted.find_order_by_tag(order()) == placed.order_id
    finally:
        await restarted.close()
