"""The ZeroMQ door takes every waiting request off the socket in one go and answers without
pyzmq's asyncio layer; a burst of pipelined requests must still get every answer, matched."""

from __future__ import annotations

import asyncio
import json

import zmq

from ordod.config import Config
from tests.harness import running_daemon


async def test_hundreds_of_pipelined_requests_on_one_dealer_all_get_their_answer(config: Config) -> None:
    async with running_daemon(config) as d:
        dealer = d.ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(d.daemon.rep_endpoint)
        try:
            n = 600  # more than one receive burst
            for i in range(n):
                op = {"v": 1, "op": "ping", "id": i} if i % 3 else {
                    "v": 1, "op": "place_order", "id": i, "token": d.token, "idempotency_key": f"k-burst-{i}",
                    "order": {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 1, "order_type": "MARKET"}}
                await dealer.send_multipart([b"", json.dumps(op).encode()])
            answered: dict[int, dict[str, object]] = {}
            while len(answered) < n:
                assert await dealer.poll(10_000), f"only {len(answered)} of {n} answered"
                _, body = await dealer.recv_multipart()
                reply = json.loads(body)
                answered[reply["id"]] = reply
        finally:
            dealer.close(linger=0)
    assert sorted(answered) == list(range(600))
    assert all(r["ok"] for r in answered.values())
    assert sum(1 for r in answered.values() if r.get("status") == "success") == 200


async def test_requests_arriving_while_replies_go_out_are_not_left_waiting(config: Config) -> None:
    async with running_daemon(config) as d:
        clients = [d.client() for _ in range(32)]

        async def chatter(i: int) -> int:
            for _ in range(25):
                reply = await clients[i].call("ping", timeout_s=10.0)
                assert reply["ok"], reply
            return i

        done = await asyncio.gather(*(chatter(i) for i in range(32)))
    assert done == list(range(32))
