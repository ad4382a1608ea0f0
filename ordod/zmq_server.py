"""The ZeroMQ request door: a ROUTER socket serving REQ (and DEALER) clients concurrently.

Each request runs as its own task, so a slow broker call for one client never delays
another client's ``health`` or ``kill_switch``; replies go back out of order, addressed by
the routing envelope. No input of any shape can end the loop: every fault becomes a typed
error reply.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio

from ordo_shared.codec import correlation_id, encode_error, encode_ok_model, parse_json_object, request_from_object
from ordo_shared.errors import BadRequest, InternalError, OrdoError
from ordo_shared.messages import CorrelationId
from ordod.multipart import readable, recv_nowait, send_nowait
from ordod.service import OrdoService

log = logging.getLogger("ordod.zmq")


def split_envelope(frames: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Routing envelope (up to and including the empty delimiter) and body frames.
    A DEALER peer may send no delimiter: then only the identity frame is envelope."""
    for i, frame in enumerate(frames[1:], start=1):
        if frame == b"":
            return frames[: i + 1], frames[i + 1 :]
    return frames[:1], frames[1:]


# Requests taken off the socket in one go before the loop lets their tasks run.
_RECEIVE_BURST = 256


class ZmqServer:
    def __init__(self, socket: zmq.asyncio.Socket, service: OrdoService) -> None:
        self._socket = socket
        # The same socket without pyzmq's asyncio layer, which costs a future and a few loop
        # callbacks per send and per receive. We wait on its file descriptor ourselves and take
        # every request waiting in one go.
        self._sync: zmq.Socket[bytes] = zmq.Socket.shadow(socket.underlying)
        self._readable = asyncio.Event()
        self._recheck_pending = False
        self._service = service
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        fd = int(self._sync.getsockopt(zmq.FD))
        loop.add_reader(fd, self._readable.set)
        try:
            while True:
                self._readable.clear()
                more = self._receive_burst()
                if more is None:
                    return
                if more:
                    await asyncio.sleep(0)  # a flood: let the requests taken so far run first
                else:
                    await self._readable.wait()
        finally:
            loop.remove_reader(fd)

    def _receive_burst(self) -> bool | None:
        """Take waiting requests; True if more may be waiting, None once the socket is gone.

        Within what was taken, an operator's controls start first: the tasks of one burst run
        in the order they were made, and a kill switch must not wait behind the orders it stops."""
        burst: list[_Incoming] = []
        more: bool | None = True
        for _ in range(_RECEIVE_BURST):
            try:
                frames = recv_nowait(self._sync)
            except zmq.Again:
                more = False
                break
            except zmq.ZMQError as exc:
                if exc.errno in (zmq.ETERM, zmq.ENOTSOCK):
                    more = None
                else:
                    log.warning("receive failed: %s", exc)
                    more = False
                break
            self.requests += 1
            burst.append(_Incoming.read(frames))
        burst.sort(key=_Incoming.runs_later)  # stable: arrival order otherwise
        for incoming in burst:
            task = asyncio.create_task(self._serve(incoming))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return more

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

    async def _serve(self, incoming: _Incoming) -> None:
        reply = await self._answer(incoming.parsed)
        try:
            # A ROUTER never blocks on send: a reply to a vanished or saturated peer is dropped.
            send_nowait(self._sync, [*incoming.envelope, reply])
        except zmq.ZMQError as exc:
            log.warning("reply not sent: %s", exc)
            return
        # libzmq's descriptor is edge-like: a send may consume the wake-up for requests that
        # arrived meanwhile, so look for them rather than wait for a signal. Once for all the
        # replies sent in this turn of the loop, before it waits again: the look is a syscall.
        if not self._recheck_pending:
            self._recheck_pending = True
            asyncio.get_running_loop().call_soon(self._recheck)

    def _recheck(self) -> None:
        self._recheck_pending = False
        try:
            if readable(self._sync):
                self._readable.set()
        except zmq.ZMQError as exc:  # the socket closed under us: run() sees it on its next receive
            log.debug("socket not checked after replies: %s", exc)

    async def answer(self, body: list[bytes]) -> bytes:
        """One reply frame for one request body, whatever the body holds."""
        return await self._answer(_parse(body))

    async def _answer(self, parsed: dict[str, Any] | OrdoError) -> bytes:
        cid: CorrelationId = None
        try:
            if isinstance(parsed, OrdoError):
                raise parsed
            cid = correlation_id(parsed)
            request = request_from_object(parsed)
            result = await self._service.call(request)
            return encode_ok_model(cid, result)
        except OrdoError as exc:
            return encode_error(cid, exc)
        except asyncio.CancelledError:
            return encode_error(cid, InternalError("request cancelled during shutdown"))
        except Exception:
            log.exception("unhandled error in request handler")
            return encode_error(cid, InternalError("internal error; the daemon keeps running"))


# What an operator's console sends to see and stop the daemon: these never wait behind orders.
CONTROL_OPS = frozenset({"kill_switch", "ping", "health"})


def _parse(body: list[bytes]) -> dict[str, Any] | OrdoError:
    try:
        if len(body) != 1:
            raise BadRequest(f"a request is exactly one frame, got {len(body)}")
        return parse_json_object(body[0])
    except OrdoError as exc:
        return exc
    except Exception:  # runs in the receive loop, which nothing may end
        log.exception("unhandled error parsing a request")
        return InternalError("internal error; the daemon keeps running")


@dataclass(frozen=True, slots=True)
class _Incoming:
    envelope: list[bytes]
    parsed: dict[str, Any] | OrdoError  # the request object, or why it is not one

    @classmethod
    def read(cls, frames: list[bytes]) -> _Incoming:
        envelope, body = split_envelope(frames)
        return cls(envelope, _parse(body))

    def runs_later(self) -> bool:
        return not (isinstance(self.parsed, dict) and self.parsed.get("op") in CONTROL_OPS)
