"""Pure encode/decode of wire frames: bytes in, models out, and back. No sockets here."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from ordo_shared import MAX_MESSAGE_BYTES, PROTOCOL_VERSION
from ordo_shared.errors import (
    BadRequest,
    OrdoError,
    PayloadTooLarge,
    RateLimited,
    UnknownOp,
    ValidationFailed,
)
from ordo_shared.messages import REQUEST_MODELS, CorrelationId, Request
from ordo_shared.models import Event

_ENVELOPE_FIELDS = frozenset({"v", "op", "id", "token"})
# Structural problems make the message unreadable (400); anything else is a value the
# caller can fix in a named field (422).
_STRUCTURAL_ERRORS = frozenset({"missing", "extra_forbidden", "model_type", "dict_type"})


def dumps(obj: Any) -> bytes:
    # ASCII-escaped: a lone surrogate a caller sent (valid JSON, invalid UTF-8) still encodes.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


# Requests are parsed by pydantic-core's Rust parser first (several times faster than the json
# module, and installed with pydantic, so this module still depends on nothing else); replies
# are a model's own JSON. The json module stays for what the fast path leaves to it.


def correlation_id(obj: object) -> CorrelationId:
    """The caller's ``id`` if it is one we can echo, so even a bad request is matchable."""
    if isinstance(obj, dict):
        cid = obj.get("id")
        if isinstance(cid, str) and len(cid) <= 256:
            return cid
        if isinstance(cid, int) and not isinstance(cid, bool) and abs(cid) < 2**63:
            return cid
    return None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Raw frame to a JSON object, or a typed error saying what is wrong with it."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        obj = from_json(raw, allow_inf_nan=False)
    except ValueError:
        # Whatever the fast parser refuses, the json module decides, as it always has, and says
        # why: it also takes lone surrogates (\ud800) in strings, which replies then escape.
        obj = _parse_with_json_module(raw)
    if not isinstance(obj, dict):
        raise BadRequest(f"message must be a JSON object, not {type(obj).__name__}")
    return obj


def _parse_with_json_module(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"message is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and ints past Python's digit limit
        raise BadRequest(f"message is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def decode_request(raw: bytes) -> Request:
    """Frame to the op's request model. Raises an ``OrdoError`` subclass on any fault."""
    obj = parse_json_object(raw)
    return request_from_object(obj)


def request_from_object(obj: dict[str, Any]) -> Request:
    version = obj.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise BadRequest(f"unsupported protocol version {version!r}; this daemon speaks v=1", field="v")
    op = obj.get("op")
    if not isinstance(op, str):
        raise BadRequest("field 'op' must be a string", field="op")
    model = REQUEST_MODELS.get(op)
    if model is None:
        raise UnknownOp(f"unknown op {op[:64]!r}; known ops: {', '.join(sorted(REQUEST_MODELS))}", field="op")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: ValidationError) -> OrdoError:
    """The first problem of a pydantic error, as a typed Ordo error naming the field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = first["loc"]
    if loc and str(loc[0]) in _ENVELOPE_FIELDS:
        # A union's branch names ("id.str") mean nothing to the caller: name the field itself.
        return BadRequest(f"{loc[0]}: {first['msg']}", field=str(loc[0]))
    field = ".".join(str(part) for part in loc) or None
    message = first["msg"] if field is None else f"{field}: {first['msg']}"
    if first["type"] in _STRUCTURAL_ERRORS:
        return BadRequest(message, field=field)
    return ValidationFailed(message, field=field)


def encode_ok(cid: CorrelationId, fields: dict[str, Any]) -> bytes:
    return dumps({"v": PROTOCOL_VERSION, "id": cid, "ok": True, **fields})


def encode_ok_model(cid: CorrelationId, reply: BaseModel) -> bytes:
    """``encode_ok(cid, reply.model_dump(mode="json"))``, without building the dict: the envelope
    and the model's own JSON are joined as bytes."""
    head = ok_head(cid)
    body = reply.__pydantic_serializer__.to_json(reply)  # model_dump_json(), without a str between
    return head if body == b"{}" else head[:-1] + b"," + body[1:]


def ok_head(cid: CorrelationId) -> bytes:
    """``dumps({"v": 1, "id": cid, "ok": True})``, byte for byte, without the json module's setup
    for each call (most of its cost for an object this small): json writes an int with
    ``int.__repr__`` and, ASCII-escaped, a string with ``encode_basestring_ascii``."""
    if type(cid) is int:
        rendered = int.__repr__(cid)
    elif type(cid) is str:
        rendered = encode_basestring_ascii(cid)
    elif cid is None:
        rendered = "null"
    else:
        return dumps({"v": PROTOCOL_VERSION, "id": cid, "ok": True})
    return f'{{"v":{PROTOCOL_VERSION},"id":{rendered},"ok":true}}'.encode()


def error_body(error: OrdoError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": str(error.code), "message": error.message, "http_status": error.http_status}
    if error.field is not None:
        body["field"] = error.field
    if isinstance(error, RateLimited) and error.retry_after_s is not None:
        body["retry_after_s"] = round(error.retry_after_s, 3)
    return body


def encode_error(cid: CorrelationId, error: OrdoError) -> bytes:
    return dumps({"v": PROTOCOL_VERSION, "id": cid, "ok": False, "error": error_body(error)})


def encode_event(event: Event) -> list[bytes]:
    """The two PUB frames: topic, then the JSON event."""
    return [event.topic.encode(), event.model_dump_json().encode()]


def decode_event(frames: list[bytes]) -> Event:
    if len(frames) != 2:
        raise BadRequest(f"an event has 2 frames, got {len(frames)}")
    return Event.model_validate_json(frames[1], strict=False)
