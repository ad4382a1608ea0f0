"""Property-based fuzzing of the ZeroMQ door: whatever arrives, the answer is a typed error
(or a correct reply), the daemon stays up, and the next good order still works."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import RunningDaemon, make_config, running_daemon
from tests.strategies import json_values, mutated_orders

ERROR_CODES = {"BAD_REQUEST", "UNKNOWN_OP", "UNAUTHORIZED", "VALIDATION_ERROR", "PAYLOAD_TOO_LARGE",
               "IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_FLIGHT", "NOT_FOUND", "KILL_SWITCH_ACTIVE"}

def encode(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=True).encode()


frames = st.one_of(
    st.binary(max_size=300).map(lambda b: [b]),
    st.lists(st.binary(max_size=50), min_size=2, max_size=4),
    json_values.map(lambda v: [encode(v)]),
    st.integers(min_value=1, max_value=3000).map(lambda depth: [b"[" * depth + b"]" * depth]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60).map(
        lambda t: [encode({"v": 1, "op": t, "id": t})]),
    st.builds(lambda op, extra: [encode({"v": 1, "op": op, **extra})],
              st.sampled_from(["ping", "place_order", "get_order", "list_orders", "health", "kill_switch",
                               "audit_replay"]),
              st.dictionaries(st.sampled_from(["limit", "since", "active", "order_ref", "idempotency_key",
                                               "order", "reason", "id", "extra"]), json_values, max_size=3)),
)


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[RunningDaemon]:
    async with running_daemon(make_config(tmp_path / "state")) as d:
        yield d


def assert_typed_reply(reply: dict[str, Any]) -> None:
    assert reply["v"] == 1
    if reply["ok"] is False:
        error = reply["error"]
        assert error["code"] in ERROR_CODES, error
        assert isinstance(error["http_status"], int) and 400 <= error["http_status"] < 500, error
        assert isinstance(error["message"], str) and error["message"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=frames)
async def test_any_frame_gets_a_typed_reply(daemon: RunningDaemon, payload: list[bytes]) -> None:
    client = daemon.client()
    try:
        assert_typed_reply(await client.send_raw(*payload, timeout_s=5))
    finally:
        client.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=mutated_orders(), key=st.text(max_size=300))
async def test_any_order_payload_is_validated_or_placed(daemon: RunningDaemon, order: dict[str, Any],
                                                        key: str) -> None:
    client = daemon.client()
    try:
        reply = await client.send_raw(encode({"v": 1, "op": "place_order", "token": daemon.token,
                                              "idempotency_key": key, "order": order}), timeout_s=5)
    finally:
        client.close()
    assert_typed_reply(reply)
    if reply["ok"]:
        prices = [order.get("price"), order.get("trigger_price")]
        assert all(p is None or (isinstance(p, int | float) and math.isfinite(p) and p > 0) for p in prices)
        assert reply["status"] in {"success", "partial_success", "failed"}


async def test_daemon_still_places_orders_after_a_fuzzing_barrage(daemon: RunningDaemon) -> None:
    client = daemon.client()
    for depth in (10, 1000, 100_000):
        assert_typed_reply(await client.send_raw(b"{" * depth))
    assert_typed_reply(await client.send_raw(b'{"v":1,"op":"ping","n":' + b"9" * 5000 + b"}"))
    assert_typed_reply(await client.send_raw(b'{"v":1,"op":"ping","s":"\\ud800"}'))
    reply = await client.place("after-barrage")
    assert reply["ok"] and reply["status"] == "success"
