"""How much of the daemon's memory is the paper brokers' own: a simulated broker keeps every
order it accepted in memory (its order book, and its call log: a count and the latest start
times), as a real broker does on its side. Measured by running the same adapter code, outside
the daemon, under tracemalloc, on LIMIT orders, which rest in the book as the benchmark's do."""

from __future__ import annotations

import asyncio
import tracemalloc

from ordo_shared.models import OrderSpec
from ordod.brokers.base import BrokerOrder
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import SystemClock

_SPEC = OrderSpec(symbol="NSE:SBIN-EQ", side="BUY", qty=1, order_type="LIMIT", price=500.5)


async def _fill(brokers: list[PaperBroker], orders: int) -> None:
    for i in range(orders):
        # Keys and refs shaped like the benchmark's, so strings have the same sizes.
        order = BrokerOrder(f"ORD-19abcdef012-{i:06x}", f"rss-{i % 64}-{i}", _SPEC)
        for broker in brokers:
            await broker.place_order(order)


def paper_books_mib(orders: int, broker_ids: tuple[str, ...] = ("fyers", "hdfc")) -> float:
    """MiB the paper brokers hold after ``orders`` orders, each placed at every broker."""
    tracemalloc.start()
    try:
        brokers = [PaperBroker(b, PaperKnobs(latency_ms=0), SystemClock()) for b in broker_ids]
        before = tracemalloc.get_traced_memory()[0]
        asyncio.run(_fill(brokers, orders))
        return (tracemalloc.get_traced_memory()[0] - before) / 2**20
    finally:
        tracemalloc.stop()
