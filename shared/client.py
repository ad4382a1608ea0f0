"""A small asyncio client for the wire protocol, for the TUI, the CLI and Python scripts.

Lazy-pirate style: every call waits with a deadline; after a timeout the REQ socket is
closed and recreated (a REQ socket that missed its reply is stuck otherwise) and the caller
gets ``DaemonUnreachable``. Retrying ``place_order`` with the same idempotency key is always
safe: the daemon answers a repeat from its store instead of placing the order again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
import zmq.auth

from ordo_shared import PROTOCOL_VERSION
from ordo_shared.codec import decode_event, dumps
from ordo_shared.errors import HTTP_STATUS, ErrorCode, OrdoError
from ordo_shared.models import Event

LINGER_MS = 0


class DaemonUnreachable(Exception):
    """No reply within the deadline: the daemon is down, restarting or overloaded."""


class RemoteError(OrdoError):
    """The daemon refused the request; ``code`` is its stable error code."""

    def __init__(
        self, code: str, message: str, http_status: int, field: str | None = None,
        reply: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.remote_code = code
        self.reply = reply  # the daemon's error reply as received, for callers that print it
        self._http_status = http_status
        try:
            self.code = ErrorCode(code)
        except ValueError:
            self.code = ErrorCode.INTERNAL

    @property
    def http_status(self) -> int:
        return self._http_status or HTTP_STATUS.get(self.code, 500)

    def __str__(self) -> str:
        return f"{self.remote_code}: {self.message}"


@dataclass(frozen=True)
class CurveKeys:
    """For a daemon with ``[auth.curve]``: this client's key pair and the daemon's public key
    (certificates as written by ``zmq.auth.create_certificates``; see docs/SECURITY.md)."""

    public_key: bytes
    secret_key: bytes
    server_key: bytes

    @classmethod
    def from_files(cls, client_secret_file: Path, server_public_file: Path) -> CurveKeys:
        public, secret = zmq.auth.load_certificate(client_secret_file)
        if secret is None:
            raise ValueError(f"{client_secret_file} holds no secret key (give the .key_secret file)")
        server, _ = zmq.auth.load_certificate(server_public_file)
        return cls(public, secret, server)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        """Before ``connect``."""
        sock.curve_publickey = self.public_key
        sock.curve_secretkey = self.secret_key
        sock.curve_serverkey = self.server_key


class OrdoClient:
    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        timeout_s: float = 5.0,
        context: zmq.asyncio.Context | None = None,
        curve: CurveKeys | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.token = token
        self.timeout_s = timeout_s
        self.curve = curve
        self._own_context = context is None
        self._context = context or zmq.asyncio.Context()
        self._socket: zmq.asyncio.Socket | None = None
        self._ids = itertools.count(1)

    def _connect(self) -> zmq.asyncio.Socket:
        if self._socket is None:
            sock = self._context.socket(zmq.REQ)
            sock.setsockopt(zmq.LINGER, LINGER_MS)
            if self.curve is not None:
                self.curve.apply(sock)
            sock.connect(self.endpoint)
            self._socket = sock
        return self._socket

    def _reset(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    async def call(self, op: str, timeout_s: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send one request and return the reply's fields; raises RemoteError or DaemonUnreachable."""
        request = {"v": PROTOCOL_VERSION, "op": op, "id": next(self._ids), **fields}
        if self.token is not None:
            request["token"] = self.token
        sock = self._connect()
        deadline_ms = int((timeout_s or self.timeout_s) * 1000)
        try:
            await sock.send(dumps(request))
            if not await sock.poll(deadline_ms):
                raise DaemonUnreachable(f"no reply from {self.endpoint} within {deadline_ms} ms")
            raw = await sock.recv()
        except DaemonUnreachable:
            self._reset()
            raise
        except zmq.ZMQError as exc:
            self._reset()
            raise DaemonUnreachable(f"{self.endpoint}: {exc}") from None
        reply: dict[str, Any] = json.loads(raw)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise RemoteError(str(err.get("code", "INTERNAL")), str(err.get("message", "")),
                              int(err.get("http_status", 500)), err.get("field"), reply=reply)
        return reply

    def close(self) -> None:
        self._reset()
        if self._own_context:
            self._context.term()

    async def __aenter__(self) -> OrdoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


async def subscribe(
    endpoint: str, topics: tuple[str, ...] = ("",), context: zmq.asyncio.Context | None = None,
    curve: CurveKeys | None = None,
) -> AsyncIterator[Event]:
    """Events from the daemon's PUB socket, forever. ``topics`` are prefixes ("audit.", "health.")."""
    ctx = context or zmq.asyncio.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, LINGER_MS)
    if curve is not None:
        curve.apply(sock)
    for topic in topics:
        sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sock.connect(endpoint)
    try:
        while True:
            frames = await sock.recv_multipart()
            try:
                yield decode_event(frames)
            except Exception:  # noqa: S112 - a malformed event is skipped, not fatal
                continue
    finally:
        sock.close(linger=0)
