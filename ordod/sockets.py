"""The one place that creates ZeroMQ sockets, so every socket gets the same hygiene:
explicit linger, bounded message size, and a close on shutdown."""

from __future__ import annotations

from typing import Any

import zmq
import zmq.asyncio

from ordo_shared import MAX_MESSAGE_BYTES

# A frame larger than this is dropped by libzmq before we ever see it (the peer is
# disconnected); frames between MAX_MESSAGE_BYTES and this get a PAYLOAD_TOO_LARGE reply.
HARD_FRAME_LIMIT = 16 * MAX_MESSAGE_BYTES
LINGER_MS = 500

AnySocket = zmq.Socket[Any] | zmq.asyncio.Socket


def bound_endpoint(sock: AnySocket) -> str:
    """The endpoint actually bound: "tcp://127.0.0.1:*" binds an ephemeral port."""
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


class SocketFactory:
    def __init__(self, context: zmq.asyncio.Context | None = None) -> None:
        self.context = context or zmq.asyncio.Context()
        self._sockets: list[AnySocket] = []

    def router(self, endpoint: str) -> zmq.asyncio.Socket:
        sock = self.context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        sock.setsockopt(zmq.MAXMSGSIZE, HARD_FRAME_LIMIT)
        # Unroutable replies (client gone) are dropped instead of raising.
        sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        sock.bind(endpoint)
        self._sockets.append(sock)
        return sock

    def publisher(self, endpoint: str) -> zmq.Socket[bytes]:
        # A plain (non-asyncio) socket: PUB never blocks, it drops for slow subscribers.
        sock: zmq.Socket[bytes] = zmq.Context.shadow(self.context.underlying).socket(zmq.PUB)
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        sock.setsockopt(zmq.SNDHWM, 100_000)
        sock.bind(endpoint)
        self._sockets.append(sock)
        return sock

    def close_all(self) -> None:
        for sock in reversed(self._sockets):
            sock.close(linger=LINGER_MS)
        self._sockets.clear()
        self.context.term()
