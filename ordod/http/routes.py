"""The endpoints: one table that both the router and the OpenAPI document are built from.

Each handler asks the service who the token belongs to and whether it may use the op at all
before it reads anything else (401/403 first), then translates the request into the op's
request model and hands it to ``OrdoService.call``, exactly as the ZeroMQ door does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ordo_shared.errors import ErrorCode as E
from ordo_shared.errors import IdempotencyKeyMissing
from ordo_shared.messages import (
    AuditReplayReply,
    AuditReplayRequest,
    CancelOrderRequest,
    GetOrderReply,
    GetOrderRequest,
    HealthReply,
    KillSwitchReply,
    KillSwitchRequest,
    ListOrdersReply,
    ListOrdersRequest,
    ModifyOrderRequest,
    PingReply,
    Request,
)
from ordo_shared.models import OrderActionReply, OrderSpec, PlaceOrderReply, WireModel
from ordod.http.errors import JSON
from ordod.http.keys import OPENAPI
from ordod.http.sse import audit_stream
from ordod.http.translate import admit, body_model, body_of, json_body, reply_response, wire_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"

# Request bodies: the op's own request model without the envelope (and without what the path
# or a header carries), so a body can never smuggle in an ``op`` or a ``token``.
KillSwitchBody = body_of(KillSwitchRequest, "KillSwitchBody", required=("active",))
ModifyOrderBody = body_of(ModifyOrderRequest, "ModifyOrderBody", exclude=("order_ref", "idempotency_key"))


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    op: str | None
    """The op it runs, whose role it needs (an open op needs no token); None: no op at all."""
    reply: type[WireModel] | None
    """Model of the success body (wrapped in the reply envelope); None: see the handler."""
    errors: tuple[E, ...]
    """Every error code the endpoint can answer with (besides INTERNAL / STORAGE_UNAVAILABLE)."""
    ok: tuple[int, ...] = (200,)
    body: type[WireModel] | None = None
    ints: tuple[str, ...] = ()
    """Integer query parameters."""
    lists: tuple[str, ...] = ()
    """Comma-separated list query parameters."""
    params_of: type[Request] | None = None
    """The request model whose fields the path and query parameters are."""
    key_header: bool = False
    """Takes an Idempotency-Key header (required for place_order, optional otherwise)."""


def _endpoint(request: web.Request) -> Endpoint:
    return _BY_ROUTE[(request.method, request.match_info.route.resource.canonical)]  # type: ignore[union-attr]


async def _call(request: web.Request, **fields: Any) -> web.Response:
    """The common shape: token, then query, then the service."""
    endpoint = _endpoint(request)
    assert endpoint.op is not None
    admitted = admit(request, endpoint.op, endpoint.ints, endpoint.lists)
    reply = await admitted.service.call(wire_request(endpoint.op, admitted.token, **fields, **admitted.params))
    if isinstance(reply, PlaceOrderReply):  # an order action: the status is its outcome
        headers = {IDEMPOTENT_REPLAYED: "true"} if reply.replayed else None
        return reply_response(request, reply, status=reply.http_status, headers=headers)
    return reply_response(request, reply)


def _optional_key(request: web.Request) -> dict[str, str]:
    key = request.headers.get(IDEMPOTENCY_KEY, "")
    return {"idempotency_key": key} if key else {}


async def ping(request: web.Request) -> web.Response:
    return await _call(request)


async def place_order(request: web.Request) -> web.Response:
    admit(request, "place_order")  # 401/403 before the key and body are looked at
    key = _optional_key(request)
    if not key:
        raise IdempotencyKeyMissing(f"POST /api/v1/orders needs an {IDEMPOTENCY_KEY} header; send the same "
                                    "key again to retry safely")
    return await _call(request, order=await json_body(request), **key)


async def list_orders(request: web.Request) -> web.Response:
    return await _call(request)


async def get_order(request: web.Request) -> web.Response:
    return await _call(request, order_ref=request.match_info["order_ref"])


async def cancel_order(request: web.Request) -> web.Response:
    return await _call(request, order_ref=request.match_info["order_ref"], **_optional_key(request))


async def modify_order(request: web.Request) -> web.Response:
    admit(request, "modify_order")
    body = body_model(ModifyOrderBody, await json_body(request))
    return await _call(request, order_ref=request.match_info["order_ref"], **_optional_key(request),
                       **body.model_dump(exclude_unset=True))


async def health(request: web.Request) -> web.Response:
    return await _call(request)


async def get_kill_switch(request: web.Request) -> web.Response:
    return await _call(request)


async def put_kill_switch(request: web.Request) -> web.Response:
    admit(request, "kill_switch")
    body = body_model(KillSwitchBody, await json_body(request))
    return await _call(request, **body.model_dump(exclude_unset=True))


async def audit_replay(request: web.Request) -> web.Response:
    return await _call(request)


async def openapi(request: web.Request) -> web.Response:
    admit(request, "ping")  # no token needed; only refuses unknown query parameters
    return web.Response(body=request.app[OPENAPI], content_type=JSON)


_READ = (E.BAD_REQUEST, E.UNAUTHORIZED)
_BODY = (E.BAD_REQUEST, E.UNSUPPORTED_MEDIA_TYPE, E.PAYLOAD_TOO_LARGE, E.VALIDATION_ERROR)
_ACTION = (E.BAD_REQUEST, E.UNAUTHORIZED, E.FORBIDDEN, E.NOT_FOUND, E.VALIDATION_ERROR,
           E.IDEMPOTENCY_KEY_IN_FLIGHT, E.IDEMPOTENCY_KEY_REUSED)
_OUTCOMES = (200, 207, 502)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v1/ping", ping, "Liveness: answers without a token", "ping", PingReply, (E.BAD_REQUEST,)),
    Endpoint("POST", "/api/v1/orders", place_order, "Place an order at every target broker", "place_order",
             PlaceOrderReply, (*_BODY, E.IDEMPOTENCY_KEY_MISSING, E.UNAUTHORIZED, E.FORBIDDEN,
                               E.KILL_SWITCH_ACTIVE, E.IDEMPOTENCY_KEY_IN_FLIGHT, E.IDEMPOTENCY_KEY_REUSED,
                               E.RATE_LIMITED, E.SHUTTING_DOWN),
             ok=_OUTCOMES, body=OrderSpec, key_header=True),
    Endpoint("GET", "/api/v1/orders", list_orders, "Recent orders, newest first", "list_orders",
             ListOrdersReply, (*_READ, E.VALIDATION_ERROR), ints=("limit",), params_of=ListOrdersRequest),
    Endpoint("GET", "/api/v1/orders/{order_ref}", get_order, "One order by its order_ref", "get_order",
             GetOrderReply, (*_READ, E.NOT_FOUND, E.VALIDATION_ERROR), params_of=GetOrderRequest),
    Endpoint("DELETE", "/api/v1/orders/{order_ref}", cancel_order,
             "Cancel an order at every broker that holds it (allowed under the kill switch)", "cancel_order",
             OrderActionReply, _ACTION, ok=_OUTCOMES, lists=("brokers",), params_of=CancelOrderRequest,
             key_header=True),
    Endpoint("PATCH", "/api/v1/orders/{order_ref}", modify_order,
             "Modify an open order at every broker that holds it", "modify_order", OrderActionReply,
             (*_ACTION, E.UNSUPPORTED_MEDIA_TYPE, E.PAYLOAD_TOO_LARGE, E.KILL_SWITCH_ACTIVE), ok=_OUTCOMES,
             body=ModifyOrderBody, params_of=ModifyOrderRequest, key_header=True),
    Endpoint("GET", "/api/v1/health", health, "Health of the daemon and of every broker", "health",
             HealthReply, _READ),
    Endpoint("GET", "/api/v1/kill-switch", get_kill_switch, "The kill switch's state", "kill_switch",
             KillSwitchReply, _READ),
    Endpoint("PUT", "/api/v1/kill-switch", put_kill_switch,
             "Turn the kill switch on (trader or admin) or off (admin only, with confirm)", "kill_switch",
             KillSwitchReply, (*_BODY, E.UNAUTHORIZED, E.FORBIDDEN, E.KILL_SWITCH_HOLD), body=KillSwitchBody),
    Endpoint("GET", "/api/v1/audit", audit_replay, "Stored audit events with seq > since", "audit_replay",
             AuditReplayReply, (*_READ, E.VALIDATION_ERROR), ints=("since", "limit"), params_of=AuditReplayRequest),
    Endpoint("GET", "/api/v1/audit/stream", audit_stream,
             "Server-Sent Events of the audit log, live; resumable with Last-Event-ID", "audit_stream",
             None, _READ, ints=("since",), params_of=AuditReplayRequest),
    Endpoint("GET", "/api/v1/openapi.json", openapi, "This document", None, None, (E.BAD_REQUEST,)),
)

_BY_ROUTE = {(e.method, e.path): e for e in ENDPOINTS}


def add_routes(app: web.Application) -> None:
    for endpoint in ENDPOINTS:
        # add_route, not add_get: no implicit HEAD, which the document does not promise.
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
