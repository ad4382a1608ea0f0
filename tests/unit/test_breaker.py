"""The circuit breaker, driven by a hand-moved clock: closed -> open -> half_open -> closed/open."""

from __future__ import annotations

import pytest

from ordo_shared.models import BreakerState
from ordod.breaker import CircuitBreaker
from ordod.brokers.errors import BrokerUnavailable
from ordod.clock import ManualClock
from ordod.config import BreakerConfig

THRESHOLD = 3
RESET_S = 30.0

Transition = tuple[str, BreakerState, BreakerState]


@pytest.fixture
def transitions() -> list[Transition]:
    return []


@pytest.fixture
def breaker(clock: ManualClock, transitions: list[Transition]) -> CircuitBreaker:
    config = BreakerConfig(failure_threshold=THRESHOLD, reset_timeout_s=RESET_S)
    return CircuitBreaker("fyers", config, clock, on_change=lambda *t: transitions.append(t))


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """A fresh read of the state, which moves with the clock (so no type narrowing between reads)."""
    return breaker.state


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record_failure()


async def healthy() -> None:
    return None


async def down() -> None:
    raise BrokerUnavailable("still down")


def opened(breaker: CircuitBreaker) -> CircuitBreaker:
    fail(breaker, THRESHOLD)
    assert state_of(breaker) == "open"
    return breaker


def test_a_new_breaker_is_closed_and_allows_orders(breaker: CircuitBreaker) -> None:
    assert state_of(breaker) == "closed"
    assert breaker.allows_orders() is True


def test_failures_below_the_threshold_keep_it_closed(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD - 1)
    assert state_of(breaker) == "closed"
    assert breaker.consecutive_failures == THRESHOLD - 1


def test_it_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD)
    assert state_of(breaker) == "open"
    assert breaker.allows_orders() is False


def test_a_success_resets_the_consecutive_count(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD - 1)
    breaker.record_success()
    assert breaker.consecutive_failures == 0
    fail(breaker, THRESHOLD - 1)
    assert state_of(breaker) == "closed"


def test_it_stays_open_until_the_reset_timeout(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    clock.advance(RESET_S - 0.001)
    assert state_of(breaker) == "open"
    assert breaker.probe_due() is False


def test_it_goes_half_open_after_the_reset_timeout(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    clock.advance(RESET_S)
    assert state_of(breaker) == "half_open"
    assert breaker.probe_due() is True


def test_half_open_still_refuses_orders(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    clock.advance(RESET_S)
    assert breaker.allows_orders() is False


def test_a_late_success_does_not_close_an_open_breaker(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    breaker.record_success()
    assert state_of(breaker) == "open"
    clock.advance(RESET_S)
    breaker.record_success()
    assert state_of(breaker) == "half_open"


async def test_a_successful_probe_closes_it(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    clock.advance(RESET_S)
    assert await breaker.probe(healthy) is True
    assert state_of(breaker) == "closed"
    assert breaker.allows_orders() is True
    assert breaker.consecutive_failures == 0


async def test_a_failed_probe_reopens_it_and_restarts_the_timer(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    clock.advance(RESET_S)
    assert await breaker.probe(down) is False
    assert state_of(breaker) == "open"
    clock.advance(RESET_S - 0.001)
    assert state_of(breaker) == "open"
    clock.advance(0.001)
    assert state_of(breaker) == "half_open"


async def test_no_probe_runs_while_it_is_open_or_closed(breaker: CircuitBreaker, clock: ManualClock) -> None:
    calls: list[str] = []

    async def counted() -> None:
        calls.append("probe")

    assert await breaker.probe(counted) is False  # closed
    opened(breaker)
    assert await breaker.probe(counted) is False  # open, timer running
    assert calls == []


async def test_no_second_probe_is_due_while_one_is_running(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    clock.advance(RESET_S)
    seen_due: list[bool] = []

    async def probe_watching_itself() -> None:
        seen_due.append(breaker.probe_due())

    assert await breaker.probe(probe_watching_itself) is True
    assert seen_due == [False]


def test_the_breaker_reopens_only_from_closed_on_failures(breaker: CircuitBreaker, clock: ManualClock) -> None:
    opened(breaker)
    clock.advance(RESET_S)
    assert state_of(breaker) == "half_open"
    fail(breaker, THRESHOLD * 2)  # late failures of attempts begun before it opened: the probe decides
    assert state_of(breaker) == "half_open"


async def test_the_listener_hears_every_transition_in_order(
    breaker: CircuitBreaker, clock: ManualClock, transitions: list[Transition]
) -> None:
    opened(breaker)
    clock.advance(RESET_S)
    assert state_of(breaker) == "half_open"
    await breaker.probe(down)
    clock.advance(RESET_S)
    await breaker.probe(healthy)
    assert transitions == [
        ("fyers", "closed", "open"),
        ("fyers", "open", "half_open"),
        ("fyers", "half_open", "open"),
        ("fyers", "open", "half_open"),
        ("fyers", "half_open", "closed"),
    ]


def test_the_listener_is_not_told_about_non_changes(breaker: CircuitBreaker, transitions: list[Transition]) -> None:
    fail(breaker, THRESHOLD - 1)
    breaker.record_success()
    assert state_of(breaker) == "closed"
    assert transitions == []


def test_a_threshold_of_one_opens_on_the_first_failure(clock: ManualClock) -> None:
    breaker = CircuitBreaker("hdfc", BreakerConfig(failure_threshold=1, reset_timeout_s=1.0), clock)
    breaker.record_failure()
    assert state_of(breaker) == "open"
