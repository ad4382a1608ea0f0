"""The broker gateway: retries, backoff, kill switch and breaker checks, ambiguous outcomes.

A scripted fake adapter plays the broker; ``sleep`` is a recorder, so backoff costs no time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from ordo_shared.models import OrderSpec, SessionState
from ordod.breaker import CircuitBreaker
from ordod.brokers.base import (
    BrokerAdapter,
    BrokerOrder,
    BrokerOrderStatus,
    OrderChange,
    PlacedOrder,
    SessionInfo,
)
from ordod.brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidSymbol,
    OrderRejected,
    RateLimitExceeded,
    SessionExpired,
)
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import ManualClock
from ordod.config import BreakerConfig, RetryConfig
from ordod.gateway import BrokerGateway
from ordod.retry import Backoff

SEED = 11
ORDER = BrokerOrder(
    order_ref="ORD-1",
    idempotency_key="key-1",
    spec=OrderSpec.model_validate(
        {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 1, "order_type": "LIMIT", "price": 500.5}
    ),
)

# What the fake broker does on successive place_order calls (after the script: accept).
OK = "ok"
HANG = "hang"  # never answers, books nothing
BOOK_THEN_HANG = "book_then_hang"  # books the order, then never answers
Step = str | BrokerError | Exception


class ScriptedBroker(BrokerAdapter):
    kind = "scripted"

    def __init__(self, *script: Step, lookup: Step | None = None) -> None:
        super().__init__("fyers")
        self.script = list(script)
        self.lookup = lookup  # None: answer from the book; an error or HANG: the lookup fails that way
        self.book: dict[str, str] = {}  # tag -> order id
        self.place_calls = 0
        self.lookups = 0

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        self.place_calls += 1
        step = self.script.pop(0) if self.script else OK
        if isinstance(step, Exception):
            if isinstance(step, BrokerError) and step.broker_code == "BOOKED":
                self._book(order)
            raise step
        if step == HANG:
            await asyncio.Event().wait()
        if step == BOOK_THEN_HANG:
            self._book(order)
            await asyncio.Event().wait()
        return PlacedOrder(self._book(order), broker_code="0", broker_message="accepted")

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        self.lookups += 1
        if isinstance(self.lookup, Exception):
            raise self.lookup
        if self.lookup == HANG:
            await asyncio.Event().wait()
        return self.book.get(order.tag)

    def _book(self, order: BrokerOrder) -> str:
        return self.book.setdefault(order.tag, f"FYERS-{len(self.book) + 1}")

    async def cancel_order(self, order_id: str) -> None:
        raise NotImplementedError

    async def modify_order(self, order_id: str, change: OrderChange) -> None:
        raise NotImplementedError

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        raise NotImplementedError

    def session(self) -> SessionInfo:
        state: SessionState = "valid"
        return SessionInfo(state)

    async def refresh_session(self) -> SessionInfo:
        return self.session()

    async def health_probe(self) -> None:
        return None


class Sleeps:
    """The gateway's sleep: records each delay and returns at once; ``then`` runs after each."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.then: Callable[[], None] = lambda: None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.then()


class Switch:
    """The kill switch as the gateway sees it: a callable, which counts how often it is asked."""

    def __init__(self, on: bool = False) -> None:
        self.on = on
        self.checks = 0

    def __call__(self) -> bool:
        self.checks += 1
        return self.on


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_gateway(
    adapter: BrokerAdapter,
    clock: ManualClock,
    sleeps: Sleeps,
    *,
    max_attempts: int = 3,
    call_timeout_s: float = 5.0,
    threshold: int = 100,
) -> BrokerGateway:
    breaker = CircuitBreaker(adapter.broker_id, BreakerConfig(failure_threshold=threshold, reset_timeout_s=30), clock)
    # No pause before a lookup: these tests check the backoff schedule alone.
    retry = RetryConfig(max_attempts=max_attempts, initial_backoff_ms=50, max_backoff_ms=1000,
                        call_timeout_s=call_timeout_s, lookup_delay_ms=0)
    backoff = Backoff(initial_s=0.05, max_s=1.0, rng=random.Random(SEED))
    return BrokerGateway(adapter, breaker, retry, backoff, clock, sleep=sleeps)


def expected_delays(count: int) -> list[float]:
    twin = Backoff(initial_s=0.05, max_s=1.0, rng=random.Random(SEED))
    return [twin.delay(attempt) for attempt in range(1, count + 1)]


def rate_limited(**kw: Any) -> RateLimitExceeded:
    return RateLimitExceeded("too many requests", http_status=429, broker_code="429", **kw)


# --- plain outcomes --------------------------------------------------------------------


async def test_an_accepted_order_is_a_success_after_one_attempt(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker()
    gw = make_gateway(broker, clock, sleeps)
    result = await gw.place(ORDER, halted=Switch())
    assert (result.broker_id, result.status, result.order_id, result.attempts) == ("fyers", "success", "FYERS-1", 1)
    assert (result.error_code, result.broker_code, result.broker_message) == (None, "0", "accepted")
    assert broker.place_calls == 1 and sleeps.delays == []
    assert gw.stats.error_rate == 0.0


async def test_rate_limit_is_retried_exactly_max_attempts_times_with_backoff(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(*[rate_limited() for _ in range(10)])
    gw = make_gateway(broker, clock, sleeps, max_attempts=4)
    result = await gw.place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", "RATE_LIMIT_EXCEEDED", 4)
    assert result.broker_code == "429"
    assert broker.place_calls == 4
    assert sleeps.delays == expected_delays(3)
    assert sleeps.delays == sorted(sleeps.delays)


async def test_rate_limit_waits_at_least_the_brokers_retry_after(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(rate_limited(retry_after_s=2.5), rate_limited(retry_after_s=2.5))
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch())
    assert result.status == "success" and result.attempts == 3
    assert sleeps.delays == [2.5, 2.5]


async def test_a_refused_connection_is_retried_until_it_succeeds(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(BrokerUnavailable("refused", sent=False))
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch())
    assert (result.status, result.attempts) == ("success", 2)
    assert broker.lookups == 0  # certainly not sent: no need to look
    assert broker.book == {ORDER.tag: "FYERS-1"}


@pytest.mark.parametrize(
    "error",
    [
        OrderRejected("price outside band", broker_code="-50", broker_message="RMS: price band"),
        InsufficientFunds("no margin", broker_code="-99", broker_message="margin shortfall"),
        InvalidSymbol("unknown symbol", broker_code="-300", broker_message="invalid symbol"),
        SessionExpired("token expired", broker_code="-16", broker_message="invalid token"),
    ],
    ids=lambda e: e.code.value,
)
async def test_business_rejections_are_not_retried_and_not_held_against_the_breaker(
    error: BrokerError, clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(error, error, error)
    gw = make_gateway(broker, clock, sleeps, threshold=1)
    result = await gw.place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", error.code.value, 1)
    assert (result.message, result.broker_code, result.broker_message) == (
        error.message, error.broker_code, error.broker_message)
    assert broker.place_calls == 1 and broker.lookups == 0 and sleeps.delays == []
    assert gw.breaker.state == "closed" and gw.breaker.consecutive_failures == 0


async def test_transport_failures_count_against_the_breaker(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(rate_limited(), rate_limited(), rate_limited())
    gw = make_gateway(broker, clock, sleeps, max_attempts=3)
    await gw.place(ORDER, halted=Switch())
    assert gw.breaker.consecutive_failures == 3
    assert gw.stats.error_rate == 1.0 and gw.stats.last_error == "RATE_LIMIT_EXCEEDED"


# --- kill switch and breaker -----------------------------------------------------------


async def test_the_kill_switch_is_asked_before_every_attempt(clock: ManualClock, sleeps: Sleeps) -> None:
    switch = Switch()
    broker = ScriptedBroker(rate_limited(), rate_limited(), rate_limited())
    await make_gateway(broker, clock, sleeps, max_attempts=3).place(ORDER, halted=switch)
    assert switch.checks == 3 == broker.place_calls


async def test_an_active_kill_switch_stops_the_order_before_any_call(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker()
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch(on=True))
    assert (result.status, result.error_code, result.attempts) == ("error", "KILL_SWITCH_ACTIVE", 0)
    assert broker.place_calls == 0


async def test_a_kill_switch_turned_on_during_backoff_stops_the_retries(clock: ManualClock, sleeps: Sleeps) -> None:
    switch = Switch()
    sleeps.then = lambda: setattr(switch, "on", True)
    broker = ScriptedBroker(rate_limited(), rate_limited(), rate_limited())
    result = await make_gateway(broker, clock, sleeps, max_attempts=3).place(ORDER, halted=switch)
    assert (result.status, result.error_code, result.attempts) == ("error", "KILL_SWITCH_ACTIVE", 1)
    assert "RATE_LIMIT_EXCEEDED" in result.message  # what the last attempt said is kept for the record
    assert broker.place_calls == 1
    assert len(sleeps.delays) == 1


async def test_an_open_breaker_skips_the_broker_without_calling_it(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker()
    gw = make_gateway(broker, clock, sleeps, threshold=1)
    gw.breaker.record_failure()
    result = await gw.place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("skipped", "CIRCUIT_OPEN", 0)
    assert "open" in result.message
    assert broker.place_calls == 0


async def test_a_half_open_breaker_also_skips_the_broker(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker()
    gw = make_gateway(broker, clock, sleeps, threshold=1)
    gw.breaker.record_failure()
    clock.advance(30)
    result = await gw.place(ORDER, halted=Switch())
    assert (result.status, result.error_code) == ("skipped", "CIRCUIT_OPEN")
    assert "half_open" in result.message
    assert broker.place_calls == 0


async def test_a_breaker_that_opens_mid_retry_stops_the_retries(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(*[rate_limited() for _ in range(5)])
    gw = make_gateway(broker, clock, sleeps, max_attempts=5, threshold=2)
    result = await gw.place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", "RATE_LIMIT_EXCEEDED", 2)
    assert "stopped retrying: circuit breaker is open" in result.message
    assert broker.place_calls == 2


async def test_the_kill_switch_wins_over_an_open_breaker(clock: ManualClock, sleeps: Sleeps) -> None:
    gw = make_gateway(ScriptedBroker(), clock, sleeps, threshold=1)
    gw.breaker.record_failure()
    result = await gw.place(ORDER, halted=Switch(on=True))
    assert result.error_code == "KILL_SWITCH_ACTIVE"


# --- ambiguous outcomes ----------------------------------------------------------------


async def test_an_ambiguous_timeout_where_the_broker_booked_the_order_is_a_success_found_by_tag(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(BrokerTimeout("no answer", broker_code="BOOKED"))
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch())
    assert (result.status, result.order_id, result.attempts) == ("success", "FYERS-1", 1)
    assert "found by tag" in (result.broker_message or "")
    assert broker.place_calls == 1 and broker.lookups == 1
    assert len(broker.book) == 1


async def test_an_ambiguous_failure_not_found_at_the_broker_is_retried_once_placed(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(BrokerUnavailable("connection reset", sent=True))
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch())
    assert (result.status, result.attempts) == ("success", 2)
    assert broker.place_calls == 2 and broker.lookups == 1
    assert len(broker.book) == 1
    assert sleeps.delays == expected_delays(1)


async def test_an_ambiguous_failure_not_found_every_time_ends_with_its_own_code(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(*[BrokerTimeout("no answer") for _ in range(3)])
    result = await make_gateway(broker, clock, sleeps, max_attempts=3).place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", "TIMEOUT", 3)
    assert broker.lookups == 3 and broker.book == {}


@pytest.mark.parametrize("lookup", [BrokerUnavailable("lookup refused", sent=False), HANG], ids=["error", "hang"])
async def test_a_failed_lookup_is_outcome_unknown_and_never_retried(
    lookup: Step, clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(BrokerTimeout("no answer", http_status=504), lookup=lookup)
    result = await make_gateway(broker, clock, sleeps, call_timeout_s=0.02).place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", "OUTCOME_UNKNOWN", 1)
    assert "lookup failed" in result.message
    assert broker.place_calls == 1 and sleeps.delays == []


async def test_a_call_slower_than_the_timeout_takes_the_timeout_path(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(HANG)
    gw = make_gateway(broker, clock, sleeps, call_timeout_s=0.02)
    result = await gw.place(ORDER, halted=Switch())
    assert (result.status, result.attempts) == ("success", 2)
    assert broker.lookups == 1 and len(broker.book) == 1
    assert gw.stats.last_error == "TIMEOUT"


async def test_a_slow_call_that_did_book_is_found_and_not_placed_twice(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(BOOK_THEN_HANG)
    result = await make_gateway(broker, clock, sleeps, call_timeout_s=0.02).place(ORDER, halted=Switch())
    assert (result.status, result.order_id, result.attempts) == ("success", "FYERS-1", 1)
    assert broker.place_calls == 1 and len(broker.book) == 1


async def test_calls_that_always_time_out_end_as_timeout(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(HANG, HANG)
    result = await make_gateway(broker, clock, sleeps, max_attempts=2, call_timeout_s=0.02).place(
        ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", "TIMEOUT", 2)
    assert "no answer within 0.02s" in result.message


async def test_a_bare_timeout_error_from_the_adapter_is_treated_as_a_broker_timeout(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(TimeoutError("socket read timed out"))
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch())
    assert (result.status, result.attempts) == ("success", 2)
    assert broker.lookups == 1


# --- the gateway never raises ----------------------------------------------------------


async def test_an_adapter_bug_becomes_an_outcome_unknown_result(clock: ManualClock, sleeps: Sleeps) -> None:
    broker = ScriptedBroker(KeyError("order_id"))
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", "OUTCOME_UNKNOWN", 1)
    assert "KeyError" in result.message
    assert broker.place_calls == 1


async def test_an_adapter_bug_in_the_lookup_becomes_an_outcome_unknown_result(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    broker = ScriptedBroker(BrokerTimeout("no answer"), lookup=AttributeError("oops"))
    result = await make_gateway(broker, clock, sleeps).place(ORDER, halted=Switch())
    assert (result.status, result.error_code) == ("error", "OUTCOME_UNKNOWN")
    assert broker.place_calls == 1


# --- with the paper broker -------------------------------------------------------------


async def test_the_paper_broker_accepts_through_the_gateway(clock: ManualClock, sleeps: Sleeps) -> None:
    paper = PaperBroker("hdfc", PaperKnobs(latency_ms=0), clock)
    result = await make_gateway(paper, clock, sleeps).place(ORDER, halted=Switch())
    assert (result.broker_id, result.status, result.order_id) == ("hdfc", "success", "HDFC-00000001")
    assert len(paper.book) == 1


async def test_the_paper_broker_rate_limiting_is_retried_max_attempts_times(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    paper = PaperBroker("hdfc", PaperKnobs(latency_ms=0, reject_code="RATE_LIMIT_EXCEEDED"), clock)
    result = await make_gateway(paper, clock, sleeps, max_attempts=3).place(ORDER, halted=Switch())
    assert (result.status, result.error_code, result.attempts) == ("error", "RATE_LIMIT_EXCEEDED", 3)
    assert paper.calls.place_calls == 3
    assert len(paper.book) == 0


async def test_the_same_order_placed_twice_at_the_paper_broker_is_one_order(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    paper = PaperBroker("hdfc", PaperKnobs(latency_ms=0), clock)
    gw = make_gateway(paper, clock, sleeps)
    first = await gw.place(ORDER, halted=Switch())
    second = await gw.place(ORDER, halted=Switch())
    assert first.order_id == second.order_id
    assert len(paper.book) == 1


# --- amending accepted orders ----------------------------------------------------------


async def test_amend_retries_an_ambiguous_failure_even_through_an_open_breaker(
    clock: ManualClock, sleeps: Sleeps
) -> None:
    outcomes: list[BaseException | None] = [BrokerTimeout("no answer"), None]

    async def cancel() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    gw = make_gateway(ScriptedBroker(), clock, sleeps, threshold=1)
    result = await gw.amend("FYERS-1", cancel)
    assert (result.status, result.order_id, result.attempts) == ("success", "FYERS-1", 2)
    assert gw.breaker.state == "open"  # the timeout opened it; removing risk went ahead regardless


async def test_amend_does_not_retry_a_rejection(clock: ManualClock, sleeps: Sleeps) -> None:
    calls: list[str] = []

    async def cancel() -> None:
        calls.append("cancel")
        raise OrderRejected("order is filled")

    result = await make_gateway(ScriptedBroker(), clock, sleeps).amend("FYERS-1", cancel)
    assert (result.status, result.error_code, result.order_id) == ("error", "ORDER_REJECTED", "FYERS-1")
    assert calls == ["cancel"]
