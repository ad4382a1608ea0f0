"""HTTP to wire protocol and back: headers, query and body become the op's request model
(through the same decoder as a ZeroMQ frame), and a reply model becomes the same JSON body a
ZeroMQ client gets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar, Union, get_args

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError, create_model

from ordo_shared import MAX_MESSAGE_BYTES, PROTOCOL_VERSION
from ordo_shared.codec import encode_ok, parse_json_object, request_from_object, validation_error
from ordo_shared.errors import BadRequest, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed
from ordo_shared.messages import OPEN_OPS, Request
from ordo_shared.models import WireModel
from ordod.http.errors import JSON, request_id
from ordod.http.keys import SERVICE
from ordod.service import OrdoService

M = TypeVar("M", bound=BaseModel)
ENVELOPE = frozenset({"v", "op", "id", "token"})
_INTEGER = re.compile(r"^-?[0-9]{1,18}$")


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; ``None`` when there is no header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


@dataclass(frozen=True)
class Admitted:
    service: OrdoService
    token: str | None
    params: dict[str, Any]


def admit(request: web.Request, op: str, ints: tuple[str, ...] = (), lists: tuple[str, ...] = ()) -> Admitted:
    """Token first (401, 403 when the role may not use ``op`` at all), before anything of the
    request is read; then the route's query parameters."""
    service = request.app[SERVICE]
    token = None if op in OPEN_OPS else bearer_token(request)
    service.principal(token, op)
    return Admitted(service, token, query_params(request, ints, lists))


def query_params(request: web.Request, ints: tuple[str, ...] = (), lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The route's query parameters: integers, and comma-separated lists. Any other parameter
    is an error, as an unknown field is on the wire."""
    values: dict[str, Any] = {}
    for name in request.query:
        if name not in ints and name not in lists:
            raise BadRequest(f"unknown query parameter {name[:64]!r}", field=name[:64])
        given = request.query.getall(name)
        if len(given) > 1:
            raise BadRequest(f"query parameter {name!r} is given {len(given)} times", field=name)
        if name in lists:
            values[name] = given[0].split(",")
        elif _INTEGER.match(given[0]):
            values[name] = int(given[0])
        else:
            raise ValidationFailed(f"{name}: must be an integer", field=name)
    return values


async def json_body(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless it is declared ``application/json`` in UTF-8,
    413 past 1 MiB (checked on the declared length first, so a huge body is not read)."""
    if request.content_type != JSON:
        raise UnsupportedMediaType(f"the body must be {JSON}, not {request.content_type[:100]!r}")
    charset = request.charset
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"the body must be UTF-8, not {charset[:40]!r}")
    if request.content_length is not None and request.content_length > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"body is {request.content_length} bytes; the limit is {MAX_MESSAGE_BYTES}")
    return parse_json_object(await request.read())


def body_of(request_model: type[Request], name: str, exclude: tuple[str, ...] = (),
            required: tuple[str, ...] = ()) -> type[WireModel]:
    """An HTTP body model made of a request model's own fields (same types and constraints),
    less the envelope and what the path or headers carry. The request model's cross-field
    rules still run when the full request is built from the body."""
    fields: dict[str, Any] = {}
    for field_name, info in request_model.model_fields.items():
        if field_name in ENVELOPE or field_name in exclude:
            continue
        if field_name in required:
            fields[field_name] = (_not_none(info.annotation), Field(..., description=info.description))
        else:
            fields[field_name] = (info.annotation, info)
    model: type[WireModel] = create_model(name, __base__=WireModel, __doc__=request_model.__doc__, **fields)
    return model


def _not_none(annotation: Any) -> Any:
    """``X | None`` as ``X``: a field the body must give must not be null either."""
    args = tuple(a for a in get_args(annotation) if a is not type(None))
    if not args or len(args) == len(get_args(annotation)):
        return annotation
    return args[0] if len(args) == 1 else Union[args]  # noqa: UP007 - a runtime-built union


def body_model(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


def wire_request(op: str, token: str | None, **fields: Any) -> Request:
    """The op's request model, decoded exactly as a ZeroMQ frame with these fields would be."""
    return request_from_object({"v": PROTOCOL_VERSION, "op": op, "token": token, **fields})


def reply_response(request: web.Request, reply: WireModel, status: int = 200,
                   headers: dict[str, str] | None = None) -> web.Response:
    body = encode_ok(request_id(request), reply.model_dump(mode="json"))
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)
