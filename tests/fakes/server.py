"""What every fake broker shares: running on 127.0.0.1 port 0, recording each request as
it arrived, one-shot faults queued per endpoint, JWT-shaped tokens, and hangs that end
when the fake closes (so a test never waits on a stuck handler)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

FaultKind = Literal[
    "reject",            # an error reply; nothing recorded
    "rate_limit",        # 429 with Retry-After headers; nothing recorded
    "accept_then_hang",  # the order is booked, then no answer (the client's read times out)
    "hang",              # no answer and nothing booked
    "no_ack",            # Fyers code 201: "sent, not acknowledged" (booked or not, per ``book``)
    "server_error",      # HTTP 5xx (booked or not, per ``book``)
    "reset",             # the connection is dropped after the order is booked
    "expired",           # the token is refused as expired
]


@dataclass
class Fault:
    kind: FaultKind
    status: int = 400
    code: int | None = None
    message: str = ""
    retry_after_s: float = 1.0
    book: bool = False


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: str


def make_jwt(subject: str, expires_at: float, **claims: Any) -> str:
    """A JWT-shaped token (the signature is random: only the broker checks it, and the fake's
    check is membership in its issued set)."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    payload = {"sub": subject, "iat": int(time.time()), "exp": int(expires_at), **claims}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.{secrets.token_urlsafe(16)}"


@dataclass
class FakeServer:
    app: web.Application = field(default_factory=web.Application)
    requests: list[Recorded] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    hang_s: float = 30.0

    def __post_init__(self) -> None:
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def fault(self, endpoint: str, *faults: Fault) -> None:
        """Queue one-shot faults for the next calls to ``endpoint`` (e.g. "POST /orders/sync")."""
        self.faults.setdefault(endpoint, deque()).extend(faults)

    def next_fault(self, endpoint: str) -> Fault | None:
        queue = self.faults.get(endpoint)
        return queue.popleft() if queue else None

    async def record(self, request: web.Request) -> Recorded:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rec = Recorded(request.method, request.path, dict(request.query), dict(request.headers), body, raw)
        self.requests.append(rec)
        return rec

    def calls(self, method: str, path_suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    async def hang(self) -> None:
        """Answer nothing until the fake closes (the client times out long before)."""
        try:
            await asyncio.wait_for(self._release.wait(), self.hang_s)
        except TimeoutError:
            pass

    @staticmethod
    def drop_connection(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)
