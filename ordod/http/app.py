"""Builds the HTTP app and serves it inside the daemon's own event loop (``AppRunner`` and
``TCPSite``, not ``run_app``), so it starts and stops with the rest of the daemon.

Other modules add their own routes (a broker's login redirect, ``/metrics``) by passing
``register(app)`` callables; the app carries the service and the event fan-out under typed
keys (``ordod.http.keys``) for them, and their errors get the same JSON shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web

from ordo_shared import MAX_MESSAGE_BYTES
from ordod.fanout import EventFanout
from ordod.http.errors import errors_middleware
from ordod.http.keys import EVENTS, OPENAPI, SERVICE, SSE_KEEPALIVE_S
from ordod.http.openapi import document_bytes
from ordod.http.routes import ENDPOINTS, add_routes
from ordod.service import OrdoService

log = logging.getLogger("ordod.http")

RouteRegistrar = Callable[[web.Application], None]

SSE_KEEPALIVE_DEFAULT_S = 15.0


def build_app(
    service: OrdoService,
    events: EventFanout,
    registrars: Sequence[RouteRegistrar] = (),
    sse_keepalive_s: float = SSE_KEEPALIVE_DEFAULT_S,
) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_MESSAGE_BYTES)
    app[SERVICE] = service
    app[EVENTS] = events
    app[SSE_KEEPALIVE_S] = sse_keepalive_s
    app[OPENAPI] = document_bytes(ENDPOINTS)
    add_routes(app)
    for register in registrars:
        register(app)
    return app


class HttpServer:
    def __init__(self, app: web.Application, host: str, port: int, shutdown_timeout_s: float) -> None:
        # No access log: each order is already logged and audited, and a log line per health
        # poll would drown them.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout_s)
        self._host = host
        self._port = port
        self.port: int | None = None

    async def start(self) -> None:
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self._host, self._port).start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self.port = int(self._runner.addresses[0][1])
        log.info("HTTP API on http://%s:%d/api/v1/", self._host, self.port)

    async def stop(self) -> None:
        """Stop listening, let requests under way finish (bounded), close connections."""
        await self._runner.cleanup()
