"""However orders are batched into commits, a broker never sees an order whose reservation is
not yet committed, and a client never hears a result that is not yet committed. Checked from a
second SQLite connection, which sees committed transactions only."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from ordod.brokers.base import BrokerOrder, PlacedOrder
from ordod.config import Config
from tests.harness import running_daemon


def committed(path: Path, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
    conn = sqlite3.connect(path)
    try:
        row: tuple[object, ...] | None = conn.execute(sql, params).fetchone()
        return row
    finally:
        conn.close()


async def test_every_broker_call_finds_its_reservation_already_committed(config: Config) -> None:
    seen_at_broker: dict[str, tuple[object, ...] | None] = {}
    async with running_daemon(config) as d:
        db_path = d.daemon.config.daemon.state_dir / "ordo.db"
        for broker_id in ("fyers", "hdfc"):
            paper = d.paper(broker_id)
            place = paper.place_order

            async def checked(order: BrokerOrder, place=place, broker_id=broker_id) -> PlacedOrder:  # type: ignore[no-untyped-def]
                seen_at_broker[f"{broker_id}:{order.idempotency_key}"] = committed(
                    db_path,
                    "SELECT o.state, k.order_ref FROM orders o JOIN idempotency_keys k ON k.order_ref = o.order_ref "
                    "WHERE o.order_ref = ?",
                    (order.order_ref,),
                )
                return await place(order)

            paper.place_order = checked  # type: ignore[method-assign]

        clients = [d.client() for _ in range(24)]
        replies = await asyncio.gather(*(c.place(f"k-durable-{i}") for i, c in enumerate(clients)))

    assert all(r["ok"] and r["status"] == "success" for r in replies)
    assert len(seen_at_broker) == 48
    refs = {r["idempotency_key"]: r["order_ref"] for r in replies}
    for name, row in seen_at_broker.items():
        key = name.split(":", 1)[1]
        assert row == ("in_flight", refs[key]), f"{name} reached the broker before its reservation was committed"


async def test_a_reply_is_sent_only_once_its_result_is_committed(config: Config) -> None:
    async with running_daemon(config) as d:
        db_path = d.daemon.config.daemon.state_dir / "ordo.db"
        clients = [d.client() for _ in range(16)]

        async def place_and_look(i: int) -> tuple[object, ...] | None:
            reply = await clients[i].place(f"k-reply-{i}")
            # Read before the daemon gets another turn of its loop: only what was committed
            # before the reply left can be here.
            return committed(db_path, "SELECT state, reply_json IS NOT NULL FROM orders WHERE order_ref = ?",
                             (reply["order_ref"],))

        rows = await asyncio.gather(*(place_and_look(i) for i in range(16)))
    assert rows == [("completed", 1)] * 16


async def test_the_daemon_writes_with_wal_and_synchronous_full(config: Config) -> None:
    async with running_daemon(config) as d:
        db = d.daemon.db
        assert db is not None
        assert await db.sqlite_writer.pragma("journal_mode") == "wal"
        assert await db.sqlite_writer.pragma("synchronous") == 2
