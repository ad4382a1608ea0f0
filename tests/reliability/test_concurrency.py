"""Concurrency against real ordod processes: duplicates by the thousand, a kill switch pulled
under load, and SIGTERM with orders in flight."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq.asyncio

from ordod.brokers.base import client_tag
from tests.processes import DaemonProcess
from tests.reliability.clients import ReqClient


@pytest.fixture
def ctx() -> Iterator[zmq.asyncio.Context]:
    context = zmq.asyncio.Context()
    yield context
    context.term()


async def started(root: Path, **brokers: dict[str, Any]) -> DaemonProcess:
    return await DaemonProcess.on_fixed_ports(root, daemon={"shutdown_grace_s": 10.0}, brokers=brokers).start()


async def test_64_clients_5000_orders_with_duplicates_place_each_key_exactly_once(
    tmp_path: Path, ctx: zmq.asyncio.Context
) -> None:
    daemon = await started(tmp_path, fyers={"latency_ms": 1}, hdfc={"latency_ms": 2})
    try:
        rng = random.Random(7)
        keys = [f"load-{i:04d}" for i in range(1500)]
        work = [rng.choice(keys) for _ in range(5000)]
        queues: list[list[str]] = [work[i::64] for i in range(64)]
        answers: dict[str, list[dict[str, Any]]] = defaultdict(list)

        async def run_client(mine: list[str]) -> None:
            client = ReqClient(ctx, daemon.rep, daemon.token)
            try:
                for key in mine:
                    answers[key].append(await client.place_until_settled(key))
            finally:
                client.close()

        await asyncio.gather(*(run_client(q) for q in queues))
    finally:
        await daemon.close()

    assert sum(len(v) for v in answers.values()) == 5000, "a reply was lost"
    for replies in answers.values():
        first = replies[0]
        assert first["ok"] and first["status"] == "success", first
        # Every client that asked about a key got the same order and the same broker ids.
        assert {r["order_ref"] for r in replies} == {first["order_ref"]}
        assert all(r["results"] == first["results"] for r in replies)
        assert sum(1 for r in replies if not r["replayed"]) == 1
    for broker_id in ("fyers", "hdfc"):
        added = Counter(e["tag"] for e in daemon.paper_journal(broker_id) if e["op"] == "add")
        assert len(added) == len(answers), f"{broker_id}: {len(added)} orders for {len(answers)} keys"
        assert set(added.values()) == {1}
        assert set(added) == {client_tag(k) for k in answers}


async def test_kill_switch_under_load_stops_every_attempt_after_its_reply(
    tmp_path: Path, ctx: zmq.asyncio.Context
) -> None:
    # Slow brokers and retries: orders are in every phase when the switch is pulled.
    daemon = await started(
        tmp_path,
        fyers={"latency_ms": 400},
        hdfc={"latency_ms": 300, "reject_code": "RATE_LIMIT_EXCEEDED",
              "retry": {"max_attempts": 10, "initial_backoff_ms": 100, "max_backoff_ms": 200},
              "breaker": {"failure_threshold": 1000}},
    )
    try:
        clients = [ReqClient(ctx, daemon.rep, daemon.token) for _ in range(500)]
        orders = [asyncio.create_task(c.place_until_settled(f"ks-{i:03d}")) for i, c in enumerate(clients)]
        await asyncio.sleep(0.6)
        admin = ReqClient(ctx, daemon.rep, daemon.token)
        t0 = time.monotonic()
        reply = await admin.call({"op": "kill_switch", "active": True, "reason": "load test"})
        switch_ack_s = time.monotonic() - t0
        acked_at = time.time()
        assert reply is not None and reply["ok"] and reply["kill_switch"]["active"] is True
        results = await asyncio.gather(*orders)
        for c in [*clients, admin]:
            c.close()
    finally:
        await daemon.close()

    print(f"kill switch acknowledged in {switch_ack_s * 1000:.1f} ms with 500 orders in flight")
    journal = daemon.paper_journal("fyers") + daemon.paper_journal("hdfc")
    late = [e for e in journal if e["op"] == "attempt" and e["ts"] > acked_at]
    assert late == [], f"{len(late)} broker attempts started after the kill switch was acknowledged"
    per_broker = [r for reply in results if reply["ok"] for r in reply["results"]]
    killed = [r for r in per_broker if r["error_code"] == "KILL_SWITCH_ACTIVE"]
    refused = [reply for reply in results if not reply["ok"]]
    assert killed, "orders caught mid-flight report KILL_SWITCH_ACTIVE for the brokers not yet reached"
    assert all(r["error"]["code"] == "KILL_SWITCH_ACTIVE" for r in refused)
    assert switch_ack_s < 2.0  # sanity only; the figure itself is measured by make bench


async def test_sigterm_under_load_finishes_and_stores_every_accepted_order(
    tmp_path: Path, ctx: zmq.asyncio.Context
) -> None:
    daemon = await started(tmp_path, fyers={"latency_ms": 500}, hdfc={"latency_ms": 800})
    clients = [ReqClient(ctx, daemon.rep, daemon.token) for _ in range(40)]
    try:
        orders = [asyncio.create_task(c.call({"op": "place_order", "idempotency_key": f"term-{i}",
                                              "order": {"symbol": "NSE:SBIN-EQ", "side": "SELL", "qty": 3,
                                                        "order_type": "MARKET"}}))
                  for i, c in enumerate(clients)]
        await asyncio.sleep(0.3)
        exit_code = await daemon.stop()
        replies = await asyncio.gather(*orders)
    finally:
        for c in clients:
            c.close()
        await daemon.close()
    assert exit_code == 0
    assert all(r is not None and r["ok"] and r["status"] == "success" for r in replies)

    await daemon.start()  # the stored outcomes survive: every key replays, nothing is placed again
    try:
        again = ReqClient(ctx, daemon.rep, daemon.token)
        for i, first in enumerate(replies):
            assert first is not None
            replay = await again.call({"op": "place_order", "idempotency_key": f"term-{i}",
                                       "order": {"symbol": "NSE:SBIN-EQ", "side": "SELL", "qty": 3,
                                                 "order_type": "MARKET"}})
            assert replay is not None and replay["replayed"] is True and replay["results"] == first["results"]
        again.close()
    finally:
        await daemon.close()
    assert len([e for e in daemon.paper_journal("fyers") if e["op"] == "add"]) == 40
