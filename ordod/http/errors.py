"""Every HTTP failure as the wire protocol's error body, with its ``http_status`` as the
status: a middleware turns Ordo errors, aiohttp's own 404/405/413 and anything unexpected
into ``{"v":1,"id":...,"ok":false,"error":{"code","message","http_status"}}``. No input
reaches a traceback or aiohttp's plain-text 500."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler

from ordo_shared import MAX_MESSAGE_BYTES
from ordo_shared.codec import correlation_id, encode_error
from ordo_shared.errors import (
    BadRequest,
    ErrorCode,
    InternalError,
    MethodNotAllowed,
    NotFound,
    OrdoError,
    PayloadTooLarge,
    RateLimited,
)
from ordo_shared.messages import CorrelationId

log = logging.getLogger("ordod.http")

JSON = "application/json"
REQUEST_ID = "X-Request-Id"


def request_id(request: web.Request) -> CorrelationId:
    """The caller's ``X-Request-Id``, echoed as the reply's ``id`` like a ZeroMQ request's ``id``."""
    return correlation_id({"id": request.headers.get(REQUEST_ID)})


def error_response(error: OrdoError, cid: CorrelationId = None,
                   headers: Mapping[str, str] | None = None) -> web.Response:
    response = web.Response(body=encode_error(cid, error), status=error.http_status, content_type=JSON,
                            headers=dict(headers or {}))
    if error.code == ErrorCode.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ordo"'
    if isinstance(error, RateLimited) and error.retry_after_s is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
    return response


def from_http_exception(request: web.Request, exc: web.HTTPException) -> tuple[OrdoError, dict[str, str]]:
    """aiohttp's own refusals (no route, wrong method, body too big) in Ordo's vocabulary."""
    path = request.path[:200]
    if exc.status == 404:
        return NotFound(f"no endpoint {path!r}; see /api/v1/openapi.json"), {}
    if exc.status == 405:
        allow = exc.headers.get("Allow", "")
        return MethodNotAllowed(f"{request.method[:16]} is not allowed on {path!r}; allowed: {allow}"), {"Allow": allow}
    if exc.status == 413:
        return PayloadTooLarge(f"request body is larger than {MAX_MESSAGE_BYTES} bytes"), {}
    if 400 <= exc.status < 500:
        return BadRequest(f"bad request: {exc.reason}"), {}
    return InternalError("internal error; the daemon keeps running"), {}


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    cid = request_id(request)
    try:
        response = await handler(request)
    except OrdoError as exc:
        response = error_response(exc, cid)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # a redirect some registered route asked for
        error, headers = from_http_exception(request, exc)
        response = error_response(error, cid, headers)
    except asyncio.CancelledError:
        raise
    except ConnectionError:
        raise  # the client went away; there is nobody to answer
    except Exception:
        log.exception("unhandled error in HTTP handler %s %s", request.method, request.path[:200])
        response = error_response(InternalError("internal error; the daemon keeps running"), cid)
    if cid is not None and not response.prepared:
        response.headers[REQUEST_ID] = str(cid)
    return response
