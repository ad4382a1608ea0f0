"""Many concurrent raw REQ clients against a daemon process, as a desk of scripts would be."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import zmq
import zmq.asyncio

from tests.harness import ORDER


class ReqClient:
    """One REQ socket with lazy-pirate recovery: a timed-out socket is replaced."""

    def __init__(self, ctx: zmq.asyncio.Context, endpoint: str, token: str) -> None:
        self._ctx, self._endpoint, self.token = ctx, endpoint, token
        self._sock: zmq.asyncio.Socket | None = None

    def _socket(self) -> zmq.asyncio.Socket:
        if self._sock is None:
            self._sock = self._ctx.socket(zmq.REQ)
            self._sock.setsockopt(zmq.LINGER, 0)
            self._sock.connect(self._endpoint)
        return self._sock

    async def call(self, request: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any] | None:
        sock = self._socket()
        await sock.send(json.dumps({"v": 1, "token": self.token, **request}).encode())
        if not await sock.poll(int(timeout_s * 1000)):
            sock.close(linger=0)
            self._sock = None
            return None
        reply: dict[str, Any] = json.loads(await sock.recv())
        return reply

    async def place_until_settled(self, key: str, order: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send the order; while its first copy is still running (409), ask again with the same key."""
        for _ in range(400):
            reply = await self.call({"op": "place_order", "idempotency_key": key, "order": order or ORDER})
            if reply is None:
                raise AssertionError(f"reply lost for key {key}")
            if reply["ok"] or reply["error"]["code"] != "IDEMPOTENCY_KEY_IN_FLIGHT":
                return reply
            await asyncio.sleep(0.02)
        raise AssertionError(f"key {key} never settled")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
