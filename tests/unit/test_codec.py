"""The wire codec: bytes in, typed request models or typed errors out, and back."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from ordo_shared import MAX_MESSAGE_BYTES
from ordo_shared.codec import (
    correlation_id,
    decode_event,
    decode_request,
    encode_error,
    encode_event,
    encode_ok,
    parse_json_object,
)
from ordo_shared.errors import (
    BadRequest,
    ErrorCode,
    OrdoError,
    PayloadTooLarge,
    UnknownOp,
    ValidationFailed,
)
from ordo_shared.messages import PingRequest, PlaceOrderRequest
from ordo_shared.models import Event

LIMIT_ORDER: dict[str, Any] = {
    "symbol": "NSE:SBIN-EQ",
    "side": "BUY",
    "qty": 10,
    "order_type": "LIMIT",
    "price": 500.5,
}


def frame(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def place(order: dict[str, Any] | None = None, **envelope: Any) -> bytes:
    request: dict[str, Any] = {"v": 1, "op": "place_order", "id": "c-1", "idempotency_key": "key-1"}
    request["order"] = LIMIT_ORDER if order is None else order
    request.update(envelope)
    return frame(request)


def rejected(raw: bytes) -> OrdoError:
    with pytest.raises(OrdoError) as caught:
        decode_request(raw)
    return caught.value


# --- frames that are not JSON objects --------------------------------------------------


def test_random_bytes_always_raise_a_typed_error_never_anything_else() -> None:
    rng = random.Random(20240611)
    for _ in range(500):
        raw = rng.randbytes(rng.randint(0, 64))
        error = rejected(raw)
        assert error.code is ErrorCode.BAD_REQUEST, raw


def test_mutated_valid_requests_either_decode_or_raise_a_typed_error() -> None:
    rng = random.Random(7)
    valid = bytearray(place())
    decoded = 0
    for _ in range(500):
        mutated = bytearray(valid)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            decode_request(bytes(mutated))
        except OrdoError:
            continue
        decoded += 1
    # Some mutations hit harmless bytes (inside the symbol, the key): the codec is not just rejecting everything.
    assert 0 < decoded < 500


def test_non_utf8_bytes_are_a_bad_request_naming_the_byte() -> None:
    error = rejected(b'{"v":1,"op":"ping","id":"\xff"}')
    assert isinstance(error, BadRequest)
    assert "UTF-8" in error.message and "byte 25" in error.message


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"[1, 2]", "list"), (b"42", "int"), (b"4.5", "float"),
        (b'"ping"', "str"), (b"null", "NoneType"), (b"true", "bool"),
    ],
)
def test_json_that_is_not_an_object_is_a_bad_request(raw: bytes, kind: str) -> None:
    error = rejected(raw)
    assert isinstance(error, BadRequest)
    assert error.message == f"message must be a JSON object, not {kind}"


@pytest.mark.parametrize("raw", [b"", b"   ", b"{", b'{"v":1,}', b"{'v': 1}"])
def test_malformed_json_is_a_bad_request(raw: bytes) -> None:
    error = rejected(raw)
    assert isinstance(error, BadRequest)
    assert error.message.startswith("message is not valid JSON")


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 100_000, b'{"v":1,"op":"ping","id":' + b"[" * 100_000])
def test_deeply_nested_json_is_a_bad_request_not_a_recursion_error(raw: bytes) -> None:
    error = rejected(raw)
    assert isinstance(error, BadRequest)
    assert error.message == "JSON is nested too deeply"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_constants_are_rejected(constant: bytes) -> None:
    error = rejected(b'{"v":1,"op":"ping","id":' + constant + b"}")
    assert isinstance(error, BadRequest)
    assert constant.decode() + " is not allowed" in error.message


def test_a_float_that_overflows_to_infinity_is_not_accepted_as_a_price() -> None:
    error = rejected(place({**LIMIT_ORDER, "price": 1}).replace(b'"price": 1', b'"price": 1e400'))
    assert isinstance(error, ValidationFailed)
    assert error.field == "order.price"


def test_an_int_beyond_pythons_digit_limit_is_a_bad_request() -> None:
    error = rejected(b'{"v":1,"op":"ping","id":' + b"9" * 5000 + b"}")
    assert isinstance(error, BadRequest)
    assert "not valid JSON" in error.message


def test_a_huge_but_parseable_quantity_is_a_validation_error_on_qty() -> None:
    error = rejected(place({**LIMIT_ORDER, "qty": 10**300}))
    assert isinstance(error, ValidationFailed)
    assert error.field == "order.qty"


def test_a_frame_over_one_mebibyte_is_payload_too_large_before_parsing() -> None:
    raw = b'{"v":1,"op":"ping","pad":"' + b"x" * MAX_MESSAGE_BYTES + b'"}'
    error = rejected(raw)
    assert isinstance(error, PayloadTooLarge)
    assert error.http_status == 413
    assert str(len(raw)) in error.message


def test_a_frame_of_exactly_one_mebibyte_is_parsed() -> None:
    head = b'{"v":1,"op":"ping","id":"'
    raw = head + b"x" * (MAX_MESSAGE_BYTES - len(head) - 2) + b'"}'
    assert len(raw) == MAX_MESSAGE_BYTES
    # Parsed (not PayloadTooLarge); the over-long id is then a plain validation matter.
    assert parse_json_object(raw)["op"] == "ping"


# --- the envelope ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 0, "1", True, None, [1]])
def test_a_wrong_protocol_version_is_a_bad_request_on_v(version: Any) -> None:
    error = rejected(frame({"v": version, "op": "ping"}))
    assert isinstance(error, BadRequest)
    assert error.field == "v"
    assert "this daemon speaks v=1" in error.message


def test_a_missing_protocol_version_is_a_bad_request_on_v() -> None:
    error = rejected(frame({"op": "ping"}))
    assert isinstance(error, BadRequest)
    assert error.field == "v"


@pytest.mark.parametrize("op", [None, 5, ["ping"]])
def test_a_missing_or_non_string_op_is_a_bad_request_on_op(op: Any) -> None:
    request: dict[str, Any] = {"v": 1}
    if op is not None:
        request["op"] = op
    error = rejected(frame(request))
    assert isinstance(error, BadRequest)
    assert error.field == "op"


def test_an_unknown_op_is_unknown_op_listing_the_known_ones() -> None:
    error = rejected(frame({"v": 1, "op": "launch_missiles"}))
    assert isinstance(error, UnknownOp)
    assert error.code is ErrorCode.UNKNOWN_OP
    assert error.field == "op"
    assert "'launch_missiles'" in error.message and "place_order" in error.message


def test_an_unknown_op_name_is_truncated_in_the_message() -> None:
    error = rejected(frame({"v": 1, "op": "x" * 10_000}))
    assert isinstance(error, UnknownOp)
    assert len(error.message) < 300


def test_an_unknown_envelope_field_is_a_bad_request_naming_it() -> None:
    error = rejected(frame({"v": 1, "op": "ping", "colour": "red"}))
    assert isinstance(error, BadRequest)
    assert error.field == "colour"


def test_a_wrong_type_in_an_envelope_field_is_a_bad_request() -> None:
    error = rejected(frame({"v": 1, "op": "ping", "token": 5}))
    assert isinstance(error, BadRequest)
    assert error.field == "token"


@pytest.mark.parametrize("cid", [[1], 1.5, {"a": 1}])
def test_a_wrong_type_correlation_id_is_a_bad_request_on_id(cid: Any) -> None:
    error = rejected(frame({"v": 1, "op": "ping", "id": cid}))
    assert isinstance(error, BadRequest)
    assert error.field == "id"


# --- place_order fields ----------------------------------------------------------------


def test_a_valid_limit_order_decodes_to_place_order_request() -> None:
    request = decode_request(place())
    assert isinstance(request, PlaceOrderRequest)
    assert request.idempotency_key == "key-1"
    assert request.order.qty == 10 and request.order.price == 500.5
    assert request.order.product == "INTRADAY" and request.order.validity == "DAY"


@pytest.mark.parametrize("missing", ["idempotency_key", "order"])
def test_a_missing_place_order_field_is_a_bad_request_naming_it(missing: str) -> None:
    request = json.loads(place())
    del request[missing]
    error = rejected(frame(request))
    assert isinstance(error, BadRequest)
    assert error.field == missing


@pytest.mark.parametrize("missing", ["symbol", "side", "qty", "order_type"])
def test_a_missing_order_field_is_a_bad_request_naming_it(missing: str) -> None:
    order = {k: v for k, v in LIMIT_ORDER.items() if k != missing}
    error = rejected(place(order))
    assert isinstance(error, BadRequest)
    assert error.field == f"order.{missing}"


def test_an_order_that_is_not_an_object_is_a_bad_request() -> None:
    error = rejected(place([LIMIT_ORDER]))  # type: ignore[arg-type]
    assert isinstance(error, BadRequest)
    assert error.field == "order"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("qty", "10"),
        ("qty", 10.5),
        ("qty", True),
        ("qty", 0),
        ("qty", -1),
        ("qty", 10_000_001),
        ("price", "500.5"),
        ("price", 0),
        ("price", -1.0),
        ("side", "buy"),
        ("side", 1),
        ("symbol", "SBIN"),
        ("symbol", "nse:SBIN"),
        ("order_type", "STOP"),
        ("product", "FUTURES"),
        ("validity", "GTC"),
        ("brokers", "fyers"),
        ("brokers", []),
        ("brokers", ["Fyers"]),
        ("tag", "x" * 65),
    ],
)
def test_a_wrong_order_value_is_a_validation_error_naming_the_field(field: str, value: Any) -> None:
    error = rejected(place({**LIMIT_ORDER, field: value}))
    assert isinstance(error, ValidationFailed)
    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.http_status == 422
    assert error.field is not None and error.field.startswith(f"order.{field}")


@pytest.mark.parametrize(
    ("order", "complaint"),
    [
        ({"order_type": "LIMIT"}, "price is required for LIMIT"),
        ({"order_type": "MARKET", "price": 500.5}, "price must not be set for MARKET"),
        ({"order_type": "SL", "price": 500.5}, "trigger_price is required for SL"),
        ({"order_type": "SL-M"}, "trigger_price is required for SL-M"),
        ({"order_type": "LIMIT", "price": 500.5, "trigger_price": 499.0}, "trigger_price must not be set for LIMIT"),
        ({"order_type": "SL-M", "price": 1.0, "trigger_price": 499.0}, "price must not be set for SL-M"),
    ],
)
def test_prices_must_fit_the_order_type(order: dict[str, Any], complaint: str) -> None:
    base = {k: v for k, v in LIMIT_ORDER.items() if k not in ("order_type", "price")}
    error = rejected(place({**base, **order}))
    assert isinstance(error, ValidationFailed)
    assert error.field == "order"
    assert complaint in error.message


@pytest.mark.parametrize(
    "order",
    [
        {"order_type": "MARKET"},
        {"order_type": "LIMIT", "price": 1.0},
        {"order_type": "SL", "price": 1.0, "trigger_price": 1.5},
        {"order_type": "SL-M", "trigger_price": 1.5},
    ],
)
def test_each_order_type_with_its_prices_decodes(order: dict[str, Any]) -> None:
    base = {k: v for k, v in LIMIT_ORDER.items() if k not in ("order_type", "price")}
    request = decode_request(place({**base, **order}))
    assert isinstance(request, PlaceOrderRequest)
    assert request.order.order_type == order["order_type"]


def test_duplicate_brokers_are_a_validation_error() -> None:
    error = rejected(place({**LIMIT_ORDER, "brokers": ["fyers", "hdfc", "fyers"]}))
    assert isinstance(error, ValidationFailed)
    assert "brokers must not repeat" in error.message


def test_distinct_brokers_are_kept_in_order() -> None:
    request = decode_request(place({**LIMIT_ORDER, "brokers": ["hdfc", "fyers"]}))
    assert isinstance(request, PlaceOrderRequest)
    assert request.order.brokers == ["hdfc", "fyers"]


# --- idempotency keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "a\x00b", "a\nb", "tab\t", "key\n", " leading", "trailing ", "caf\u00e9", "\x7f"],
)
def test_a_bad_idempotency_key_is_rejected_on_its_field(key: str) -> None:
    error = rejected(place(idempotency_key=key))
    assert isinstance(error, ValidationFailed)
    assert error.field == "idempotency_key"


@pytest.mark.parametrize("key", ["k" * 255, "x", "order 2024-06-11 #7", "~!@#$%^&*()_+{}|:<>?"])
def test_a_printable_idempotency_key_up_to_255_chars_is_accepted(key: str) -> None:
    request = decode_request(place(idempotency_key=key))
    assert isinstance(request, PlaceOrderRequest)
    assert request.idempotency_key == key


def test_a_non_string_idempotency_key_is_rejected() -> None:
    error = rejected(place(idempotency_key=12345))
    assert isinstance(error, ValidationFailed)
    assert error.field == "idempotency_key"


# --- correlation ids -------------------------------------------------------------------


@pytest.mark.parametrize("cid", ["req-42", 42, -7, None])
def test_the_correlation_id_is_carried_on_the_request(cid: Any) -> None:
    request = decode_request(frame({"v": 1, "op": "ping", "id": cid}))
    assert isinstance(request, PingRequest)
    assert request.id == cid


def test_the_correlation_id_of_a_rejected_request_can_still_be_echoed() -> None:
    raw = frame({"v": 1, "op": "no_such_op", "id": "req-9"})
    error = rejected(raw)
    reply = json.loads(encode_error(correlation_id(parse_json_object(raw)), error))
    assert reply["id"] == "req-9"
    assert reply["error"]["code"] == "UNKNOWN_OP"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"id": "abc"}, "abc"),
        ({"id": 2**63 - 1}, 2**63 - 1),
        ({"id": -(2**63) + 1}, -(2**63) + 1),
        ({"id": 2**63}, None),
        ({"id": True}, None),
        ({"id": 1.5}, None),
        ({"id": ["abc"]}, None),
        ({"id": "x" * 257}, None),
        ({}, None),
        (["id"], None),
    ],
)
def test_correlation_id_echoes_only_ids_that_are_safe_to_echo(obj: object, expected: Any) -> None:
    assert correlation_id(obj) == expected


@pytest.mark.parametrize("op", ["ping", "no_such_op"])
def test_a_reply_can_be_encoded_for_a_lone_surrogate_correlation_id(op: str) -> None:
    raw = b'{"v":1,"op":"' + op.encode() + b'","id":"\\ud800"}'
    cid = correlation_id(parse_json_object(raw))
    try:
        decode_request(raw)
    except OrdoError as error:
        encoded = encode_error(cid, error)
    else:
        encoded = encode_ok(cid, {"pong": True})
    assert json.loads(encoded)["id"] == "\ud800"


# --- replies and events ----------------------------------------------------------------


def test_encode_ok_round_trips_the_fields_with_the_envelope() -> None:
    raw = encode_ok("c-7", {"pong": True, "version": "0.1.0", "name": "caf\u00e9"})
    assert json.loads(raw) == {"v": 1, "id": "c-7", "ok": True, "pong": True, "version": "0.1.0", "name": "caf\u00e9"}


def test_encode_ok_refuses_nan_rather_than_emitting_invalid_json() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        encode_ok(1, {"latency": float("nan")})


def test_encode_error_round_trips_code_message_status_and_field() -> None:
    reply = json.loads(encode_error(3, ValidationFailed("order.qty: too big", field="order.qty")))
    assert reply == {
        "v": 1,
        "id": 3,
        "ok": False,
        "error": {
            "code": "VALIDATION_ERROR", "message": "order.qty: too big", "http_status": 422, "field": "order.qty",
        },
    }


def test_encode_error_leaves_out_field_when_there_is_none() -> None:
    reply = json.loads(encode_error(None, PayloadTooLarge("too big")))
    assert reply["id"] is None
    assert reply["error"] == {"code": "PAYLOAD_TOO_LARGE", "message": "too big", "http_status": 413}


def test_an_audit_event_round_trips_through_its_two_frames() -> None:
    event = Event(seq=12, ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), type="order.completed",
                  order_ref="ORD-1", data={"status": "success"})
    frames = encode_event(event)
    assert frames[0] == b"audit.order.completed"
    assert decode_event(frames) == event


def test_a_health_event_has_a_bare_topic() -> None:
    event = Event(seq=None, ts=datetime(2026, 1, 2, tzinfo=UTC), type="health")
    assert encode_event(event)[0] == b"health"


def test_an_event_with_the_wrong_number_of_frames_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="2 frames, got 1"):
        decode_event([b"health"])
