"""A broker simulated in-process, with knobs for latency, rejection and transport faults.

It keeps an order book keyed by the client tag, like a real broker's, so the pipeline's
duplicate protection is exercised for real, and it records every call's start time so tests
can prove when attempts stopped reaching it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ordod.brokers.base import BrokerAdapter, BrokerOrder, BrokerOrderStatus, OrderChange, PlacedOrder, SessionInfo
from ordod.brokers.errors import ERROR_BY_CODE, BrokerError, BrokerTimeout, BrokerUnavailable
from ordod.clock import Clock

Sleep = Callable[[float], Awaitable[None]]

# Codes that mean "the broker is down"; a health probe fails under them too.
_OUTAGE_CODES = frozenset({"BROKER_UNAVAILABLE", "TIMEOUT"})


@dataclass
class PaperKnobs:
    latency_ms: float = 5.0
    reject_code: str = ""
    fail_rate: float = 0.0


@dataclass
class PaperOrder:
    order_id: str
    tag: str
    order_ref: str
    state: str = "open"
    changes: list[OrderChange] = field(default_factory=list)


@dataclass
class PaperCalls:
    place_started_at: list[float] = field(default_factory=list)
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
    ) -> None:
        super().__init__(broker_id)
        self.knobs = knobs
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._ids = itertools.count(1)
        self.book: dict[str, PaperOrder] = {}  # by tag
        self.calls = PaperCalls()

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        self.calls.place_started_at.append(self._clock.monotonic())
        self._maybe_refuse_connection()
        await self._round_trip()
        if self.knobs.reject_code:
            raise self._configured_error()
        existing = self.book.get(order.tag)
        if existing is not None:
            # Like a broker that enforces unique client tags: never a second order.
            return PlacedOrder(existing.order_id, broker_message="duplicate tag; existing order returned")
        order_id = f"{self.broker_id.upper()}-{next(self._ids):08d}"
        self.book[order.tag] = PaperOrder(order_id, order.tag, order.order_ref)
        return PlacedOrder(order_id, broker_code="0", broker_message="order accepted (paper)")

    async def cancel_order(self, order_id: str) -> None:
        await self._round_trip()
        for paper in self.book.values():
            if paper.order_id == order_id:
                paper.state = "cancelled"
                return
        raise ERROR_BY_CODE["ORDER_REJECTED"](f"no order {order_id}", broker_message="order not found")

    async def modify_order(self, order_id: str, change: OrderChange) -> None:
        await self._round_trip()
        for paper in self.book.values():
            if paper.order_id == order_id:
                if paper.state != "open":
                    raise ERROR_BY_CODE["ORDER_REJECTED"](f"order {order_id} is {paper.state}",
                                                          broker_message=f"order is {paper.state}")
                paper.changes.append(change)
                return
        raise ERROR_BY_CODE["ORDER_REJECTED"](f"no order {order_id}", broker_message="order not found")

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        await self._round_trip()
        for paper in self.book.values():
            if paper.order_id == order_id:
                return BrokerOrderStatus(order_id, "cancelled" if paper.state == "cancelled" else "open")
        raise ERROR_BY_CODE["ORDER_REJECTED"](f"no order {order_id}", broker_message="order not found")

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        self._maybe_refuse_connection()
        paper = self.book.get(order.tag)
        return paper.order_id if paper else None

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
