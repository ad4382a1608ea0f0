"""Typed keys of what the HTTP app carries, also for routes other modules register."""

from __future__ import annotations

from aiohttp import web

from ordod.fanout import EventFanout
from ordod.service import OrdoService

SERVICE = web.AppKey("ordo.service", OrdoService)
EVENTS = web.AppKey("ordo.events", EventFanout)
SSE_KEEPALIVE_S = web.AppKey("ordo.sse_keepalive_s", float)
OPENAPI = web.AppKey("ordo.openapi", bytes)
