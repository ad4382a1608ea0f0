"""``GET /api/v1/openapi.json``: an OpenAPI 3.1 document built from the endpoint table and
the very pydantic models the wire protocol validates and serializes with.

Each success body is the reply model inside the reply envelope (``v``, ``id``, ``ok``) that
both doors send; each error status names exactly the error codes the endpoint can answer
with it. Unexpected failures (``INTERNAL`` 500, ``STORAGE_UNAVAILABLE`` 503) are the
``default`` response.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ordo_shared.errors import HTTP_STATUS, ErrorCode
from ordo_shared.messages import OPEN_OPS, CorrelationId, PlaceOrderRequest
from ordo_shared.models import Event, PlaceOrderReply, WireModel
from ordod import __version__
from ordod.access import op_role
from ordod.http.routes import IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, Endpoint

REF = "#/components/schemas/{model}"
_STATUS_TEXT = {200: "OK", 207: "Partial success: some brokers did it, others did not (see results)",
                502: "Failed at every broker (see results)"}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: ErrorCode
    message: str
    http_status: int
    field: str | None = None
    retry_after_s: float | None = None


class ErrorResponse(BaseModel):
    """The body of every refusal, the same as a ZeroMQ error reply."""

    model_config = ConfigDict(extra="forbid")
    v: Literal[1]
    id: CorrelationId
    ok: Literal[False]
    error: ErrorDetail


def envelope(reply: type[WireModel]) -> type[BaseModel]:
    """The reply model with the envelope fields every success body carries."""
    name = reply.__name__.removesuffix("Reply") + "Response"
    model: type[BaseModel] = create_model(
        name, __base__=reply, __doc__=reply.__doc__,
        v=(Literal[1], ...), id=(CorrelationId, ...), ok=(Literal[True], ...),
    )
    return model


def _field_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    """One field's schema, without the ``null`` branch of an optional field."""
    schema: dict[str, Any] = copy.deepcopy(model.model_json_schema()["properties"][name])
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if branches:
        schema.update(branches[0])
    schema.pop("title", None)
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


def _error_response(codes: list[ErrorCode]) -> dict[str, Any]:
    narrowed = {"properties": {"error": {"properties": {"code": {"enum": [str(c) for c in codes]}}}}}
    return {
        "description": " or ".join(str(c) for c in codes),
        "content": {"application/json": {"schema": {"allOf": [{"$ref": REF.format(model="ErrorResponse")}, narrowed]}}},
    }


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [{
        "name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 256},
        "description": "Echoed as the reply's id (and header), like the id of a ZeroMQ request.",
    }]
    if "{order_ref}" in endpoint.path and endpoint.params_of is not None:
        params.append({"name": "order_ref", "in": "path", "required": True,
                       "schema": _field_schema(endpoint.params_of, "order_ref")})
    for name in (*endpoint.ints, *endpoint.lists):
        assert endpoint.params_of is not None
        param = {"name": name, "in": "query", "required": False, "schema": _field_schema(endpoint.params_of, name)}
        if name in endpoint.lists:
            param.update(style="form", explode=False, description="comma-separated")
        params.append(param)
    if endpoint.key_header:
        required = endpoint.op == "place_order"
        params.append({"name": IDEMPOTENCY_KEY, "in": "header", "required": required,
                       "schema": _field_schema(PlaceOrderRequest, "idempotency_key"),
                       "description": "Send the same key to retry safely: it is done once." if required else
                                      "Optional: with a key, a repeat returns the stored answer."})
    if endpoint.op == "audit_stream":
        params.append({"name": "Last-Event-ID", "in": "header", "required": False,
                       "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                       "description": "Resume after this audit seq (takes precedence over since)."})
    return params


def _success(endpoint: Endpoint, schemas: dict[type[BaseModel], str]) -> dict[str, Any]:
    if endpoint.op == "audit_stream":
        return {"200": {
            "description": "text/event-stream: `id: <seq>` and `data: <Event as JSON>` per audit event",
            "content": {"text/event-stream": {"schema": {"type": "string"},
                                              "x-event-data": {"$ref": REF.format(model="Event")}}},
        }}
    if endpoint.reply is None:
        return {"200": {"description": "The OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}}}}
    ref = {"$ref": REF.format(model=schemas[endpoint.reply])}
    responses: dict[str, Any] = {}
    for status in endpoint.ok:
        responses[str(status)] = {"description": _STATUS_TEXT[status],
                                  "content": {"application/json": {"schema": ref}}}
    if issubclass(endpoint.reply, PlaceOrderReply):
        responses["200"]["headers"] = {IDEMPOTENT_REPLAYED: {
            "description": "Present when the reply comes from the idempotency store (an earlier request "
                           "with this key did it)",
            "schema": {"type": "string", "enum": ["true"]}}}
    return responses


def _operation(endpoint: Endpoint, schemas: dict[type[BaseModel], str]) -> dict[str, Any]:
    responses = _success(endpoint, schemas)
    by_status: dict[int, list[ErrorCode]] = defaultdict(list)
    for code in endpoint.errors:
        by_status[HTTP_STATUS[code]].append(code)
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = _error_response(codes)
    if "401" in responses:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if "429" in responses:
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                       "description": "Seconds until the token may order again"}}
    responses["default"] = _error_response([ErrorCode.INTERNAL, ErrorCode.STORAGE_UNAVAILABLE])
    is_open = endpoint.op is None or endpoint.op in OPEN_OPS
    role = "open: no token" if is_open else f"role: {op_role(endpoint.op)} or above"  # type: ignore[arg-type]
    operation: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "description": f"{endpoint.summary} ({role}).",
        "parameters": _parameters(endpoint),
        "responses": responses,
    }
    if is_open:
        operation["security"] = []
    if endpoint.body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": REF.format(model=schemas[endpoint.body])}}}}
    return operation


def build_document(endpoints: tuple[Endpoint, ...]) -> dict[str, Any]:
    envelopes = {e.reply: envelope(e.reply) for e in endpoints if e.reply is not None}
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "serialization") for m in envelopes.values()]
    models += [(ErrorResponse, "serialization"), (Event, "serialization")]
    models += [(e.body, "validation") for e in endpoints if e.body is not None]
    keyed, top = models_json_schema(models, ref_template=REF)
    schemas: dict[type[BaseModel], str] = {}
    for (model, _mode), schema in keyed.items():
        assert isinstance(model, type) and issubclass(model, BaseModel)
        schemas[model] = schema["$ref"].rsplit("/", 1)[1]
    for reply, model in envelopes.items():
        schemas[reply] = schemas[model]
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for endpoint in endpoints:
        paths[endpoint.path][endpoint.method.lower()] = _operation(endpoint, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ordo", "version": __version__,
                 "description": "Ordo's HTTP door: the same operations and rules as the ZeroMQ wire protocol."},
        "paths": dict(paths),
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from [auth] (the default token file, or "
                                                          "[auth.tokens.<name>])"}},
        },
        "security": [{"bearer": []}],
    }


def document_bytes(endpoints: tuple[Endpoint, ...]) -> bytes:
    return json.dumps(build_document(endpoints), separators=(",", ":")).encode()
