"""POST/GET /api/v1/orders over a real HTTP connection to a whole daemon on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

from tests.harness import ORDER, make_config
from tests.http.client import serving

MiB = 1024 * 1024


async def test_order_placed_over_http_answers_200_with_the_body_a_zeromq_client_gets(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        placed = await api.place("h-success", ORDER, headers={"X-Request-Id": "req-7"})
        over_http = await api.get(f"/api/v1/orders/{placed.body['order_ref']}")
        over_zmq = await d.client().call("get_order", order_ref=placed.body["order_ref"])
    assert placed.status == 200
    assert "Idempotent-Replayed" not in placed.headers
    assert (placed.body["ok"], placed.body["status"], placed.body["http_status"]) == (True, "success", 200)
    assert (placed.body["id"], placed.headers["X-Request-Id"]) == ("req-7", "req-7")
    assert {r["broker_id"]: r["status"] for r in placed.body["results"]} == {"fyers": "success", "hdfc": "success"}
    assert len(d.paper("fyers").book) == len(d.paper("hdfc").book) == 1
    assert {**over_http.body, "id": None} == {**over_zmq, "id": None}


async def test_same_key_is_replayed_from_the_store_with_the_replayed_header(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        first = await api.place("h-replay", ORDER)
        second = await api.place("h-replay", ORDER)
        over_zmq = await d.client().place("h-replay")
    assert (second.status, second.headers["Idempotent-Replayed"]) == (200, "true")
    assert second.body["replayed"] is True and second.body["order_ref"] == first.body["order_ref"]
    assert over_zmq["order_ref"] == first.body["order_ref"]
    assert d.paper("fyers").calls.place_calls == 1


async def test_partial_success_is_207_and_failure_everywhere_is_502(tmp_path: Path) -> None:
    partial = make_config(tmp_path / "a", http=True, brokers={"hdfc": {"reject_code": "ORDER_REJECTED"}})
    async with serving(partial) as (_, api):
        reply = await api.place("h-partial", ORDER)
    assert (reply.status, reply.body["status"]) == (207, "partial_success")

    failed = make_config(tmp_path / "b", http=True, brokers={"fyers": {"reject_code": "ORDER_REJECTED"},
                                                             "hdfc": {"reject_code": "INSUFFICIENT_FUNDS"}})
    async with serving(failed) as (_, api):
        reply = await api.place("h-failed", ORDER)
    assert (reply.status, reply.body["status"]) == (502, "failed")
    assert {r["error_code"] for r in reply.body["results"]} == {"ORDER_REJECTED", "INSUFFICIENT_FUNDS"}


async def test_concurrent_duplicate_gets_409_and_a_reused_key_422(state_dir: Path) -> None:
    config = make_config(state_dir, http=True, brokers={"fyers": {"latency_ms": 500}, "hdfc": {"latency_ms": 500}})
    async with serving(config) as (d, api):
        first = asyncio.create_task(api.place("h-dup", ORDER))
        await asyncio.sleep(0.1)
        duplicate = await api.place("h-dup", ORDER)
        await first
        reused = await api.place("h-dup", {**ORDER, "qty": 2})
    assert (duplicate.status, duplicate.code) == (409, "IDEMPOTENCY_KEY_IN_FLIGHT")
    assert (reused.status, reused.code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(d.paper("fyers").book) == 1


async def test_missing_idempotency_key_is_400_and_nothing_is_placed(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        missing = await api.place(None, ORDER)
        empty = await api.place("", ORDER)
        too_long = await api.place("k" * 300, ORDER)
    assert (missing.status, missing.code) == (400, "IDEMPOTENCY_KEY_MISSING")
    assert (empty.status, empty.code) == (400, "IDEMPOTENCY_KEY_MISSING")
    assert (too_long.status, too_long.code) == (422, "VALIDATION_ERROR")
    assert too_long.body["error"]["field"] == "idempotency_key"
    assert len(d.paper("fyers").book) == len(d.paper("hdfc").book) == 0


async def test_bodies_that_are_not_a_valid_order_get_400_or_422(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        negative = await api.place("h-neg", {**ORDER, "qty": -5})
        too_big = await api.place("h-limit", {**ORDER, "qty": 10_000_000})
        extra = await api.place("h-extra", {**ORDER, "colour": "red"})
        not_object = await api.place("h-list", [ORDER])
        not_json = await api.request("POST", "/api/v1/orders", data=b"{nope",
                                     headers={"Idempotency-Key": "h-bad", "Content-Type": "application/json"})
        nan = await api.request("POST", "/api/v1/orders", data=b'{"qty": NaN}',
                                headers={"Idempotency-Key": "h-nan", "Content-Type": "application/json"})
    assert (negative.status, negative.code, negative.body["error"]["field"]) == (422, "VALIDATION_ERROR", "order.qty")
    assert (too_big.status, too_big.code) == (422, "VALIDATION_ERROR") and "max_qty" in too_big.body["error"]["message"]
    assert (extra.status, extra.code) == (400, "BAD_REQUEST")
    assert (not_object.status, not_object.code) == (400, "BAD_REQUEST")
    assert (not_json.status, not_json.code) == (400, "BAD_REQUEST")
    assert (nan.status, nan.code) == (400, "BAD_REQUEST")
    assert len(d.paper("fyers").book) == 0


async def test_wrong_content_types_get_415(state_dir: Path) -> None:
    body = b'{"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 1, "order_type": "MARKET"}'
    async with serving(make_config(state_dir, http=True)) as (d, api):
        replies = [
            await api.request("POST", "/api/v1/orders", data=body,
                              headers={"Idempotency-Key": f"h-ct-{i}", "Content-Type": content_type})
            for i, content_type in enumerate(["text/plain", "application/x-www-form-urlencoded",
                                              "application/json; charset=latin-1", "application/xml"])
        ]
        no_type = await api.request("POST", "/api/v1/orders", data=body, headers={"Idempotency-Key": "h-none"})
        utf8 = await api.request("POST", "/api/v1/orders", data=body, headers={
            "Idempotency-Key": "h-utf8", "Content-Type": "application/json; charset=UTF-8"})
    assert [(r.status, r.code) for r in [*replies, no_type]] == [(415, "UNSUPPORTED_MEDIA_TYPE")] * 5
    assert utf8.status == 200
    assert len(d.paper("fyers").book) == 1


async def _chunks(total: int) -> AsyncIterator[bytes]:
    yield b'{"symbol": "NSE:SBIN-EQ", "pad": "'
    for _ in range(total // 65536):
        yield b"x" * 65536
    yield b'"}'


async def test_bodies_over_one_mebibyte_get_413_declared_or_chunked(state_dir: Path) -> None:
    headers = {"Idempotency-Key": "h-big", "Content-Type": "application/json"}
    async with serving(make_config(state_dir, http=True)) as (_, api):
        declared = await api.request("POST", "/api/v1/orders", data=io.BytesIO(b'{"x":"' + b"y" * MiB + b'"}'),
                                     headers=headers)
        chunked = await api.request("POST", "/api/v1/orders", data=_chunks(2 * MiB), headers=headers)
        after = await api.place("h-after-big", ORDER)
    assert (declared.status, declared.code) == (413, "PAYLOAD_TOO_LARGE")
    assert (chunked.status, chunked.code) == (413, "PAYLOAD_TOO_LARGE")
    assert after.status == 200


async def test_kill_switch_refuses_orders_with_403_and_shutdown_with_503(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        await api.kill_switch(True, "desk halt")
        killed = await api.place("h-killed", ORDER)
        await api.kill_switch(False)
        d.daemon.orchestrator.accepting = False  # what SIGTERM does first
        stopping = await api.place("h-stopping", ORDER)
        d.daemon.orchestrator.accepting = True
    assert (killed.status, killed.code) == (403, "KILL_SWITCH_ACTIVE")
    assert (stopping.status, stopping.code) == (503, "SHUTTING_DOWN")
    assert d.paper("fyers").calls.place_calls == 0


async def test_tokens_are_required_and_checked_before_the_body_is_read(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        none = await api.as_token(None).place("h-anon", ORDER)
        wrong = await api.as_token("not-the-token").place("h-wrong", ORDER)
        basic = await api.as_token(None).place("h-basic", ORDER, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        # A bad token is refused even when the body is garbage: 401 comes first.
        garbage = await api.as_token("nope").request("POST", "/api/v1/orders", data=b"\xff",
                                                      headers={"Content-Type": "text/plain"})
    for reply in (none, wrong, basic, garbage):
        assert (reply.status, reply.code) == (401, "UNAUTHORIZED")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert "not-the-token" not in str(wrong.body)
    assert len(d.paper("fyers").book) == 0


async def test_get_one_order_and_recent_orders(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (_, api):
        first = await api.place("h-list-1", ORDER)
        second = await api.place("h-list-2", {**ORDER, "side": "SELL"})
        listed = await api.get("/api/v1/orders?limit=10")
        one = await api.get("/api/v1/orders?limit=1")
        default = await api.get("/api/v1/orders")
        by_ref = await api.get(f"/api/v1/orders/{first.body['order_ref']}")
        missing = await api.get("/api/v1/orders/ORD-nope")
        too_long = await api.get("/api/v1/orders/" + "R" * 65)
        zero = await api.get("/api/v1/orders?limit=0")
        word = await api.get("/api/v1/orders?limit=ten")
        unknown = await api.get("/api/v1/orders?colour=red")
        twice = await api.get("/api/v1/orders?limit=1&limit=2")
    assert [o["order_ref"] for o in listed.body["orders"]] == [second.body["order_ref"], first.body["order_ref"]]
    assert len(one.body["orders"]) == 1 and len(default.body["orders"]) == 2
    assert by_ref.status == 200
    assert (by_ref.body["order"]["state"], by_ref.body["order"]["status"]) == ("completed", "success")
    assert (missing.status, missing.code) == (404, "NOT_FOUND")
    assert (too_long.status, too_long.code) == (422, "VALIDATION_ERROR")
    assert (zero.status, zero.code, zero.body["error"]["field"]) == (422, "VALIDATION_ERROR", "limit")
    assert (word.status, word.code) == (422, "VALIDATION_ERROR")
    assert (unknown.status, unknown.code) == (400, "BAD_REQUEST")
    assert (twice.status, twice.code) == (400, "BAD_REQUEST")


async def test_an_order_under_way_when_the_daemon_stops_is_finished_and_answered(state_dir: Path) -> None:
    config = make_config(state_dir, http=True, brokers={"fyers": {"latency_ms": 300}, "hdfc": {"latency_ms": 300}})
    async with serving(config) as (d, api):
        under_way = asyncio.create_task(api.place("h-shutdown", ORDER))
        await asyncio.sleep(0.1)
        await d.daemon.stop()
        reply = await under_way
    assert (reply.status, reply.body["status"]) == (200, "success")
    async with serving(config) as (d, api):
        stored = await api.get(f"/api/v1/orders/{reply.body['order_ref']}")
    assert (stored.body["order"]["state"], stored.body["order"]["status"]) == ("completed", "success")


async def test_a_client_that_hangs_up_mid_order_finds_it_placed_once_when_it_retries(state_dir: Path) -> None:
    config = make_config(state_dir, http=True, brokers={"fyers": {"latency_ms": 300}, "hdfc": {"latency_ms": 300}})
    async with serving(config) as (d, api):
        impatient = asyncio.create_task(api.place("h-hangup", ORDER))
        await asyncio.sleep(0.1)
        impatient.cancel()  # the connection closes with the order at the brokers
        await asyncio.gather(impatient, return_exceptions=True)
        for _ in range(50):
            retry = await api.place("h-hangup", ORDER)
            if retry.status != 409:
                break
            await asyncio.sleep(0.05)
    assert (retry.status, retry.headers["Idempotent-Replayed"]) == (200, "true")
    assert d.paper("fyers").calls.place_calls == d.paper("hdfc").calls.place_calls == 1


async def test_delete_cancels_at_every_broker_even_under_the_kill_switch(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        placed = await api.place("h-cancel", ORDER)
        path = f"/api/v1/orders/{placed.body['order_ref']}"
        await api.kill_switch(True, "stop new risk")
        cancelled = await api.request("DELETE", path, headers={"Idempotency-Key": "h-cancel-1"})
        again = await api.request("DELETE", path, headers={"Idempotency-Key": "h-cancel-1"})
        await api.kill_switch(False)
    assert (cancelled.status, cancelled.body["action"], cancelled.body["status"]) == (200, "cancel", "success")
    assert {r["broker_id"] for r in cancelled.body["results"]} == {"fyers", "hdfc"}
    assert (again.status, again.headers["Idempotent-Replayed"], again.body["results"]) == (
        200, "true", cancelled.body["results"])
    assert {o.state for b in ("fyers", "hdfc") for o in d.paper(b).book.orders()} == {"cancelled"}


async def test_patch_modifies_the_open_order_and_only_the_brokers_named(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        placed = await api.place("h-modify", ORDER)
        path = f"/api/v1/orders/{placed.body['order_ref']}"
        both = await api.request("PATCH", path, json={"qty": 5, "price": 499.0})
        one = await api.request("PATCH", path, json={"price": 498.5, "brokers": ["hdfc"]})
        nothing = await api.request("PATCH", path, json={})
        over_zmq = await d.client().call("modify_order", order_ref=placed.body["order_ref"], qty=6)
    assert (both.status, both.body["action"], both.body["status"]) == (200, "modify", "success")
    assert [r["broker_id"] for r in one.body["results"]] == ["hdfc"]
    (fyers_order,), (hdfc_order,) = d.paper("fyers").book.orders(), d.paper("hdfc").book.orders()
    assert (fyers_order.qty, fyers_order.price) == (6, 499.0)
    assert (hdfc_order.qty, hdfc_order.price) == (6, 498.5)
    assert (nothing.status, nothing.code) == (422, "VALIDATION_ERROR")
    assert over_zmq["status"] == "success"
