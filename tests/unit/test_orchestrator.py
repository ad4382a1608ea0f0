"""The order pipeline with real parts (SQLite, paper brokers, audit log) and instant backoff."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import pytest

from ordo_shared.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    KillSwitchActive,
    ShuttingDown,
    ValidationFailed,
)
from ordo_shared.messages import PlaceOrderRequest
from ordo_shared.models import Event
from ordod.audit import AuditLog, SqliteAuditStore
from ordod.auth import Principal
from ordod.breaker import CircuitBreaker
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import ManualClock
from ordod.config import BreakerConfig, LimitsConfig, RetryConfig
from ordod.gateway import BrokerGateway
from ordod.idempotency import SqliteIdempotencyStore
from ordod.kill_switch import GLOBAL, KillSwitch, SqliteKillSwitchStore
from ordod.orchestrator import Orchestrator
from ordod.retry import Backoff
from ordod.session_manager import SessionManager
from ordod.storage.database import Database
from ordod.validator import PreTradeValidator

TRADER = Principal("alice", "trader")
BROKERS = ("fyers", "hdfc")


def request(key: str = "key-1", **order: Any) -> PlaceOrderRequest:
    fields: dict[str, Any] = {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 10, "order_type": "LIMIT", "price": 100.0}
    fields.update(order)
    return PlaceOrderRequest.model_validate({"v": 1, "op": "place_order", "idempotency_key": key, "order": fields})


async def no_wait(seconds: float) -> None:
    return None


class RoundTrip:
    """The paper brokers' network: instant while open, held while the test keeps it closed."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.used = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.used.set()
        await self.open.wait()


@dataclass
class Desk:
    orchestrator: Orchestrator
    brokers: dict[str, PaperBroker]
    kill_switch: KillSwitch
    audit: AuditLog
    events: list[Event]
    network: RoundTrip

    async def audited(self) -> list[tuple[str, str | None, str | None]]:
        await self.audit.flush()
        return [(e.type, e.order_ref, e.broker_id) for e in self.events]

    def orders_at(self, broker_id: str) -> int:
        return len(self.brokers[broker_id].book)


@pytest.fixture
async def desk(db: Database, clock: ManualClock) -> Desk:
    events: list[Event] = []
    audit = AuditLog(db, SqliteAuditStore(db), clock, events.append)
    await audit.start()
    idempotency = SqliteIdempotencyStore(db, ttl_s=3600)
    await idempotency.start(clock.time())
    kill_switch = KillSwitch(SqliteKillSwitchStore(db), clock, min_hold_s=0)
    await kill_switch.start()
    network = RoundTrip()
    brokers = {b: PaperBroker(b, PaperKnobs(latency_ms=1), clock, rng=random.Random(1), sleep=network)
               for b in BROKERS}
    retry = RetryConfig(max_attempts=3, call_timeout_s=5)
    gateways = {
        b: BrokerGateway(adapter, CircuitBreaker(b, BreakerConfig(), clock), retry,
                         Backoff(0.01, 0.1, random.Random(2)), clock, sleep=no_wait)
        for b, adapter in brokers.items()
    }
    validator = PreTradeValidator(LimitsConfig(max_qty=1000, max_notional=1_000_000.0), list(BROKERS), list(BROKERS))
    orchestrator = Orchestrator(idempotency, kill_switch, SessionManager(dict(brokers)), validator, gateways, audit,
                                clock)
    return Desk(orchestrator, brokers, kill_switch, audit, events, network)


async def test_an_order_fans_out_to_every_enabled_broker(desk: Desk) -> None:
    reply = await desk.orchestrator.place_order(request(), TRADER)
    assert (reply.status, reply.http_status, reply.replayed) == ("success", 200, False)
    assert [(r.broker_id, r.status) for r in reply.results] == [("fyers", "success"), ("hdfc", "success")]
    assert [r.order_id for r in reply.results] == ["FYERS-00000001", "HDFC-00000001"]
    assert desk.orders_at("fyers") == desk.orders_at("hdfc") == 1


async def test_each_order_is_audited_from_receipt_to_completion(desk: Desk) -> None:
    reply = await desk.orchestrator.place_order(request(), TRADER)
    ref = reply.order_ref
    events = await desk.audited()
    assert events[0] == ("order.received", ref, None)
    assert sorted(events[1:3]) == [("broker.result", ref, "fyers"), ("broker.result", ref, "hdfc")]
    assert events[3:] == [("order.completed", ref, None)]


async def test_the_same_key_and_order_replays_without_a_second_broker_call(desk: Desk) -> None:
    first = await desk.orchestrator.place_order(request(), TRADER)
    again = await desk.orchestrator.place_order(request(), TRADER)
    assert again.replayed is True
    assert again.model_copy(update={"replayed": False}) == first
    assert desk.orders_at("fyers") == desk.orders_at("hdfc") == 1


async def test_the_same_key_with_another_order_is_refused(desk: Desk) -> None:
    await desk.orchestrator.place_order(request(), TRADER)
    with pytest.raises(IdempotencyKeyReused):
        await desk.orchestrator.place_order(request(qty=11), TRADER)
    assert "order.rejected" in [t for t, _, _ in await desk.audited()]


async def test_a_duplicate_while_the_first_is_at_the_brokers_is_in_flight(desk: Desk) -> None:
    desk.network.open.clear()
    first = asyncio.ensure_future(desk.orchestrator.place_order(request(), TRADER))
    await desk.network.used.wait()  # the first order is at the brokers now
    with pytest.raises(IdempotencyKeyInFlight):
        await desk.orchestrator.place_order(request(), TRADER)
    desk.network.open.set()
    assert (await first).status == "success"
    assert desk.orders_at("fyers") == desk.orders_at("hdfc") == 1


async def test_an_active_kill_switch_refuses_the_order_and_frees_the_key(desk: Desk) -> None:
    await desk.kill_switch.turn_on(GLOBAL, "halt", "ops")
    with pytest.raises(KillSwitchActive, match="halt"):
        await desk.orchestrator.place_order(request(), TRADER)
    assert desk.orders_at("fyers") == desk.orders_at("hdfc") == 0
    assert desk.brokers["fyers"].calls.place_calls == 0
    await desk.kill_switch.turn_off(GLOBAL, "ops", confirm=True)
    assert (await desk.orchestrator.place_order(request(), TRADER)).status == "success"


async def test_an_isolated_broker_is_skipped_and_the_rest_still_trade(desk: Desk) -> None:
    await desk.kill_switch.turn_on("fyers", "bad fills", "ops")
    reply = await desk.orchestrator.place_order(request(), TRADER)
    assert (reply.status, reply.http_status) == ("partial_success", 207)
    by_broker = {r.broker_id: r for r in reply.results}
    assert by_broker["fyers"].error_code == "KILL_SWITCH_ACTIVE" and by_broker["fyers"].attempts == 0
    assert by_broker["hdfc"].status == "success"
    assert desk.orders_at("fyers") == 0


async def test_an_order_whose_every_target_is_isolated_is_refused(desk: Desk) -> None:
    await desk.kill_switch.turn_on("fyers", "bad fills", "ops")
    with pytest.raises(KillSwitchActive, match="isolated"):
        await desk.orchestrator.place_order(request(brokers=["fyers"]), TRADER)


async def test_an_order_over_the_limits_is_refused_and_its_key_freed(desk: Desk) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await desk.orchestrator.place_order(request(qty=1001), TRADER)
    assert caught.value.field == "order.qty"
    assert (await desk.orchestrator.place_order(request(qty=1000), TRADER)).status == "success"  # same key


async def test_an_unknown_broker_is_refused_before_anything_is_stored(desk: Desk) -> None:
    with pytest.raises(ValidationFailed, match="unknown broker"):
        await desk.orchestrator.place_order(request(brokers=["upstox"]), TRADER)
    assert await desk.orchestrator.idempotency.recent(10) == []


async def test_one_broker_rejecting_is_a_partial_success(desk: Desk) -> None:
    desk.brokers["hdfc"].knobs.reject_code = "INSUFFICIENT_FUNDS"
    reply = await desk.orchestrator.place_order(request(), TRADER)
    assert (reply.status, reply.http_status) == ("partial_success", 207)
    assert {r.broker_id: r.error_code for r in reply.results} == {"fyers": None, "hdfc": "INSUFFICIENT_FUNDS"}


async def test_every_broker_rejecting_is_a_failure(desk: Desk) -> None:
    for broker in desk.brokers.values():
        broker.knobs.reject_code = "ORDER_REJECTED"
    reply = await desk.orchestrator.place_order(request(), TRADER)
    assert (reply.status, reply.http_status) == ("failed", 502)


async def test_a_failed_order_replays_its_failure_rather_than_trying_again(desk: Desk) -> None:
    desk.brokers["hdfc"].knobs.reject_code = "ORDER_REJECTED"
    await desk.orchestrator.place_order(request(brokers=["hdfc"]), TRADER)
    desk.brokers["hdfc"].knobs.reject_code = ""
    again = await desk.orchestrator.place_order(request(brokers=["hdfc"]), TRADER)
    assert (again.replayed, again.status) == (True, "failed")
    assert desk.orders_at("hdfc") == 0


async def test_a_daemon_that_is_stopping_takes_no_new_orders(desk: Desk) -> None:
    desk.orchestrator.accepting = False
    with pytest.raises(ShuttingDown):
        await desk.orchestrator.place_order(request(), TRADER)
    assert await desk.orchestrator.idempotency.recent(10) == []


async def test_the_completed_order_is_stored_with_its_results(desk: Desk) -> None:
    reply = await desk.orchestrator.place_order(request(), TRADER)
    record = await desk.orchestrator.idempotency.get(key="key-1")
    assert record is not None
    assert (record.order_ref, record.state, record.status) == (reply.order_ref, "completed", "success")
    assert record.results == reply.results


async def test_every_order_received_is_closed_by_an_outcome_for_the_same_order_ref(desk: Desk) -> None:
    await desk.orchestrator.place_order(request(), TRADER)
    await desk.orchestrator.place_order(request(), TRADER)  # a replay
    events = await desk.audited()
    received = [ref for t, ref, _ in events if t == "order.received"]
    closed = {ref for t, ref, _ in events if t in ("order.completed", "order.rejected", "order.replayed")}
    assert len(received) == 2
    assert set(received) <= closed
