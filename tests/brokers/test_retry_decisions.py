"""What the gateway does with each error the adapters raise: retry blindly, look up first,
or stop; and whether it counts against the broker's breaker."""

from __future__ import annotations

import pytest

from ordod.brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    ClientRateLimited,
    HaltedBeforeSending,
    InsufficientFunds,
    InvalidSymbol,
    OrderRejected,
    OutcomeUnknown,
    RateLimitExceeded,
    SessionExpired,
)
from ordod.retry import counts_against_breaker, is_ambiguous, should_retry

CASES: list[tuple[BrokerError, bool, bool, bool]] = [
    # error, retried blindly, looked up first, counts against the breaker
    (BrokerUnavailable("refused", sent=False), True, False, True),
    (BrokerUnavailable("reset after sending", sent=True), False, True, True),
    (BrokerTimeout("no answer / Fyers code 201"), False, True, True),
    (RateLimitExceeded("broker 429", http_status=429, retry_after_s=1), True, False, True),
    (ClientRateLimited("our own limiter", retry_after_s=1), True, False, False),
    (HaltedBeforeSending("kill switch during the wait"), False, False, False),
    (SessionExpired("token refused"), False, False, False),
    (OrderRejected("RMS"), False, False, False),
    (InsufficientFunds("margin shortfall"), False, False, False),
    (InvalidSymbol("unknown symbol", sent=False), False, False, False),
    (OutcomeUnknown("lookup failed"), False, False, True),
]


@pytest.mark.parametrize("error, retried, looked_up, counted", CASES, ids=[type(c[0]).__name__ + str(c[0].sent)
                                                                          for c in CASES])
def test_each_error_has_one_clear_consequence(error: BrokerError, retried: bool, looked_up: bool,
                                              counted: bool) -> None:
    assert should_retry(error) is retried
    assert is_ambiguous(error) is looked_up
    assert counts_against_breaker(error) is counted
