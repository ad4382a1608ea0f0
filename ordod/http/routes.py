"""The endpoints: one table that both the router and the OpenAPI document are built from.

Each handler asks the service who the token belongs to and whether it may use the op at all
before it reads anything else (401/403 first), then translates the request into the op's
request model and hands it to ``OrdoService.call``, exactly as the ZeroMQ door does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ordo_shared.errors import ErrorCode as E
from ordo_shared.errors import IdempotencyKeyMissing
from ordo_shared.messages import (
    AuditReplayReply,
    AuditReplayRequest,
    GetOrderReply,
    GetOrderRequest,
    HealthReply,
    KillSwitchReply,
    ListOrdersReply,
    ListOrdersRequest,
    PingReply,
    Reason,
    Request,
)
from ordo_shared.models import OrderSpec, PlaceOrderReply, WireModel
from ordod.http.errors import JSON
from ordod.http.keys import OPENAPI
from ordod.http.sse import audit_stream
from ordod.http.translate import admit, body_model, json_body, query_ints, reply_response, wire_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

IDEMPOTENT_REPLAYED = "Idempotent-Replayed"


class KillSwitchBody(WireModel):
    """``PUT /api/v1/kill-switch``: on with a reason (trader or admin), or off (admin only)."""

    active: bool
    reason: Reason = ""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    op: str | None
    """The op whose role the endpoint needs; None: open to anyone, no token."""
    reply: type[WireModel] | None
    """Model of the success body (wrapped in the reply envelope); None: see the handler."""
    errors: tuple[E, ...]
    """Every error code the endpoint can answer with (besides INTERNAL / STORAGE_UNAVAILABLE)."""
    ok: tuple[int, ...] = (200,)
    body: type[WireModel] | None = None
    query: tuple[str, ...] = ()
    params_of: type[Request] | None = None
    """The request model whose fields the path and query parameters are."""


async def _call(request: web.Request, op: str, **fields: object) -> web.Response:
    """The common shape of a read: token, then query, then the service."""
    admitted = admit(request, op, _QUERY.get(op, ()))
    reply = await admitted.service.call(wire_request(op, admitted.token, **fields, **admitted.params))
    return reply_response(request, reply)


async def ping(request: web.Request) -> web.Response:
    return await _call(request, "ping")


async def place_order(request: web.Request) -> web.Response:
    admitted = admit(request, "place_order")
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise IdempotencyKeyMissing("POST /api/v1/orders needs an Idempotency-Key header; send the same key "
                                    "again to retry safely")
    order = await json_body(request)
    request_model = wire_request("place_order", admitted.token, idempotency_key=key, order=order)
    reply = await admitted.service.call(request_model)
    assert isinstance(reply, PlaceOrderReply)
    headers = {IDEMPOTENT_REPLAYED: "true"} if reply.replayed else None
    return reply_response(request, reply, status=reply.http_status, headers=headers)


async def list_orders(request: web.Request) -> web.Response:
    return await _call(request, "list_orders")


async def get_order(request: web.Request) -> web.Response:
    return await _call(request, "get_order", order_ref=request.match_info["order_ref"])


async def health(request: web.Request) -> web.Response:
    return await _call(request, "health")


async def get_kill_switch(request: web.Request) -> web.Response:
    return await _call(request, "kill_switch")


async def put_kill_switch(request: web.Request) -> web.Response:
    admitted = admit(request, "kill_switch")
    body = body_model(KillSwitchBody, await json_body(request))
    reply = await admitted.service.call(
        wire_request("kill_switch", admitted.token, active=body.active, reason=body.reason))
    return reply_response(request, reply)


async def audit_replay(request: web.Request) -> web.Response:
    return await _call(request, "audit_replay")


async def openapi(request: web.Request) -> web.Response:
    query_ints(request)
    return web.Response(body=request.app[OPENAPI], content_type=JSON)


_QUERY: dict[str, tuple[str, ...]] = {"list_orders": ("limit",), "audit_replay": ("since", "limit")}
_READ = (E.BAD_REQUEST, E.UNAUTHORIZED)
_BODY = (E.BAD_REQUEST, E.UNSUPPORTED_MEDIA_TYPE, E.PAYLOAD_TOO_LARGE, E.VALIDATION_ERROR)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v1/ping", ping, "Liveness: answers without a token", None, PingReply, (E.BAD_REQUEST,)),
    Endpoint("POST", "/api/v1/orders", place_order, "Place an order at every target broker", "place_order",
             PlaceOrderReply, (*_BODY, E.IDEMPOTENCY_KEY_MISSING, E.UNAUTHORIZED, E.FORBIDDEN,
                               E.KILL_SWITCH_ACTIVE, E.IDEMPOTENCY_KEY_IN_FLIGHT, E.IDEMPOTENCY_KEY_REUSED,
                               E.RATE_LIMITED, E.SHUTTING_DOWN),
             ok=(200, 207, 502), body=OrderSpec),
    Endpoint("GET", "/api/v1/orders", list_orders, "Recent orders, newest first", "list_orders",
             ListOrdersReply, (*_READ, E.VALIDATION_ERROR), query=_QUERY["list_orders"],
             params_of=ListOrdersRequest),
    Endpoint("GET", "/api/v1/orders/{order_ref}", get_order, "One order by its order_ref", "get_order",
             GetOrderReply, (*_READ, E.NOT_FOUND, E.VALIDATION_ERROR), params_of=GetOrderRequest),
    Endpoint("GET", "/api/v1/health", health, "Health of the daemon and of every broker", "health",
             HealthReply, _READ),
    Endpoint("GET", "/api/v1/kill-switch", get_kill_switch, "The kill switch's state", "kill_switch",
             KillSwitchReply, _READ),
    Endpoint("PUT", "/api/v1/kill-switch", put_kill_switch,
             "Turn the kill switch on (trader or admin) or off (admin only)", "kill_switch",
             KillSwitchReply, (*_BODY, E.UNAUTHORIZED, E.FORBIDDEN), body=KillSwitchBody),
    Endpoint("GET", "/api/v1/audit", audit_replay, "Stored audit events with seq > since", "audit_replay",
             AuditReplayReply, (*_READ, E.VALIDATION_ERROR), query=_QUERY["audit_replay"],
             params_of=AuditReplayRequest),
    Endpoint("GET", "/api/v1/audit/stream", audit_stream,
             "Server-Sent Events of the audit log, live; resumable with Last-Event-ID", "audit_stream",
             None, _READ, query=("since",), params_of=AuditReplayRequest),
    Endpoint("GET", "/api/v1/openapi.json", openapi, "This document", None, None, (E.BAD_REQUEST,)),
)


def add_routes(app: web.Application) -> None:
    for endpoint in ENDPOINTS:
        # add_route, not add_get: no implicit HEAD, which the document does not promise.
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
