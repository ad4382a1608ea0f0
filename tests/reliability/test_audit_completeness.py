"""A subscriber that connects late, or drops for a while, recovers every audit event through
``audit_replay``: none missing, none twice, across a daemon restart too."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from tests.harness import RawClient, make_config, running_daemon
from tests.processes import loopback_endpoint


class GapFillingSubscriber:
    """What a careful script does: track the last seq, fill any gap from the store."""

    def __init__(self, ctx: zmq.asyncio.Context, pub: str) -> None:
        self.sock = ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"audit.")
        self.sock.connect(pub)
        self.seen: list[int] = []
        self.gaps_filled = 0

    @property
    def last(self) -> int:
        return self.seen[-1] if self.seen else 0

    async def catch_up(self, client: RawClient) -> None:
        while True:
            reply = await client.call("audit_replay", since=self.last, limit=50)
            if not reply["events"]:
                return
            self.seen += [e["seq"] for e in reply["events"]]
            self.gaps_filled += 1

    async def drain(self, client: RawClient, quiet_ms: int = 300) -> None:
        while await self.sock.poll(quiet_ms):
            _, body = await self.sock.recv_multipart()
            seq = json.loads(body)["seq"]
            if seq <= self.last:
                continue  # already recovered through replay
            if seq > self.last + 1:
                await self.catch_up(client)
            if seq == self.last + 1:
                self.seen.append(seq)

    def close(self) -> None:
        self.sock.close(linger=0)


async def place_some(client: RawClient, prefix: str, n: int) -> list[dict[str, Any]]:
    return [await client.place(f"{prefix}-{i}") for i in range(n)]


async def test_late_and_dropped_subscriber_recovers_every_event_across_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path / "state", daemon={"rep_endpoint": loopback_endpoint(),
                                                     "pub_endpoint": loopback_endpoint()})
    ctx = zmq.asyncio.Context()
    try:
        async with running_daemon(config) as d:
            client = d.client()
            await place_some(client, "early", 5)  # before anyone listens
            sub = GapFillingSubscriber(ctx, d.daemon.pub_endpoint)
            await asyncio.sleep(0.2)
            await place_some(client, "live", 5)
            await sub.drain(client)
            sub.close()  # the subscriber drops away...
            await place_some(client, "missed", 5)
        async with running_daemon(config) as d:  # ...and the daemon restarts meanwhile
            client = d.client()
            sub2 = GapFillingSubscriber(ctx, d.daemon.pub_endpoint)
            sub2.seen = list(sub.seen)
            await asyncio.sleep(0.2)
            await place_some(client, "after", 5)
            await sub2.drain(client)
            await sub2.catch_up(client)
            total = (await client.call("audit_replay", since=0, limit=5000))["last_seq"]
            sub2.close()
    finally:
        ctx.term()
    assert sub2.seen == list(range(1, total + 1)), "every event exactly once, in order"
    assert sub.gaps_filled >= 1 and sub2.gaps_filled >= 1
