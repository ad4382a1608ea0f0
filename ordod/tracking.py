"""After the acknowledgement: following every accepted order at its broker until it is
terminal (filled, cancelled, rejected, expired), storing and announcing each change.

Tracking rows are written in the same transaction as the order's outcome (see
``SqliteIdempotencyStore.complete``), so an accepted order is always tracked, and polling
resumes after a restart for every order still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ordo_shared.models import TERMINAL_STATES, BrokerOrderView, BrokerResult, OrderSpec
from ordod.audit import AuditLog
from ordod.brokers.base import BrokerOrderStatus, OrderChange
from ordod.brokers.errors import BrokerError, OrderNotFound, RateLimitExceeded
from ordod.clock import Clock, trading_day
from ordod.config import TrackingConfig
from ordod.gateway import BrokerGateway
from ordod.storage.database import Database, Statement

log = logging.getLogger("ordod.tracking")

_COLUMNS = ("broker_id, order_id, state, order_type, qty, price, trigger_price, filled_qty, average_price, "
            "message, updated_at, order_ref, placed_at")


def track_statements(order_ref: str, order: OrderSpec, results: Sequence[BrokerResult], now: float) -> list[Statement]:
    """Rows that start tracking every broker that accepted the order."""
    return [
        ("INSERT OR IGNORE INTO broker_orders (order_ref, broker_id, order_id, state, order_type, qty, price, "
         "trigger_price, placed_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)",
         (order_ref, r.broker_id, r.order_id, order.order_type, order.qty, order.price, order.trigger_price, now, now))
        for r in results
        if r.status == "success" and r.order_id
    ]


@dataclass(frozen=True)
class TrackedOrder:
    order_ref: str
    placed_at: float
    view: BrokerOrderView

    @property
    def broker_id(self) -> str:
        return self.view.broker_id

    @property
    def open(self) -> bool:
        return self.view.state not in TERMINAL_STATES


def _tracked(row: sqlite3.Row) -> TrackedOrder:
    view = BrokerOrderView.model_validate({
        "broker_id": row[0], "order_id": row[1], "state": row[2], "order_type": row[3], "qty": row[4],
        "price": row[5], "trigger_price": row[6], "filled_qty": row[7], "average_price": row[8],
        "message": row[9], "updated_at": datetime.fromtimestamp(row[10], UTC),
    }, strict=False)
    return TrackedOrder(order_ref=row[11], placed_at=row[12], view=view)


@dataclass(slots=True)
class OpenOrder:
    """What polling needs of one open order: small, because a desk may have many resting."""

    order_ref: str
    broker_id: str
    order_id: str
    placed_at: float
    state: str
    filled_qty: int
    average_price: float | None
    message: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.order_ref, self.broker_id)


class TrackingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_orders(self) -> list[TrackedOrder]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM broker_orders WHERE state IN ('open', 'partially_filled')"  # noqa: S608
        )
        return [_tracked(row) for row in rows]

    async def open_for_polling(self, after_row: int = 0, order_ref: str | None = None
                               ) -> tuple[list[OpenOrder], int]:
        """Open orders whose row came after ``after_row`` (rows are only ever added, so their
        rowids only grow: a tracker reads each new one once), or all of ``order_ref``'s rows;
        and the highest row id seen."""
        params: tuple[object, ...]
        if order_ref is not None:
            where, params = "order_ref = ?", (order_ref,)
        elif after_row == 0:  # the first read: every open order, through the index of open ones
            where, params = "state IN ('open', 'partially_filled')", ()
        else:
            where, params = "rowid > ?", (after_row,)
        rows = await self._db.fetchall(
            "SELECT order_ref, broker_id, order_id, placed_at, state, filled_qty, average_price, message, rowid "  # noqa: S608 - one of two fixed clauses
            f"FROM broker_orders WHERE {where}",
            params,
        )
        top = max((row[8] for row in rows), default=after_row)
        return [OpenOrder(*row[:8]) for row in rows if row[4] not in TERMINAL_STATES], top

    async def for_order(self, order_ref: str) -> list[TrackedOrder]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM broker_orders WHERE order_ref = ? ORDER BY broker_id",  # noqa: S608
            (order_ref,),
        )
        return [_tracked(row) for row in rows]

    async def views_for(self, order_refs: Sequence[str]) -> dict[str, list[BrokerOrderView]]:
        views: dict[str, list[BrokerOrderView]] = {ref: [] for ref in order_refs}
        for start in range(0, len(order_refs), 500):
            chunk = list(order_refs[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT {_COLUMNS} FROM broker_orders WHERE order_ref IN ({marks}) ORDER BY broker_id",  # noqa: S608
                chunk,
            )
            for row in rows:
                tracked = _tracked(row)
                views[tracked.order_ref].append(tracked.view)
        return views

    async def record_status(self, order_ref: str, broker_id: str, status: BrokerOrderStatus, now: float) -> None:
        await self._db.write([(
            "UPDATE broker_orders SET state = ?, filled_qty = ?, average_price = ?, message = ?, updated_at = ? "
            "WHERE order_ref = ? AND broker_id = ?",
            (status.state, status.filled_qty, status.average_price, status.message, now, order_ref, broker_id),
        )])

    async def record_change(self, order_ref: str, broker_id: str, change: OrderChange, now: float) -> None:
        await self._db.write([(
            "UPDATE broker_orders SET order_type = ?, qty = ?, price = ?, trigger_price = ?, updated_at = ? "
            "WHERE order_ref = ? AND broker_id = ?",
            (change.order_type, change.qty, change.price, change.trigger_price, now, order_ref, broker_id),
        )])


def _changed(order: OpenOrder, status: BrokerOrderStatus) -> bool:
    return (order.state, order.filled_qty, order.average_price, order.message) != (
        status.state, status.filled_qty, status.average_price, status.message)


class OrderTracker:
    def __init__(self, store: TrackingStore, gateways: dict[str, BrokerGateway], audit: AuditLog, clock: Clock,
                 config: TrackingConfig) -> None:
        self.store = store
        self._gateways = gateways
        self._audit = audit
        self._clock = clock
        self.config = config
        self._missing: set[tuple[str, str]] = set()  # warned about once: the broker did not show them
        self._wake = asyncio.Event()
        # Open orders in memory: read whole once, then only the rows added since (new orders,
        # settled unknowns) and the orders poked after a cancel or a modify. Each broker's are
        # queued by when they are next due, so a pass costs what is due, not what rests.
        self._open: dict[tuple[str, str], OpenOrder] = {}
        self._due_at: dict[tuple[str, str], float] = {}
        self._queues: dict[str, list[tuple[float, int, tuple[str, str]]]] = {}
        self._pushed = itertools.count()
        self._read_through = 0  # highest broker_orders row read
        self._poked: set[str] = set()

    def poke(self, order_ref: str | None = None) -> None:
        """Poll soon: new orders at once, and ``order_ref`` again (after a cancel or a modify)."""
        if order_ref is not None:
            self._poked.add(order_ref)
        self._wake.set()

    async def _refresh(self) -> None:
        new, self._read_through = await self.store.open_for_polling(self._read_through)
        for tracked in new:
            self._track(tracked, due_at=float("-inf"))
        for order_ref in list(self._poked):
            self._poked.discard(order_ref)
            rows, _ = await self.store.open_for_polling(order_ref=order_ref)
            for broker_id in list(self._queues):  # an order's keys, without a walk over every open order
                self._forget((order_ref, broker_id))
            for tracked in rows:
                self._track(tracked, due_at=float("-inf"))

    def _track(self, tracked: OpenOrder, due_at: float) -> None:
        self._open[tracked.key] = tracked
        self._schedule(tracked.key, due_at)

    def _schedule(self, key: tuple[str, str], due_at: float) -> None:
        self._due_at[key] = due_at
        heapq.heappush(self._queues.setdefault(key[1], []), (due_at, next(self._pushed), key))

    def _forget(self, key: tuple[str, str]) -> None:
        self._open.pop(key, None)
        self._due_at.pop(key, None)  # its queue entries are skipped when they come up
        self._missing.discard(key)

    def _interval(self, tracked: OpenOrder, now: float) -> float:
        young = now - tracked.placed_at < self.config.fast_window_s
        return self.config.fast_poll_s if young else self.config.poll_interval_s

    def _take_due(self, broker_id: str, now: float, budget: int) -> list[OpenOrder]:
        """Up to ``budget`` due orders of one broker, the longest due first."""
        queue = self._queues.get(broker_id, [])
        taken: list[OpenOrder] = []
        while queue and len(taken) < budget and queue[0][0] <= now:
            due_at, _, key = heapq.heappop(queue)
            if self._due_at.get(key) == due_at:  # not forgotten, not rescheduled since
                taken.append(self._open[key])
        return taken

    async def poll_once(self) -> int:
        """Look up the due open orders, each broker within its budget; returns how many changed."""
        await self._refresh()
        now = self._clock.time()
        # Tracking is background work: a budget per pass keeps it from crowding out orders,
        # however many orders rest at a broker; the longest-waiting go first next pass.
        tick = min(self.config.fast_poll_s, self.config.poll_interval_s) / 2
        budget = max(1, math.ceil(self.config.max_polls_per_s * tick))
        by_broker = {b: due for b in list(self._queues) if (due := self._take_due(b, now, budget))}
        # Brokers in parallel; one broker's orders in sequence, so its rate limiter sees a steady trickle.
        counts = await asyncio.gather(*(self._poll_broker(b, orders) for b, orders in by_broker.items()))
        return sum(counts)

    async def _poll_broker(self, broker_id: str, orders: list[OpenOrder]) -> int:
        gateway = self._gateways.get(broker_id)
        if gateway is None:
            return 0
        changed = 0
        looked_up = 0
        try:
            for tracked in orders:
                changed += await self._look_up(gateway, tracked)
                looked_up += 1
        except RateLimitExceeded as exc:
            # Not looked up: this order and the rest stay due, and go first next pass.
            log.debug("status lookups paused broker=%s: %s", broker_id, exc)
        finally:
            # Whatever stopped the pass (the limit, a failed write, a shutdown), the orders it did
            # not reach keep their turn instead of dropping out of the queue.
            for rest in orders[looked_up:]:
                if rest.key in self._open:
                    self._schedule(rest.key, self._due_at.get(rest.key, float("-inf")))
        return changed

    async def _look_up(self, gateway: BrokerGateway, tracked: OpenOrder) -> int:
        """One status lookup and what follows from it; 1 if the order changed."""
        key, broker_id = tracked.key, tracked.broker_id
        polled_at = self._clock.time()
        changed = 0
        try:
            status = await asyncio.wait_for(gateway.adapter.order_status(tracked.order_id),
                                            gateway.retry.call_timeout_s)
        except RateLimitExceeded:
            raise
        except OrderNotFound as exc:
            placed_on = trading_day(tracked.placed_at)
            if placed_on < trading_day(polled_at):
                # A day order the close ended: the broker's book of today no longer holds it.
                await self._apply(tracked, BrokerOrderStatus(
                    tracked.order_id, "expired", tracked.filled_qty, tracked.average_price,
                    f"gone from the broker's order book after the close of {placed_on.isoformat()}: "
                    "a day order expires at the close"))
                return 1
            if key not in self._missing:  # today's order the broker does not show: ask again
                self._missing.add(key)
                log.warning("broker=%s has no order %s (order_ref=%s): %s", broker_id, tracked.order_id,
                            tracked.order_ref, exc)
        except (BrokerError, TimeoutError) as exc:
            log.debug("status lookup failed order_ref=%s broker=%s: %s", tracked.order_ref, broker_id, exc)
        else:
            if _changed(tracked, status):
                await self._apply(tracked, status)
                changed = 1
        if key in self._open:
            self._schedule(key, polled_at + self._interval(tracked, polled_at))
        return changed

    async def _apply(self, tracked: OpenOrder, status: BrokerOrderStatus) -> None:
        await self.store.record_status(tracked.order_ref, tracked.broker_id, status, self._clock.time())
        data: dict[str, Any] = {"order_id": status.order_id, "old": tracked.state, "new": status.state,
                                "filled_qty": status.filled_qty, "average_price": status.average_price,
                                "message": status.message}
        self._audit.record("order.updated", order_ref=tracked.order_ref, broker_id=tracked.broker_id, data=data)
        tracked.state, tracked.filled_qty = status.state, status.filled_qty
        tracked.average_price, tracked.message = status.average_price, status.message
        if status.state in TERMINAL_STATES:
            self._forget(tracked.key)

    async def run(self) -> None:
        tick = min(self.config.fast_poll_s, self.config.poll_interval_s) / 2
        while True:
            try:
                await self.poll_once()
            except Exception:
                log.exception("tracking pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick)
