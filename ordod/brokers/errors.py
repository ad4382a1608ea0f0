"""Typed broker errors. Each carries Ordo's code plus the broker's own code and message;
whether to retry is decided elsewhere (``ordod.retry``), from the type and ``sent``."""

from __future__ import annotations

from ordo_shared.errors import BrokerErrorCode


class BrokerError(Exception):
    code: BrokerErrorCode = BrokerErrorCode.BROKER_UNAVAILABLE
    # Could the request have reached the broker? False only when it certainly did not
    # (connection refused, DNS failure, rejected by our own rate limiter).
    default_sent: bool = True

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        broker_code: str | None = None,
        broker_message: str | None = None,
        retry_after_s: float | None = None,
        sent: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.broker_code = broker_code
        self.broker_message = broker_message
        self.retry_after_s = retry_after_s
        self.sent = self.default_sent if sent is None else sent


class RateLimitExceeded(BrokerError):
    """The broker (or our limiter) refused the call before acting on it."""

    code = BrokerErrorCode.RATE_LIMIT_EXCEEDED
    default_sent = False


class ClientRateLimited(RateLimitExceeded):
    """Ordo's own rate limiter refused the call: the broker was never asked, and says nothing
    about the broker's health."""


class BrokerUnavailable(BrokerError):
    """Transport failure. ``sent=False`` when the request certainly never left."""

    code = BrokerErrorCode.BROKER_UNAVAILABLE


class BrokerTimeout(BrokerError, TimeoutError):
    """No answer in time: the broker may or may not have acted."""

    code = BrokerErrorCode.TIMEOUT


class HaltedBeforeSending(BrokerError):
    """The kill switch went on while the order waited for its turn at the rate limiter."""

    code = BrokerErrorCode.KILL_SWITCH_ACTIVE
    default_sent = False


class OutcomeUnknown(BrokerError):
    """The broker may hold the order and we cannot find out now."""

    code = BrokerErrorCode.OUTCOME_UNKNOWN


class SessionExpired(BrokerError):
    code = BrokerErrorCode.SESSION_EXPIRED
    default_sent = False


class OrderRejected(BrokerError):
    code = BrokerErrorCode.ORDER_REJECTED


class OrderNotFound(OrderRejected):
    """The broker's order book has no order by this id. Brokers keep a day's book: an order of
    an earlier day that never filled is gone from it once its day ended."""


class InsufficientFunds(OrderRejected):
    code = BrokerErrorCode.INSUFFICIENT_FUNDS


class InvalidSymbol(OrderRejected):
    code = BrokerErrorCode.INVALID_SYMBOL


ERROR_BY_CODE: dict[str, type[BrokerError]] = {
    cls.code.value: cls
    for cls in (
        RateLimitExceeded,
        BrokerUnavailable,
        BrokerTimeout,
        OutcomeUnknown,
        SessionExpired,
        OrderRejected,
        InsufficientFunds,
        InvalidSymbol,
    )
}
