"""What every fake broker shares: running on 127.0.0.1 port 0, recording each request as
it arrived, one-shot faults queued per endpoint and played the same way for every broker
(each words its replies its own way), JWT-shaped tokens it issues and can revoke, and
hangs that end when the fake closes (so a test never waits on a stuck handler)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
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

    @property
    def refuses_before_validation(self) -> bool:
        """A fault the broker answers before it reads the order."""
        return self.kind in ("reject", "rate_limit", "expired")


@dataclass(frozen=True)
class FaultReplies:
    """How one broker words each fault."""

    reject: Callable[[Fault], web.Response]
    rate_limited: Callable[[Fault], web.Response]
    expired: Callable[[], web.Response]
    server_error: Callable[[Fault], web.Response]
    late_success: Callable[[Any], web.Response]
    no_ack: Callable[[], web.Response]


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


def average_after_fill(filled: int, average: float, qty: int, price: float) -> float:
    """The average traded price once ``qty`` more trade at ``price`` (how both brokers show fills)."""
    return (average * filled + price * qty) / (filled + qty)


TokenState = Literal["ok", "unknown", "expired"]
RECORDED = web.RequestKey("recorded", Recorded)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeServer:
    requests: list[Recorded] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> exp
    revoked: set[str] = field(default_factory=set)
    hang_s: float = 30.0

    def __post_init__(self) -> None:
        self.app = web.Application(middlewares=[self._recording])
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

    # Tokens

    def issue(self, subject: str, valid_for_s: float, **claims: Any) -> str:
        exp = time.time() + valid_for_s
        token = make_jwt(subject, exp, **claims)
        self.tokens[token] = exp
        return token

    def revoke_all(self) -> None:
        """The broker ends every session (the mid-day expiry)."""
        self.revoked.update(self.tokens)

    def token_state(self, token: str) -> TokenState:
        if token not in self.tokens:
            return "unknown"
        if token in self.revoked or self.tokens[token] <= time.time():
            return "expired"
        return "ok"

    # Requests and faults

    @web.middleware
    async def _recording(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = Recorded(request.method, request.path, dict(request.query), dict(request.headers), body, raw)
        self.requests.append(recorded)
        request[RECORDED] = recorded
        return await handler(request)

    @staticmethod
    def body(request: web.Request) -> dict[str, Any]:
        """The request's JSON object body ({} when it has none)."""
        body = request[RECORDED].body
        return body if isinstance(body, dict) else {}

    def fault(self, endpoint: str, *faults: Fault) -> None:
        """Queue one-shot faults for the next calls to ``endpoint`` (e.g. "POST /orders/sync")."""
        self.faults.setdefault(endpoint, deque()).extend(faults)

    def next_fault(self, endpoint: str) -> Fault | None:
        queue = self.faults.get(endpoint)
        return queue.popleft() if queue else None

    async def play(self, fault: Fault, request: web.Request, book: Callable[[], Any],
                   replies: FaultReplies) -> web.StreamResponse:
        """Answer an order call as ``fault`` says; ``book`` records the order at the broker."""
        if fault.kind == "reject":
            return replies.reject(fault)
        if fault.kind == "rate_limit":
            return replies.rate_limited(fault)
        if fault.kind == "expired":
            return replies.expired()
        if fault.kind == "hang":
            await self.hang()
            return replies.server_error(fault)
        order = book() if fault.kind in ("accept_then_hang", "reset") or fault.book else None
        if fault.kind == "accept_then_hang":
            await self.hang()
            return replies.late_success(order)
        if fault.kind == "reset":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if fault.kind == "no_ack":
            return replies.no_ack()
        return replies.server_error(fault)

    def calls(self, method: str, path_suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    async def hang(self) -> None:
        """Answer nothing until the fake closes (the client times out long before)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), self.hang_s)
