"""A broker simulated in-process, with knobs for latency, rejection and transport faults.

It keeps an order book keyed by the client tag, like a real broker's, so the pipeline's
duplicate protection is exercised for real, and it records every call's start time so tests
can prove when attempts stopped reaching it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from ordod.brokers.base import (
    BrokerAdapter,
    BrokerOrder,
    BrokerOrderStatus,
    OrderChange,
    PlacedOrder,
    SessionInfo,
)
from ordod.brokers.errors import ERROR_BY_CODE, BrokerError, BrokerTimeout, BrokerUnavailable, OrderRejected
from ordod.brokers.paper.book import PaperBook, PaperOrder
from ordod.clock import Clock

Sleep = Callable[[float], Awaitable[None]]

# Codes that mean "the broker is down"; a health probe fails under them too.
_OUTAGE_CODES = frozenset({"BROKER_UNAVAILABLE", "TIMEOUT"})


@dataclass
class PaperKnobs:
    latency_ms: float = 5.0
    reject_code: str = ""
    fail_rate: float = 0.0
    fill_after_ms: float = 0.0  # accepted orders fill (or are rejected) after this long; 0: they stay open
    late_reject: str = ""  # when set, orders are rejected with this message instead of filling


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
        journal: Path | None = None,
    ) -> None:
        super().__init__(broker_id)
        self.knobs = knobs
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.book = PaperBook(journal)
        self.calls = PaperCalls()

    async def close(self) -> None:
        self.book.close()

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        self.calls.place_started_at.append(self._clock.monotonic())
        self.book.note_attempt(order.tag, self._clock.time())
        self._maybe_refuse_connection()
        await self._round_trip()
        if self.knobs.reject_code:
            raise self._configured_error()
        existing = self.book.by_tag(order.tag)
        if existing is not None:
            # Like a broker that enforces unique client tags: never a second order.
            return PlacedOrder(existing.order_id, broker_message="duplicate tag; existing order returned")
        order_id = f"{self.broker_id.upper()}-{self.book.next_number:08d}"
        spec = order.spec
        self.book.add(PaperOrder(order_id, order.tag, order.order_ref, spec.qty, spec.price,
                                 order_type=spec.order_type, trigger_price=spec.trigger_price,
                                 placed_at=self._clock.time()))
        return PlacedOrder(order_id, broker_code="0", broker_message="order accepted (paper)")

    async def cancel_order(self, order_id: str) -> None:
        self._maybe_refuse_connection()
        await self._round_trip()
        paper = self._open(order_id)
        self.book.update(paper, state="cancelled")

    async def modify_order(self, order_id: str, change: OrderChange) -> None:
        self._maybe_refuse_connection()
        await self._round_trip()
        paper = self._open(order_id)
        self.book.update(paper, qty=change.qty, price=change.price, trigger_price=change.trigger_price,
                         order_type=change.order_type)

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        self._maybe_refuse_connection()
        await self._round_trip()
        paper = self._advance(self._known(order_id))
        filled = paper.qty if paper.state == "filled" else 0
        price = paper.price if paper.state == "filled" else None
        message = self.knobs.late_reject if paper.state == "rejected" else ""
        return BrokerOrderStatus(order_id, paper.state, filled, price, message)

    def _advance(self, paper: PaperOrder) -> PaperOrder:
        """Time passes at the exchange: an open order fills, or is rejected late."""
        due = paper.placed_at + self.knobs.fill_after_ms / 1000
        if paper.state == "open" and self.knobs.fill_after_ms > 0 and self._clock.time() >= due:
            self.book.update(paper, state="rejected" if self.knobs.late_reject else "filled")
        return paper

    def _open(self, order_id: str) -> PaperOrder:
        paper = self._advance(self._known(order_id))
        if paper.state != "open":
            raise OrderRejected(f"order {order_id} is {paper.state}", broker_message=f"order is {paper.state}")
        return paper

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        self._maybe_refuse_connection()
        paper = self.book.by_tag(order.tag)
        return paper.order_id if paper else None

    def _known(self, order_id: str) -> PaperOrder:
        paper = self.book.by_id(order_id)
        if paper is None:
            raise OrderRejected(f"no order {order_id}", broker_message="order not found")
        return paper

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
