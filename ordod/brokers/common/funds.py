"""The optional pre-trade funds check: the broker's available funds, read through its
funds endpoint and reused for a few seconds, against the order's notional value."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ordo_shared.models import OrderSpec
from ordod.brokers.errors import BrokerError, BrokerUnavailable, InsufficientFunds, SessionExpired
from ordod.clock import Clock

FetchAvailable = Callable[[], Awaitable[float]]


class FundsCheck:
    def __init__(self, broker_id: str, fetch_available: FetchAvailable, clock: Clock, cache_s: float) -> None:
        self.broker_id = broker_id
        self._fetch = fetch_available
        self._clock = clock
        self._cache_s = cache_s
        self._cached: tuple[float, float] | None = None  # (read at, available)

    async def check(self, order: OrderSpec) -> None:
        """Raises ``InsufficientFunds`` (not sent) when the order is worth more than is available.
        A MARKET order carries no price, so it cannot be valued and is let through."""
        reference = order.price if order.price is not None else order.trigger_price
        if reference is None:
            return
        notional = order.qty * reference
        available = await self.available()
        if notional > available:
            raise InsufficientFunds(
                f"funds pre-check: order value {notional:,.2f} exceeds the {available:,.2f} available at "
                f"{self.broker_id}; not sent",
                broker_message="pre-trade funds check (Ordo)", sent=False,
            )

    async def available(self) -> float:
        now = self._clock.monotonic()
        if self._cached is not None and now - self._cached[0] < self._cache_s:
            return self._cached[1]
        try:
            available = await self._fetch()
        except SessionExpired:
            raise
        except BrokerError as exc:
            # Only the funds call failed; the order itself has not gone anywhere.
            raise BrokerUnavailable(f"funds pre-check failed: {exc.message}; not sent", http_status=exc.http_status,
                                    broker_code=exc.broker_code, broker_message=exc.broker_message,
                                    sent=False) from None
        self._cached = (now, available)
        return available
