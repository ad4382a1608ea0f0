"""The gateway runs a broker's first attempt without tenacity and hands a failure over as
tenacity's own first attempt. These tests pin that the decisions are the same as before:
how many calls, which sleeps, what the result says."""

from __future__ import annotations

import random
import pytest

from ordo_shared.models import OrderSpec
from ordod.breaker import CircuitBreaker
from ordod.brokers.base import BrokerAdapter, BrokerOrder, BrokerOrderStatus, PlacedOrder, SessionInfo
from ordod.brokers.errors import BrokerError, BrokerUnavailable, OrderRejected, RateLimitExceeded, SessionExpired
from ordod.clock import ManualClock
from ordod.config import BreakerConfig, RetryConfig
from ordod.gateway import BrokerGateway
from ordod.retry import Backoff

class ScriptedBroker(BrokerAdapter):
    """Answers each place_order with the next step of its script: a result or an exception."""

    kind = "scripted"

    def __init__(self, script: list[PlacedOrder | BaseException], holds: str | None = None) -> None:
        super().__init__("scripted")
        self.script = list(script)
        self.holds = holds  # the order id a lookup by tag finds, if any
        self.calls = 0
        self.lookups = 0

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        self.calls += 1
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    async def cancel_order(self, order_id: str) -> None:
        raise NotImplementedError

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        raise NotImplementedError

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        self.lookups += 1
        return self.holds

    def session(self) -> SessionInfo:
        return SessionInfo("valid")

    async def refresh_session(self) -> SessionInfo:
        return SessionInfo("valid")

    async def health_probe(self) -> None:
        return None


ORDER = BrokerOrder("ORD-1", "key-1", OrderSpec(symbol="NSE:SBIN-EQ", side="BUY", qty=1, order_type="MARKET"))
PLACED = PlacedOrder("B-1", broker_code="0", broker_message="ok")


def gateway(broker: ScriptedBroker, sleeps: list[float], max_attempts: int = 3) -> BrokerGateway:
    clock = ManualClock()
    retry = RetryConfig(max_attempts=max_attempts, initial_backoff_ms=100, max_backoff_ms=1000)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return BrokerGateway(
        broker, CircuitBreaker("scripted", BreakerConfig(failure_threshold=100), clock), retry,
        Backoff(0.1, 1.0, random.Random(7)), clock, sleep=sleep,
    )


def expected_sleeps(*attempts: int) -> list[float]:
    """What the backoff gives after each failed attempt, from the same seed."""
    backoff = Backoff(0.1, 1.0, random.Random(7))
    return [backoff.delay(n) for n in attempts]


async def test_a_first_attempt_that_succeeds_is_one_call_and_no_sleep() -> None:
    broker, sleeps = ScriptedBroker([PLACED]), []
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: False)
    assert (result.status, result.order_id, result.attempts) == ("success", "B-1", 1)
    assert (broker.calls, sleeps) == (1, [])


async def test_a_retryable_failure_is_retried_after_the_first_backoff_step() -> None:
    broker, sleeps = ScriptedBroker([RateLimitExceeded("slow down"), PLACED]), []
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: False)
    assert (result.status, result.attempts) == ("success", 2)
    assert broker.calls == 2
    assert sleeps == expected_sleeps(1)


async def test_retries_stop_at_max_attempts_with_growing_backoff_and_the_last_error() -> None:
    script: list[PlacedOrder | BaseException] = [BrokerUnavailable(f"refused {i}", sent=False) for i in range(3)]
    broker, sleeps = ScriptedBroker(script), []
    result = await gateway(broker, sleeps, max_attempts=3).place(ORDER, halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "BROKER_UNAVAILABLE", 3)
    assert result.message == "refused 2"
    assert broker.calls == 3
    assert sleeps == expected_sleeps(1, 2)


@pytest.mark.parametrize(
    "error", [OrderRejected("no such symbol"), SessionExpired("log in again")], ids=["rejection", "session"]
)
async def test_a_failure_that_must_not_be_retried_is_one_call(error: BrokerError) -> None:
    broker, sleeps = ScriptedBroker([error]), []
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: False)
    assert result.status == "error" and result.attempts == 1
    assert (broker.calls, sleeps) == (1, [])


async def test_an_ambiguous_failure_is_looked_up_and_retried_only_when_the_broker_has_nothing() -> None:
    broker, sleeps = ScriptedBroker([BrokerUnavailable("reset after sending", sent=True), PLACED]), []
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: False)
    assert (result.status, result.attempts, broker.calls, broker.lookups) == ("success", 2, 2, 1)
    assert sleeps == expected_sleeps(1)


async def test_an_ambiguous_failure_whose_order_is_found_is_a_success_without_a_second_call() -> None:
    broker, sleeps = ScriptedBroker([BrokerUnavailable("reset after sending", sent=True)], holds="B-9"), []
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: False)
    assert (result.status, result.order_id, result.attempts, broker.calls) == ("success", "B-9", 1, 1)
    assert sleeps == []


async def test_a_single_allowed_attempt_is_never_retried() -> None:
    broker, sleeps = ScriptedBroker([RateLimitExceeded("slow down"), PLACED]), []
    result = await gateway(broker, sleeps, max_attempts=1).place(ORDER, halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "RATE_LIMIT_EXCEEDED", 1)
    assert (broker.calls, sleeps) == (1, [])


async def test_the_kill_switch_stops_retries_after_a_failed_first_attempt() -> None:
    broker, sleeps = ScriptedBroker([RateLimitExceeded("slow down"), PLACED]), []
    switched_on = iter([False, True])
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: next(switched_on))
    assert broker.calls == 1
    assert (result.status, result.error_code, result.attempts) == ("error", "RATE_LIMIT_EXCEEDED", 1)
    assert result.message.endswith("stopped retrying: kill switch is active; not sent")


async def test_a_kill_switch_already_on_sends_nothing() -> None:
    broker, sleeps = ScriptedBroker([PLACED]), []
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: True)
    assert (result.status, result.error_code, result.attempts) == ("error", "KILL_SWITCH_ACTIVE", 0)
    assert broker.calls == 0


async def test_an_adapter_bug_on_the_first_attempt_is_an_unknown_outcome_not_a_crash() -> None:
    broker, sleeps = ScriptedBroker([KeyError("oops")]), []
    result = await gateway(broker, sleeps).place(ORDER, halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "OUTCOME_UNKNOWN", 1)
    assert "KeyError" in result.message
