"""The ZeroMQ door starts an operator's controls before the orders taken in the same burst: a
kill switch sent while clients flood the daemon must not wait behind the orders it stops."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import zmq
import zmq.asyncio

from ordo_shared.messages import PingReply
from ordod.zmq_server import ZmqServer


class RecordingService:
    """Answers everything with a pong, noting the ops in the order their handling began."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def call(self, request: Any) -> PingReply:
        self.started.append(request.op)
        return PingReply(version="test", time="now")


def frame(op: str, **fields: Any) -> bytes:
    return json.dumps({"v": 1, "op": op, "token": "t", **fields}).encode()


async def test_controls_in_a_burst_start_before_the_orders_taken_with_them() -> None:
    ctx = zmq.asyncio.Context()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    service = RecordingService()
    server = ZmqServer(router, service)  # type: ignore[arg-type]  # only call() is used
    try:
        requests = [frame("audit_replay") for _ in range(5)]
        requests += [frame("kill_switch", active=True, reason="flood"), b"not json", frame("ping")]
        for body in requests:
            await dealer.send_multipart([b"", body])
        assert await router.poll(5000, zmq.POLLIN)
        await asyncio.sleep(0.1)  # the rest arrive too: the server takes them in one burst
        serving = asyncio.create_task(server.run())
        replies = [await asyncio.wait_for(dealer.recv_multipart(), 5) for _ in requests]
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
    finally:
        dealer.close(0)
        router.close(0)
        ctx.term()
    assert service.started == ["kill_switch", "ping"] + ["audit_replay"] * 5
    errors = [json.loads(r[-1]) for r in replies if not json.loads(r[-1])["ok"]]
    assert [e["error"]["code"] for e in errors] == ["BAD_REQUEST"]  # the bad frame is still answered
