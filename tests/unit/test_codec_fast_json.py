"""The request path's JSON goes through pydantic-core first: the same answers as the json
module gives, which still decides (with a typed BAD_REQUEST, never a crash) whatever the fast
parser refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ordo_shared.codec import dumps, encode_ok, encode_ok_model, ok_head, parse_json_object
from ordo_shared.errors import BadRequest
from ordo_shared.messages import AuditReplayReply, KillSwitchReply, PingReply
from ordo_shared.models import BrokerResult, Event, KillSwitchState, PlaceOrderReply, WireModel

REPLIES: list[WireModel] = [
    PingReply(version="0.1.0", time="2026-01-02T03:04:05+00:00"),
    PlaceOrderReply(status="partial_success", http_status=207, order_ref="ORD-1", idempotency_key="k-ü✓",
                    results=[BrokerResult(broker_id="fyers", status="success", order_id="F-1", latency_ms=0.125),
                             BrokerResult(broker_id="hdfc", status="error", error_code="RATE_LIMIT_EXCEEDED",
                                          message="slow down", attempts=3, latency_ms=1e-05)]),
    KillSwitchReply(kill_switch=KillSwitchState(active=True, reason="fat finger", set_by="desk",
                                                set_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))),
    AuditReplayReply(events=[Event(seq=1, ts=datetime(2026, 1, 2, tzinfo=UTC), type="t", data={"a": [1, None]})],
                     last_seq=1),
]


@pytest.mark.parametrize("reply", REPLIES, ids=lambda r: type(r).__name__)
@pytest.mark.parametrize("cid", [7, "req-1", None])
def test_a_reply_encodes_to_the_same_json_as_through_a_dict(reply: WireModel, cid: int | str | None) -> None:
    fast = json.loads(encode_ok_model(cid, reply))
    assert fast == json.loads(encode_ok(cid, reply.model_dump(mode="json")))
    assert list(fast)[:3] == ["v", "id", "ok"]


def test_a_reply_without_fields_is_the_bare_envelope() -> None:
    assert json.loads(encode_ok_model(1, WireModel())) == {"v": 1, "id": 1, "ok": True}


@pytest.mark.parametrize("raw", [
    b'{"v":1,"op":"ping","id":NaN}',
    b'{"v":1,"op":"ping","x":Infinity}',
    b"[" * 5000 + b"]" * 5000,
    b'{"v":1} trailing',
    b"\xff\xfe",
    b"",
])
def test_unsound_json_is_a_bad_request(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_json_object(raw)


def test_a_lone_surrogate_is_left_to_the_json_module_which_takes_it() -> None:
    assert parse_json_object(b'{"v":1,"op":"ping","id":"\\ud800"}')["id"] == "\ud800"
    assert json.loads(encode_ok_model("\ud800", WireModel()))["id"] == "\ud800"


def test_sound_json_parses_as_the_json_module_does() -> None:
    raw = (b'{"v":1,"op":"place_order","id":12345678901234567890,'
           b'"order":{"price":500.5,"qty":1,"tag":"\\u00fc"},"a":1,"a":2}')
    assert parse_json_object(raw) == json.loads(raw)


@pytest.mark.parametrize("cid", [0, 7, -(2**63) + 1, 2**63 - 1, "", "req-1", 'q"\\/\n\t\x00', "k-ü✓", "\ud800",
                                 "x" * 256, None])
def test_the_reply_envelope_is_byte_for_byte_what_the_json_module_writes(cid: int | str | None) -> None:
    assert ok_head(cid) == dumps({"v": 1, "id": cid, "ok": True})
    assert encode_ok_model(cid, WireModel()) == encode_ok(cid, {})


@pytest.mark.parametrize("reply", REPLIES, ids=lambda r: type(r).__name__)
def test_a_reply_is_byte_for_byte_the_envelope_and_the_models_own_json(reply: WireModel) -> None:
    body = reply.model_dump_json().encode()
    assert encode_ok_model(12, reply) == b'{"v":1,"id":12,"ok":true,' + body[1:]
