"""The in-process paper broker: its book, its knobs, and its journal across restarts."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest

from benchmarks.memory import paper_books_mib
from ordo_shared.models import OrderSpec
from ordod.brokers.base import BrokerOrder, OrderChange, client_tag
from ordod.brokers.errors import (
    BrokerTimeout,
    BrokerUnavailable,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    RateLimitExceeded,
)
from ordod.brokers.paper.adapter import RECENT_PLACE_CALLS, PaperBroker, PaperKnobs
from ordod.brokers.paper.journal import PaperJournalCorrupt
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


async def test_a_day_order_still_resting_when_its_day_ends_has_expired(clock: ManualClock) -> None:
    resting_broker, filling_broker = paper(clock), paper(clock, fill_after_ms=3_600_000)
    resting = await resting_broker.place_order(order("resting"))
    filling = await filling_broker.place_order(order("filling"))  # due an hour later, the same day
    clock.advance(24 * 3600)  # the next trading day
    assert (await resting_broker.order_status(resting.order_id)).state == "expired"
    assert (await filling_broker.order_status(filling.order_id)).state == "filled", "it filled on its own day"
    with pytest.raises(OrderRejected, match="expired"):
        await resting_broker.cancel_order(resting.order_id)


async def test_an_unknown_order_id_is_not_found(clock: ManualClock) -> None:
    with pytest.raises(OrderNotFound):
        await paper(clock).order_status("FYERS-00000042")


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


async def test_an_order_is_found_by_its_id_only_as_the_broker_spelled_it(clock: ManualClock) -> None:
    broker = paper(clock)
    placed = await broker.place_order(order())
    assert broker.book.by_id(placed.order_id) is not None
    for other in ("FYERS-1", "FYERS-00000002", "FYERS-00000000", "HDFC-00000001", "FYERS-0000000١", "00000001", ""):
        with pytest.raises(OrderRejected, match="no order"):
            await broker.order_status(other)


async def test_every_place_call_is_counted_and_the_latest_start_times_are_kept(clock: ManualClock) -> None:
    broker = paper(clock, reject_code="RATE_LIMIT_EXCEEDED")
    for _ in range(RECENT_PLACE_CALLS + 10):
        clock.advance(1)
        with pytest.raises(RateLimitExceeded):
            await broker.place_order(order())
    assert broker.calls.place_calls == RECENT_PLACE_CALLS + 10
    assert len(broker.calls.place_started_at) == RECENT_PLACE_CALLS  # bounded, however long the daemon runs
    assert broker.calls.place_started_at[-1] == clock.monotonic()
    assert broker.calls.place_started_at[0] == clock.monotonic() - RECENT_PLACE_CALLS + 1


# --- a MARKET order fills at once; LIMIT and stop orders rest ------------------------------


def market(key: str = "key-m", qty: int = 5) -> BrokerOrder:
    return order(key, order_type="MARKET", price=None, qty=qty)


async def test_a_market_order_is_accepted_and_found_filled_at_its_first_lookup(clock: ManualClock) -> None:
    broker = paper(clock)
    placed = await broker.place_order(market(qty=9))
    assert (placed.broker_code, placed.broker_message) == ("0", "order accepted (paper)")
    status = await broker.order_status(placed.order_id)
    # No market data in a simulation: the fill has no price to report.
    assert (status.state, status.filled_qty, status.average_price, status.message) == ("filled", 9, None, "")


async def test_a_filled_market_order_can_be_neither_cancelled_nor_modified(clock: ManualClock) -> None:
    broker = paper(clock)
    placed = await broker.place_order(market())
    with pytest.raises(OrderRejected, match="is filled"):
        await broker.cancel_order(placed.order_id)
    with pytest.raises(OrderRejected, match="is filled"):
        await broker.modify_order(placed.order_id, OrderChange(order_type="LIMIT", qty=5, price=99.0))
    assert (await broker.order_status(placed.order_id)).state == "filled"


async def test_a_market_order_placed_twice_is_still_one_order(clock: ManualClock) -> None:
    broker = paper(clock)
    first = await broker.place_order(market())
    again = await broker.place_order(market())
    assert again.order_id == first.order_id and len(broker.book) == 1


async def test_a_market_order_under_late_reject_is_rejected_at_once_whatever_fill_after_ms(clock: ManualClock) -> None:
    broker = paper(clock, fill_after_ms=60_000, late_reject="RMS: no margin")
    placed = await broker.place_order(market())
    status = await broker.order_status(placed.order_id)
    assert (status.state, status.filled_qty, status.message) == ("rejected", 0, "RMS: no margin")


async def test_a_limit_order_rests_until_fill_after_ms_and_without_it_stays_open(clock: ManualClock) -> None:
    resting, filling = paper(clock), paper(clock, fill_after_ms=500)
    kept = await resting.place_order(order())
    filled = await filling.place_order(order())
    clock.advance(3600)
    assert (await resting.order_status(kept.order_id)).state == "open"
    assert (await filling.order_status(filled.order_id)).state == "filled"


async def test_a_stop_order_keeps_resting_like_a_limit_order(clock: ManualClock) -> None:
    broker = paper(clock, fill_after_ms=1000)
    placed = await broker.place_order(order(order_type="SL-M", price=None, trigger_price=99.0))
    assert (await broker.order_status(placed.order_id)).state == "open"
    clock.advance(1)
    assert (await broker.order_status(placed.order_id)).state == "filled"


async def test_an_order_turned_into_a_market_order_fills_at_once(clock: ManualClock) -> None:
    broker = paper(clock)
    placed = await broker.place_order(order())
    await broker.modify_order(placed.order_id, OrderChange(order_type="MARKET", qty=4))
    paper_order = broker.book.by_id(placed.order_id)
    assert paper_order is not None
    assert (paper_order.order_type, paper_order.qty, paper_order.price) == ("MARKET", 4, None)
    assert paper_order.state == "filled"
    status = await broker.order_status(placed.order_id)
    assert (status.state, status.filled_qty) == ("filled", 4)


async def test_the_book_reads_back_every_term_of_every_order(clock: ManualClock) -> None:
    broker = paper(clock)
    limit = await broker.place_order(order("a"))
    clock.advance(1)
    stop = await broker.place_order(order("b", order_type="SL", price=99.5, trigger_price=99.25, qty=3))
    filled = await broker.place_order(market("c"))
    await broker.cancel_order(stop.order_id)
    assert [(p.order_id, p.tag, p.qty, p.price, p.state, p.order_type, p.trigger_price, p.placed_at)
            for p in broker.book.orders()] == [
        (limit.order_id, order("a").tag, 5, 100.0, "open", "LIMIT", None, 1_800_000_000.0),
        (stop.order_id, order("b").tag, 3, 99.5, "cancelled", "SL", 99.25, 1_800_000_001.0),
        (filled.order_id, market("c").tag, 5, None, "filled", "MARKET", None, 1_800_000_001.0),
    ]
    assert broker.book.by_tag(order("b").tag) == broker.book.by_id(stop.order_id)
    assert broker.book.by_tag(order("z").tag) is None



# --- the journal: the book across restarts --------------------------------------------------

BEFORE_COLUMNS = Path(__file__).parent.parent / "data" / "paper" / "fyers-before-columns.jsonl"


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


async def test_a_journal_written_before_the_book_kept_columns_is_restored(clock: ManualClock, tmp_path: Path) -> None:
    # Written by the previous version (an object per order): a LIMIT order modified, an SL order
    # cancelled, a MARKET order that waited for fill_after_ms, and the attempt before each.
    journal = tmp_path / "fyers.jsonl"
    journal.write_bytes(BEFORE_COLUMNS.read_bytes())
    restarted = paper(clock, journal=journal)
    try:
        assert [(p.order_id, p.tag, p.qty, p.price, p.state, p.order_type, p.trigger_price)
                for p in restarted.book.orders()] == [
            ("FYERS-00000001", order("a").tag, 7, 101.0, "open", "LIMIT", None),
            ("FYERS-00000002", order("b").tag, 5, 99.5, "cancelled", "SL", 99.0),
            ("FYERS-00000003", order("c").tag, 5, None, "filled", "MARKET", None),
        ]
        assert (await restarted.place_order(order("b"))).order_id == "FYERS-00000002"  # never a second order
        assert (await restarted.place_order(order("d"))).order_id == "FYERS-00000004"
    finally:
        await restarted.close()


async def test_the_journal_lines_are_written_as_before_so_an_older_daemon_reads_them(
    clock: ManualClock, tmp_path: Path
) -> None:
    journal = tmp_path / "fyers.jsonl"
    broker = paper(clock, journal=journal, fill_after_ms=1000)
    # What the previous version did to write its journal, step by step.
    first = await broker.place_order(order("a"))
    stop = await broker.place_order(order("b", order_type="SL", price=99.5, trigger_price=99.0))
    filled = await broker.place_order(market("c"))
    await broker.modify_order(first.order_id, OrderChange(order_type="LIMIT", qty=7, price=101.0))
    await broker.cancel_order(stop.order_id)
    clock.advance(2)
    await broker.order_status(filled.order_id)
    await broker.close()
    before = BEFORE_COLUMNS.read_text().splitlines()
    # Byte for byte, but for the MARKET order, which now fills at once instead of after fill_after_ms.
    assert before[-1] == '{"op":"update","order_id":"FYERS-00000003","state":"filled"}'
    expected = [line.replace('"state":"open","order_type":"MARKET"', '"state":"filled","order_type":"MARKET"')
                for line in before[:-1]]
    assert journal.read_text().splitlines() == expected


async def test_the_journal_lines_of_one_loop_turn_reach_the_file_together_before_the_next_turn(
    clock: ManualClock, tmp_path: Path
) -> None:
    journal = tmp_path / "fyers.jsonl"
    broker = paper(clock, journal=journal)
    try:
        for key in ("a", "b", "c"):  # no await yields at 0 ms latency: one loop turn
            await broker.place_order(order(key))
        assert not journal.exists() or journal.read_bytes() == b""  # not yet: one write at the turn's end
        await asyncio.sleep(0)
        lines = journal.read_text().splitlines()
        assert [json.loads(line)["op"] for line in lines] == ["attempt", "add"] * 3
    finally:
        await broker.close()


async def test_closing_the_broker_writes_what_the_journal_still_holds(clock: ManualClock, tmp_path: Path) -> None:
    journal = tmp_path / "fyers.jsonl"
    broker = paper(clock, journal=journal)
    await broker.place_order(order())
    await broker.close()  # in the same loop turn
    assert len(journal.read_text().splitlines()) == 2


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


async def test_an_order_placed_after_a_torn_line_survives_the_next_restart(clock: ManualClock, tmp_path: Path) -> None:
    journal = tmp_path / "fyers.jsonl"
    journal.write_text('{"op":"add","order_id":"FYERS-0000')  # the daemon died mid-write
    broker = paper(clock, journal=journal)
    placed = await broker.place_order(order())
    await broker.close()
    restarted = paper(clock, journal=journal)
    try:
        # Not glued to the torn line (and lost with it): the tag still finds the one order.
        assert await restarted.find_order_by_tag(order()) == placed.order_id == "FYERS-00000001"
    finally:
        await restarted.close()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"op":"add","order_id":"FYERS-00000002","tag":"t","qty":1}', "FYERS-00000001"),  # a lost add
        ('{"op":"add","order_id":"FYERS-00000001","tag":"t","qty":1,"state":"sleeping"}', "sleeping"),
        ('{"op":"add","order_id":"FYERS-00000001","tag":"t"}', "qty"),
        ('["op","add"]', "not a journal entry"),
    ],
)
def test_a_journal_that_cannot_be_applied_is_refused_with_its_line(
    clock: ManualClock, tmp_path: Path, line: str, says: str
) -> None:
    journal = tmp_path / "fyers.jsonl"
    journal.write_text('{"op":"attempt","tag":"t","ts":1.0}\n' + line + "\n")
    with pytest.raises(PaperJournalCorrupt, match=f"fyers.jsonl:2: .*{says}"):
        paper(clock, journal=journal)


def test_a_paper_order_costs_a_fraction_of_an_object_per_order() -> None:
    # The very measurement make bench subtracts from the daemon's RSS (figure 7), at one broker:
    # about 60 bytes an order now, 450 when each order was an object in two dicts.
    orders = 10_000
    assert paper_books_mib(orders, ("fyers",)) * 2**20 / orders < 150
