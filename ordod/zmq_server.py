"""The ZeroMQ request door: a ROUTER socket serving REQ (and DEALER) clients concurrently.

Each request runs as its own task, so a slow broker call for one client never delays
another client's ``health`` or ``kill_switch``; replies go back out of order, addressed by
the routing envelope. No input of any shape can end the loop: every fault becomes a typed
error reply.
"""

from __future__ import annotations

import asyncio
import logging

import zmq
import zmq.asyncio

from ordo_shared.codec import correlation_id, encode_error, encode_ok, parse_json_object, request_from_object
from ordo_shared.errors import BadRequest, InternalError, OrdoError
from ordo_shared.messages import CorrelationId
from ordod.service import OrdoService

log = logging.getLogger("ordod.zmq")


def split_envelope(frames: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Routing envelope (up to and including the empty delimiter) and body frames.
    A DEALER peer may send no delimiter: then only the identity frame is envelope."""
    for i, frame in enumerate(frames[1:], start=1):
        if frame == b"":
            return frames[: i + 1], frames[i + 1 :]
    return frames[:1], frames[1:]


class ZmqServer:
    def __init__(self, socket: zmq.asyncio.Socket, service: OrdoService) -> None:
        self._socket = socket
        self._service = service
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests = 0

    async def run(self) -> None:
        while True:
            try:
                frames = await self._socket.recv_multipart(copy=True)
            except zmq.ZMQError as exc:
                if exc.errno == zmq.ETERM:
                    return
                log.warning("receive failed: %s", exc)
                continue
            self.requests += 1
            task = asyncio.create_task(self._serve(frames))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def in_progress(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float) -> None:
        """Let requests under way finish (bounded), then cancel what is left.

        Requests that arrive while draining are waited for too (they are answered quickly:
        a shutting-down daemon refuses new orders at once)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=remaining)
        pending = set(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _serve(self, frames: list[bytes]) -> None:
        envelope, body = split_envelope(frames)
        reply = await self.answer(body)
        try:
            await self._socket.send_multipart([*envelope, reply])
        except zmq.ZMQError as exc:
            log.warning("reply not sent: %s", exc)

    async def answer(self, body: list[bytes]) -> bytes:
        """One reply frame for one request body, whatever the body holds."""
        cid: CorrelationId = None
        try:
            if len(body) != 1:
                raise BadRequest(f"a request is exactly one frame, got {len(body)}")
            obj = parse_json_object(body[0])
            cid = correlation_id(obj)
            request = request_from_object(obj)
            result = await self._service.call(request)
            return encode_ok(cid, result.model_dump(mode="json"))
        except OrdoError as exc:
            return encode_error(cid, exc)
        except asyncio.CancelledError:
            return encode_error(cid, InternalError("request cancelled during shutdown"))
        except Exception:
            log.exception("unhandled error in request handler")
            return encode_error(cid, InternalError("internal error; the daemon keeps running"))
