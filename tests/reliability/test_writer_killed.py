"""The database writer is a process of its own, so it can die on its own (killed by an operator,
by the OOM killer). Orders under way at that moment must be refused or locked, never reported
durable when they are not, and never placed twice, and the daemon goes on serving."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

from tests.harness import RawClient, make_config, running_daemon

CLIENTS = 8
KEYS = 240


async def test_a_killed_writer_loses_no_order_and_places_none_twice(state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d:
        assert d.daemon.db is not None
        writer = d.daemon.db.sqlite_writer
        killed_pid = writer.pid
        assert killed_pid is not None
        keys = [f"k-{i}" for i in range(KEYS)]
        replies: dict[str, dict[str, Any]] = {}
        under_way = asyncio.Event()

        async def place_all(client: RawClient, mine: list[str]) -> None:
            for key in mine:
                replies[key] = await client.place(key)
                if len(replies) == KEYS // 4:
                    under_way.set()

        clients = [d.client() for _ in range(CLIENTS)]
        placing = [asyncio.create_task(place_all(c, keys[i::CLIENTS])) for i, c in enumerate(clients)]
        await under_way.wait()
        os.kill(killed_pid, signal.SIGKILL)  # with eight clients' orders in flight
        await asyncio.gather(*placing)

        # Every order either went through, or was refused as a storage failure; none is lost.
        refused = {key for key, reply in replies.items() if not reply["ok"]}
        assert all(replies[key]["error"]["code"] == "STORAGE_UNAVAILABLE" for key in refused)
        # A new writer took over (the orders after the kill went through it)...
        assert writer.pid not in (None, killed_pid)
        # ...and a retry of each refused key places it, unless its brokers were already called:
        # then the key stays locked, and the retry says so instead of placing it again.
        for key in sorted(refused):
            retried = await clients[0].place(key)
            sent_before = "WERE called" in replies[key]["error"]["message"]
            if sent_before:
                assert not retried["ok"] and retried["error"]["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT", retried
            else:
                assert retried["ok"] and retried["status"] == "success", retried

        # Each key reached each broker exactly once, over the first tries and the retries.
        for broker in ("fyers", "hdfc"):
            assert d.paper(broker).calls.place_calls == KEYS
            assert len(d.paper(broker).book) == KEYS
