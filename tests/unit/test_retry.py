"""Retry decisions (table-driven, for every broker error) and the backoff schedule."""

from __future__ import annotations

import random

import pytest
from tenacity import RetryCallState

from ordo_shared.errors import BrokerErrorCode
from ordod.brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    ClientRateLimited,
    HaltedBeforeSending,
    InsufficientFunds,
    InvalidSymbol,
    OrderNotFound,
    OrderRejected,
    OutcomeUnknown,
    RateLimitExceeded,
    SessionExpired,
)
from ordod.retry import Backoff, NotFoundAfterLookup, counts_against_breaker, is_ambiguous, should_retry

# error, then: retried blindly?, looked up before any retry?, counted against the breaker?
DECISIONS: list[tuple[BrokerError, bool, bool, bool]] = [
    (RateLimitExceeded("429"), True, False, True),
    (RateLimitExceeded("429", sent=True), True, False, True),
    (ClientRateLimited("Ordo's own limiter", retry_after_s=1.0), True, False, False),
    (HaltedBeforeSending("kill switch went on during the wait"), False, False, False),
    (BrokerUnavailable("refused", sent=False), True, False, True),
    (BrokerUnavailable("reset mid-request"), False, True, True),
    (BrokerUnavailable("reset mid-request", sent=True), False, True, True),
    (BrokerTimeout("no answer"), False, True, True),
    (BrokerTimeout("connect timeout", sent=False), False, True, True),
    (OutcomeUnknown("lookup failed"), False, False, True),
    (OutcomeUnknown("lookup failed", sent=False), False, False, True),
    (SessionExpired("token expired"), False, False, False),
    (SessionExpired("token expired", sent=True), False, False, False),
    (OrderRejected("price band"), False, False, False),
    (OrderRejected("price band", sent=False), False, False, False),
    (OrderNotFound("no order F-1"), False, False, False),
    (InsufficientFunds("no margin"), False, False, False),
    (InsufficientFunds("no margin", sent=False), False, False, False),
    (InvalidSymbol("no such symbol"), False, False, False),
    (InvalidSymbol("no such symbol", sent=False), False, False, False),
    (BrokerError("unclassified"), False, False, True),
    (BrokerError("unclassified", sent=False), False, False, True),
    (NotFoundAfterLookup(BrokerTimeout("no answer")), True, False, True),
    (NotFoundAfterLookup(BrokerUnavailable("reset", sent=True)), True, False, True),
]


def _id(case: tuple[BrokerError, bool, bool, bool]) -> str:
    error = case[0]
    cause = f"({type(error.cause).__name__})" if isinstance(error, NotFoundAfterLookup) else ""
    return f"{type(error).__name__}{cause}-sent={error.sent}"


@pytest.mark.parametrize(("error", "retry", "ambiguous", "counts"), DECISIONS, ids=[_id(c) for c in DECISIONS])
def test_should_retry(error: BrokerError, retry: bool, ambiguous: bool, counts: bool) -> None:
    assert should_retry(error) is retry


@pytest.mark.parametrize(("error", "retry", "ambiguous", "counts"), DECISIONS, ids=[_id(c) for c in DECISIONS])
def test_is_ambiguous(error: BrokerError, retry: bool, ambiguous: bool, counts: bool) -> None:
    assert is_ambiguous(error) is ambiguous


@pytest.mark.parametrize(("error", "retry", "ambiguous", "counts"), DECISIONS, ids=[_id(c) for c in DECISIONS])
def test_counts_against_breaker(error: BrokerError, retry: bool, ambiguous: bool, counts: bool) -> None:
    assert counts_against_breaker(error) is counts


@pytest.mark.parametrize(("error", "retry", "ambiguous", "counts"), DECISIONS, ids=[_id(c) for c in DECISIONS])
def test_nothing_is_both_retried_blindly_and_ambiguous(
    error: BrokerError, retry: bool, ambiguous: bool, counts: bool
) -> None:
    assert not (should_retry(error) and is_ambiguous(error))


def test_every_broker_error_class_is_in_the_decision_table() -> None:
    def subclasses(cls: type[BrokerError]) -> set[type[BrokerError]]:
        found = set(cls.__subclasses__())
        for sub in list(found):
            found |= subclasses(sub)
        return found

    covered = {type(error) for error, *_ in DECISIONS}
    assert subclasses(BrokerError) | {BrokerError} <= covered


@pytest.mark.parametrize("error", [ValueError("bug"), TimeoutError(), RuntimeError("adapter bug")])
def test_exceptions_that_are_not_broker_errors_are_never_retried(error: Exception) -> None:
    assert should_retry(error) is False


def test_not_found_after_lookup_keeps_the_cause_and_says_not_sent() -> None:
    cause = BrokerTimeout("no answer", http_status=504, broker_code="E504", broker_message="gateway timeout")
    resolved = NotFoundAfterLookup(cause)
    assert resolved.code is BrokerErrorCode.TIMEOUT
    assert (resolved.message, resolved.http_status, resolved.broker_code, resolved.broker_message) == (
        "no answer", 504, "E504", "gateway timeout")
    assert resolved.sent is False
    assert resolved.cause is cause


def test_a_broker_timeout_is_also_a_timeout_error() -> None:
    assert isinstance(BrokerTimeout("x"), TimeoutError)


# --- backoff ---------------------------------------------------------------------------


def backoff(seed: int = 1, initial_s: float = 0.1, max_s: float = 1.0) -> Backoff:
    return Backoff(initial_s=initial_s, max_s=max_s, rng=random.Random(seed))


@pytest.mark.parametrize(("attempt", "step"), [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (12, 1.0)])
def test_each_delay_is_between_half_and_all_of_its_step(attempt: int, step: float) -> None:
    for seed in range(50):
        delay = backoff(seed).delay(attempt)
        assert step / 2 <= delay <= step


def test_delays_grow_until_the_cap() -> None:
    b = backoff(seed=3)
    delays = [b.delay(attempt) for attempt in range(1, 5)]
    assert delays == sorted(delays)
    assert delays[-1] > 2 * delays[0]


def test_delays_never_exceed_the_cap() -> None:
    b = backoff(seed=4, initial_s=0.5, max_s=2.0)
    assert max(b.delay(attempt) for attempt in range(1, 40)) <= 2.0


def test_attempt_zero_is_treated_as_the_first() -> None:
    assert 0.05 <= backoff().delay(0) <= 0.1


def test_retry_after_wins_when_it_is_longer() -> None:
    assert backoff().delay(1, retry_after_s=5.0) == 5.0


def test_retry_after_may_exceed_the_cap() -> None:
    assert backoff(max_s=1.0).delay(1, retry_after_s=30.0) == 30.0


def test_a_short_retry_after_does_not_shorten_the_backoff() -> None:
    assert backoff().delay(3, retry_after_s=0.001) >= 0.2


def test_the_same_seed_gives_the_same_schedule() -> None:
    a, b = backoff(seed=42), backoff(seed=42)
    assert [a.delay(n) for n in range(1, 6)] == [b.delay(n) for n in range(1, 6)]
    assert [backoff(seed=43).delay(n) for n in range(1, 6)] != [backoff(seed=42).delay(n) for n in range(1, 6)]


def test_a_zero_initial_backoff_means_no_wait() -> None:
    assert backoff(initial_s=0.0).delay(5) == 0.0


def _state_after(error: BaseException, attempt_number: int) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt_number
    state.set_exception((type(error), error, None))
    return state


def test_the_tenacity_hook_uses_the_attempt_number_and_retry_after() -> None:
    reference = backoff(seed=9)
    hook = backoff(seed=9)
    assert hook(_state_after(BrokerUnavailable("x", sent=False), 3)) == reference.delay(3)
    assert hook(_state_after(RateLimitExceeded("429", retry_after_s=7.0), 1)) == 7.0


def test_the_tenacity_hook_ignores_retry_after_on_foreign_errors() -> None:
    error = ValueError("x")
    error.retry_after_s = 99.0  # type: ignore[attr-defined]
    assert backoff().__call__(_state_after(error, 1)) <= 0.1
