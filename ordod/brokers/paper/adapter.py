"""A broker simulated in-process, with knobs for latency, rejection and transport faults.

It keeps an order book keyed by the client tag, like a real broker's, so the pipeline's
duplicate protection is exercised for real, and it counts the calls that reach it (with the
start times of the most recent) so tests can prove when attempts stopped reaching it.

A MARKET order is acknowledged as accepted and is filled at once, as at an exchange, where
it fills within milliseconds: its first status lookup finds it filled (at no price: the
simulation has no market data), and it can no longer be cancelled or modified. A LIMIT or
stop order rests until ``fill_after_ms`` (if set) has passed since it was placed. With
``late_reject`` set, orders are rejected instead of filled, a MARKET order at once.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from ordo_shared.models import BrokerOrderState
from ordod.brokers.base import (
    BrokerAdapter,
    BrokerOrder,
    BrokerOrderStatus,
    OrderChange,
    PlacedOrder,
    SessionInfo,
)
from ordod.brokers.errors import (
    ERROR_BY_CODE,
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    OrderNotFound,
    OrderRejected,
)
from ordod.brokers.paper.book import PaperBook
from ordod.clock import Clock, trading_day

Sleep = Callable[[float], Awaitable[None]]

# Codes that mean "the broker is down"; a health probe fails under them too.
_OUTAGE_CODES = frozenset({"BROKER_UNAVAILABLE", "TIMEOUT"})
# Start times kept of the most recent place_order calls: enough for any test, bounded for a daemon.
RECENT_PLACE_CALLS = 4096


@dataclass
class PaperKnobs:
    latency_ms: float = 5.0
    reject_code: str = ""
    fail_rate: float = 0.0
    fill_after_ms: float = 0.0  # LIMIT and stop orders fill (or are rejected) after this long; 0: they rest
    late_reject: str = ""  # when set, orders are rejected with this message instead of filling


@dataclass
class PaperCalls:
    """What reached the broker: every place_order call counted, and the monotonic start times of
    the most recent ones (all of them would grow without end in a long-running daemon)."""

    place_calls: int = 0
    place_started_at: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_PLACE_CALLS))
    probes: int = 0


class PaperBroker(BrokerAdapter):
    kind = "paper"

    def __init__(
        self,
        broker_id: str,
        knobs: PaperKnobs,
        clock: Clock,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        journal: Path | None = None,
    ) -> None:
        super().__init__(broker_id)
        self.knobs = knobs
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.book = PaperBook(broker_id, journal)
        self.calls = PaperCalls()

    async def close(self) -> None:
        self.book.close()

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        self.calls.place_calls += 1
        self.calls.place_started_at.append(self._clock.monotonic())
        tag = order.tag
        self.book.note_attempt(tag, self._clock.time())
        self._maybe_refuse_connection()
        await self._round_trip()
        if self.knobs.reject_code:
            raise self._configured_error()
        existing = self.book.row_of_tag(tag)
        if existing is not None:
            # Like a broker that enforces unique client tags: never a second order.
            return PlacedOrder(self.book.order_id(existing), broker_message="duplicate tag; existing order returned")
        state = self._settled() if order.spec.order_type == "MARKET" else "open"
        row = self.book.add(order, state, placed_at=self._clock.time())
        return PlacedOrder(self.book.order_id(row), broker_code="0", broker_message="order accepted (paper)")

    async def cancel_order(self, order_id: str) -> None:
        self._maybe_refuse_connection()
        await self._round_trip()
        self.book.set_state(self._open(order_id), "cancelled")

    async def modify_order(self, order_id: str, change: OrderChange) -> None:
        self._maybe_refuse_connection()
        await self._round_trip()
        row = self._open(order_id)
        # An order turned into a MARKET order is marketable: it fills at once, as a new one does.
        self.book.amend(row, change, state=self._settled() if change.order_type == "MARKET" else None)

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        self._maybe_refuse_connection()
        await self._round_trip()
        row = self._advance(self._known(order_id))
        state = self.book.state(row)
        if state == "filled":
            return BrokerOrderStatus(order_id, state, self.book.qty(row), self.book.price(row))
        return BrokerOrderStatus(order_id, state, message=self.knobs.late_reject if state == "rejected" else "")

    def _settled(self) -> BrokerOrderState:
        """Where an order that stops resting ends: filled, or rejected late when so configured."""
        return "rejected" if self.knobs.late_reject else "filled"

    def _advance(self, row: int) -> int:
        """Time passes at the exchange: a resting order fills, or is rejected late, when due on
        the day it was placed; one still resting when that day closed has expired (a day order)."""
        if self.book.state(row) != "open":
            return row
        placed, now = self.book.placed_at(row), self._clock.time()
        due = placed + self.knobs.fill_after_ms / 1000
        if self.knobs.fill_after_ms > 0 and now >= due and trading_day(due) == trading_day(placed):
            self.book.set_state(row, self._settled())
        elif trading_day(placed) < trading_day(now):
            self.book.set_state(row, "expired")
        return row

    def _open(self, order_id: str) -> int:
        row = self._advance(self._known(order_id))
        state = self.book.state(row)
        if state != "open":
            raise OrderRejected(f"order {order_id} is {state}", broker_message=f"order is {state}")
        return row

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        self._maybe_refuse_connection()
        row = self.book.row_of_tag(order.tag)
        return None if row is None else self.book.order_id(row)

    def _known(self, order_id: str) -> int:
        row = self.book.row_of_id(order_id)
        if row is None:
            raise OrderNotFound(f"no order {order_id}", broker_message="order not found")
        return row

    def session(self) -> SessionInfo:
        return SessionInfo("valid")

    async def refresh_session(self) -> SessionInfo:
        return SessionInfo("valid")

    async def health_probe(self) -> None:
        self.calls.probes += 1
        self._maybe_refuse_connection()
        await self._round_trip()
        if self.knobs.reject_code in _OUTAGE_CODES:
            raise self._configured_error()

    async def _round_trip(self) -> None:
        if self.knobs.latency_ms > 0:
            await self._sleep(self.knobs.latency_ms / 1000)

    def _maybe_refuse_connection(self) -> None:
        if self.knobs.fail_rate > 0 and self._rng.random() < self.knobs.fail_rate:
            raise BrokerUnavailable("connection refused (paper)", sent=False)

    def _configured_error(self) -> BrokerError:
        cls = ERROR_BY_CODE.get(self.knobs.reject_code, BrokerUnavailable)
        if cls is BrokerTimeout:
            return BrokerTimeout("no answer (paper)", broker_message="simulated timeout")
        return cls(
            f"{self.knobs.reject_code} (paper)",
            broker_code=self.knobs.reject_code,
            broker_message=f"simulated {self.knobs.reject_code}",
        )
