"""Retry decisions and backoff, as small pure pieces with their own tests.

Only what certainly did not reach the broker is retried blindly. An ambiguous failure is
retried only after the gateway has looked the order up by its tag and not found it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tenacity import RetryCallState

from ordod.brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    ClientRateLimited,
    HaltedBeforeSending,
    OrderRejected,
    OutcomeUnknown,
    RateLimitExceeded,
    SessionExpired,
)


class NotFoundAfterLookup(BrokerError):
    """An ambiguous failure, resolved: the broker has no such order, so trying again is safe."""

    def __init__(self, cause: BrokerError) -> None:
        super().__init__(cause.message, http_status=cause.http_status, broker_code=cause.broker_code,
                         broker_message=cause.broker_message, sent=False)
        self.code = cause.code
        self.cause = cause


def is_ambiguous(error: BrokerError) -> bool:
    """The broker may have acted on the request: look before retrying."""
    if isinstance(error, OutcomeUnknown | OrderRejected | SessionExpired | RateLimitExceeded):
        return False
    return isinstance(error, BrokerTimeout) or (isinstance(error, BrokerUnavailable) and error.sent)


def should_retry(error: BaseException) -> bool:
    """Retry only what certainly did not place an order and may succeed next time."""
    if isinstance(error, NotFoundAfterLookup):
        return True
    if isinstance(error, RateLimitExceeded):
        return True
    if isinstance(error, BrokerUnavailable):
        return not error.sent
    return False


def counts_against_breaker(error: BrokerError) -> bool:
    """Transport faults, timeouts and the broker's rate limits say the broker is unwell; a
    business rejection says it is working fine, and what Ordo refused itself (its own rate
    limiter, the kill switch) says nothing about it."""
    if isinstance(error, NotFoundAfterLookup):
        return counts_against_breaker(error.cause)
    return not isinstance(error, OrderRejected | SessionExpired | HaltedBeforeSending | ClientRateLimited)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter (half to all of each step), never shorter than Retry-After."""

    initial_s: float
    max_s: float
    rng: random.Random

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        ceiling = min(self.max_s, self.initial_s * (2 ** max(attempt - 1, 0)))
        jittered = self.rng.uniform(ceiling / 2, ceiling) if ceiling > 0 else 0.0
        if retry_after_s is not None:
            return max(jittered, retry_after_s)
        return jittered

    def __call__(self, state: RetryCallState) -> float:
        """tenacity's ``wait`` hook."""
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after_s if isinstance(error, BrokerError) else None
        return self.delay(state.attempt_number, retry_after)
