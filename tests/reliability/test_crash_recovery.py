"""kill -9 in the middle of a fan-out, restart on the same state directory, retry every key:
no broker ever holds a second order for a key, and every answer matches the brokers' books."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.asyncio

from ordod.brokers.base import client_tag
from tests.harness import ORDER
from tests.processes import DaemonProcess


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[DaemonProcess]:
    proc = DaemonProcess.on_fixed_ports(tmp_path, brokers={"fyers": {"latency_ms": 300}, "hdfc": {"latency_ms": 1500}})
    yield proc
    await proc.close()


async def send_order(ctx: zmq.asyncio.Context, endpoint: str, token: str, key: str,
                     timeout_ms: int = 10_000) -> dict[str, Any] | None:
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        request = {"v": 1, "op": "place_order", "token": token, "idempotency_key": key, "order": ORDER}
        await sock.send(json.dumps(request).encode())
        if not await sock.poll(timeout_ms):
            return None
        reply: dict[str, Any] = json.loads(await sock.recv())
        return reply
    finally:
        sock.close()


async def test_kill_9_mid_fan_out_then_retry_every_key_places_nothing_twice(daemon: DaemonProcess) -> None:
    await daemon.start()
    token = daemon.token
    ctx = zmq.asyncio.Context()
    keys = [f"crash-{i:02d}" for i in range(24)]
    try:
        in_flight = [asyncio.create_task(send_order(ctx, daemon.rep, token, k, timeout_ms=5_000)) for k in keys]
        # fyers (300 ms) has answered, hdfc (1.5 s) has not: the worst moment to die.
        await asyncio.sleep(0.8)
        await daemon.kill9()
        lost = await asyncio.gather(*in_flight)
        assert all(reply is None for reply in lost), "no reply can arrive from a killed daemon"

        await daemon.start()
        replies = {k: await send_order(ctx, daemon.rep, token, k) for k in keys}
        again = {k: await send_order(ctx, daemon.rep, token, k) for k in keys}
    finally:
        ctx.term()

    books = {b: daemon.paper_journal(b) for b in ("fyers", "hdfc")}
    for broker_id, journal in books.items():
        added = Counter(entry["tag"] for entry in journal if entry["op"] == "add")
        assert all(n == 1 for n in added.values()), f"duplicate order at {broker_id}: {added.most_common(3)}"
    fyers_ids = {e["tag"]: e["order_id"] for e in books["fyers"] if e["op"] == "add"}
    hdfc_tags = {e["tag"] for e in books["hdfc"] if e["op"] == "add"}

    for key in keys:
        reply = replies[key]
        assert reply is not None and reply["ok"] is True, reply
        assert again[key] == {**reply, "replayed": True}
        results = {r["broker_id"]: r for r in reply["results"]}
        tag = client_tag(key)
        # Whatever the recovered record says matches what the broker really holds.
        assert results["fyers"]["status"] == "success"
        assert results["fyers"]["order_id"] == fyers_ids[tag]
        assert tag not in hdfc_tags
        assert results["hdfc"]["status"] == "error"
        assert results["hdfc"]["error_code"] == "BROKER_UNAVAILABLE"
        assert reply["status"] == "partial_success"


async def test_orders_after_a_crash_restart_are_placed_normally(daemon: DaemonProcess) -> None:
    await daemon.start()
    await daemon.kill9()
    await daemon.start()
    ctx = zmq.asyncio.Context()
    try:
        reply = await send_order(ctx, daemon.rep, daemon.token, "after-restart")
    finally:
        ctx.term()
    assert reply is not None and reply["status"] == "success"
