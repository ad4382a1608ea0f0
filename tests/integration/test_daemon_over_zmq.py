"""The whole daemon, in-process, over real ZeroMQ sockets, driven like a user's script."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import zmq

from ordod.config import Config
from tests.harness import ORDER, make_config, running_daemon


async def test_order_placed_at_both_brokers_answers_200(config: Config) -> None:
    async with running_daemon(config) as d:
        reply = await d.client().place("k-success")
    assert reply["ok"] is True
    assert (reply["status"], reply["http_status"], reply["replayed"]) == ("success", 200, False)
    assert {r["broker_id"]: r["status"] for r in reply["results"]} == {"fyers": "success", "hdfc": "success"}
    assert all(r["order_id"] and r["attempts"] == 1 and r["error_code"] is None for r in reply["results"])
    assert len(d.paper("fyers").book) == len(d.paper("hdfc").book) == 1


async def test_rate_limited_broker_is_retried_then_reported_as_partial_success(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"hdfc": {"reject_code": "RATE_LIMIT_EXCEEDED"}}, retry={"max_attempts": 3})
    async with running_daemon(config) as d:
        reply = await d.client().place("k-partial")
    assert (reply["status"], reply["http_status"]) == ("partial_success", 207)
    by_broker = {r["broker_id"]: r for r in reply["results"]}
    assert by_broker["fyers"]["status"] == "success"
    assert by_broker["hdfc"]["status"] == "error"
    assert by_broker["hdfc"]["error_code"] == "RATE_LIMIT_EXCEEDED"
    assert by_broker["hdfc"]["attempts"] == 3
    assert d.paper("hdfc").calls.place_calls == 3


async def test_every_broker_failing_answers_502(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"fyers": {"reject_code": "ORDER_REJECTED"},
                                             "hdfc": {"reject_code": "INSUFFICIENT_FUNDS"}})
    async with running_daemon(config) as d:
        reply = await d.client().place("k-failed")
    assert (reply["ok"], reply["status"], reply["http_status"]) == (True, "failed", 502)
    codes = {r["broker_id"]: (r["error_code"], r["attempts"]) for r in reply["results"]}
    assert codes == {"fyers": ("ORDER_REJECTED", 1), "hdfc": ("INSUFFICIENT_FUNDS", 1)}


async def test_same_key_same_order_replays_without_calling_brokers(config: Config) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        first = await client.place("k-replay")
        calls_after_first = d.paper("fyers").calls.place_calls
        second = await client.place("k-replay")
        assert d.paper("fyers").calls.place_calls == calls_after_first
    assert second["replayed"] is True
    assert second["order_ref"] == first["order_ref"]
    assert second["results"] == first["results"]


async def test_same_key_with_another_order_is_refused_422(config: Config) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        await client.place("k-reuse")
        reply = await client.place("k-reuse", order={**ORDER, "qty": 2})
    assert reply["ok"] is False
    assert reply["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert reply["error"]["http_status"] == 422


async def test_twenty_concurrent_requests_with_one_key_place_exactly_one_order(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"fyers": {"latency_ms": 100}, "hdfc": {"latency_ms": 100}})
    async with running_daemon(config) as d:
        clients = [d.client() for _ in range(20)]
        replies = await asyncio.gather(*(c.place("k-concurrent") for c in clients))
        replay = await d.client().place("k-concurrent")
    executed = [r for r in replies if r["ok"] and not r["replayed"]]
    in_flight = [r for r in replies if not r["ok"]]
    assert len(executed) == 1
    assert all(r["error"]["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT" and r["error"]["http_status"] == 409
               for r in in_flight)
    assert len(d.paper("fyers").book) == len(d.paper("hdfc").book) == 1
    assert d.paper("fyers").calls.place_calls == 1
    assert replay["replayed"] is True and replay["order_ref"] == executed[0]["order_ref"]


async def test_kill_switch_blocks_orders_is_audited_and_survives_restart(config: Config) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        set_reply = await client.call("kill_switch", active=True, reason="fat finger on desk 2")
        assert set_reply["kill_switch"]["active"] is True
        assert set_reply["kill_switch"]["set_by"] == "default"
        reply = await client.place("k-killed")
        assert reply["ok"] is False
        assert (reply["error"]["code"], reply["error"]["http_status"]) == ("KILL_SWITCH_ACTIVE", 403)
        assert d.paper("fyers").calls.place_calls == 0
        assert d.paper("hdfc").calls.place_calls == 0
        events = (await client.call("audit_replay", since=0, limit=100))["events"]
        types = [e["type"] for e in events]
        assert "kill_switch.changed" in types
        rejected = [e for e in events if e["type"] == "order.rejected"]
        assert rejected and rejected[0]["data"]["code"] == "KILL_SWITCH_ACTIVE"

    async with running_daemon(config) as d:
        client = d.client()
        status = await client.call("kill_switch")
        assert status["kill_switch"]["active"] is True
        assert status["kill_switch"]["reason"] == "fat finger on desk 2"
        assert (await client.place("k-killed-2"))["error"]["code"] == "KILL_SWITCH_ACTIVE"
        await client.call("kill_switch", active=False, reason="all clear", confirm=True)
        # A key refused by the kill switch was released, so the same key now goes through.
        reply = await client.place("k-killed")
    assert reply["ok"] is True and reply["status"] == "success"


async def test_breaker_opens_after_threshold_then_closes_after_successful_probe(state_dir: Path) -> None:
    config = make_config(
        state_dir,
        brokers={"hdfc": {"reject_code": "BROKER_UNAVAILABLE"}},
        breaker={"failure_threshold": 2, "reset_timeout_s": 0.3},
        retry={"max_attempts": 1},
    )
    async with running_daemon(config) as d:
        client = d.client()
        for i in range(2):
            r = await client.place(f"k-brk-{i}")
            assert {x["broker_id"]: x["error_code"] for x in r["results"]}["hdfc"] == "BROKER_UNAVAILABLE"
        calls_when_opened = d.paper("hdfc").calls.place_calls
        skipped = await client.place("k-brk-skip")
        hdfc = {x["broker_id"]: x for x in skipped["results"]}["hdfc"]
        assert (hdfc["status"], hdfc["error_code"], hdfc["attempts"]) == ("skipped", "CIRCUIT_OPEN", 0)
        assert skipped["http_status"] == 207
        assert d.paper("hdfc").calls.place_calls == calls_when_opened
        health = (await client.call("health"))["health"]
        assert {b["broker_id"]: b["breaker"] for b in health["brokers"]}["hdfc"] == "open"

        # The broker recovers; after the reset timeout a health probe (not an order) closes it.
        d.paper("hdfc").knobs.reject_code = ""
        for _ in range(50):
            await asyncio.sleep(0.05)
            health = (await client.call("health"))["health"]
            if {b["broker_id"]: b["breaker"] for b in health["brokers"]}["hdfc"] == "closed":
                break
        else:
            raise AssertionError("breaker did not close after a successful probe")
        assert d.paper("hdfc").calls.probes >= 1
        assert d.paper("hdfc").calls.place_calls == calls_when_opened
        after = await client.place("k-brk-after")
        events = (await client.call("audit_replay", since=0, limit=500))["events"]
    assert after["status"] == "success"
    transitions = [(e["data"]["old"], e["data"]["new"]) for e in events if e["type"] == "breaker.changed"]
    assert transitions == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


async def test_slow_broker_does_not_delay_another_clients_health(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"fyers": {"latency_ms": 2000}, "hdfc": {"latency_ms": 2000}})
    async with running_daemon(config) as d:
        trader, watcher = d.client(), d.client()
        order = asyncio.create_task(trader.place("k-slow"))
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        health = await watcher.call("health")
        kill = await watcher.call("kill_switch")
        elapsed = time.monotonic() - t0
        assert health["ok"] and kill["ok"]
        assert not order.done()
        assert health["health"]["in_flight_orders"] == 1
        # Generous bound: the point is "not 2 s", not a performance figure.
        assert elapsed < 1.0
        assert (await order)["status"] == "success"


MALFORMED: list[list[bytes]] = [
    [b""],
    [b"\xff\xfe\x00garbage"],
    [b"not json"],
    [b"[1,2,3]"],
    [b'"a string"'],
    [b"null"],
    [b"{}"],
    [b'{"v": 2, "op": "ping"}'],
    [b'{"v": 1}'],
    [b'{"v": 1, "op": 42}'],
    [b'{"v": 1, "op": "launch_missiles"}'],
    [b'{"v": 1, "op": "place_order"}'],
    [b'{"v": 1, "op": "place_order", "idempotency_key": "k", "order": "buy"}'],
    [b'{"v": 1, "op": "place_order", "idempotency_key": "k", "order": {"qty": NaN}}'],
    [b'{"v": 1, "op": "ping", "id": {"nested": true}}'],
    [b"[" * 100_000 + b"]" * 100_000],
    [b'{"v": 1, "op": "ping", "pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'],
    [b'{"v": 1, "op": "ping"}', b"second frame"],
]


async def test_malformed_frames_get_typed_errors_and_the_daemon_keeps_serving(config: Config) -> None:
    async with running_daemon(config) as d:
        for frames in MALFORMED:
            client = d.client()
            reply = await client.send_raw(*frames)
            assert reply["ok"] is False, frames[0][:60]
            assert reply["error"]["code"] in {"BAD_REQUEST", "UNKNOWN_OP", "PAYLOAD_TOO_LARGE", "VALIDATION_ERROR"}
            assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
            client.close()
        ok = await d.client().place("k-after-garbage")
    assert ok["ok"] is True and ok["status"] == "success"


async def test_error_codes_for_oversize_unknown_op_and_validation(config: Config) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        big = await client.send_raw(b'{"v":1,"op":"ping","x":"' + b"y" * (1024 * 1024) + b'"}')
        unknown = await client.call("teleport")
        invalid = await client.place("k-invalid", order={**ORDER, "qty": -5})
        no_token = await client.call("health", token=False)
        bad_token = await d.client(token="nope").call("health")
        limit = await client.place("k-limit", order={**ORDER, "qty": 10_000_000})
    assert (big["error"]["code"], big["error"]["http_status"]) == ("PAYLOAD_TOO_LARGE", 413)
    assert (unknown["error"]["code"], unknown["id"]) == ("UNKNOWN_OP", "teleport")
    assert (invalid["error"]["code"], invalid["error"]["field"]) == ("VALIDATION_ERROR", "order.qty")
    assert no_token["error"]["code"] == bad_token["error"]["code"] == "UNAUTHORIZED"
    assert (limit["error"]["code"], limit["error"]["http_status"]) == ("VALIDATION_ERROR", 422)
    assert "max_qty" in limit["error"]["message"]


async def test_get_order_and_list_orders(config: Config) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        first = await client.place("k-list-1")
        second = await client.place("k-list-2", order={**ORDER, "side": "SELL"})
        by_ref = await client.call("get_order", order_ref=first["order_ref"])
        by_key = await client.call("get_order", idempotency_key="k-list-2")
        listed = await client.call("list_orders", limit=10)
        missing = await client.call("get_order", order_ref="ORD-nope")
    assert by_ref["order"]["order_ref"] == first["order_ref"]
    assert by_ref["order"]["state"] == "completed" and by_ref["order"]["status"] == "success"
    assert by_key["order"]["order_ref"] == second["order_ref"]
    assert [o["order_ref"] for o in listed["orders"]] == [second["order_ref"], first["order_ref"]]
    assert (missing["error"]["code"], missing["error"]["http_status"]) == ("NOT_FOUND", 404)


async def test_audit_seq_continues_without_gap_across_restart(config: Config) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        await client.place("k-audit-1")
        before = (await client.call("audit_replay", since=0, limit=1000))["events"]
    async with running_daemon(config) as d:
        client = d.client()
        await client.place("k-audit-2")
        after = (await client.call("audit_replay", since=0, limit=1000))["events"]
    seqs = [e["seq"] for e in after]
    assert seqs == list(range(1, len(seqs) + 1))
    assert after[: len(before)] == before
    assert len(after) > len(before) + 3
    assert "token" not in json.dumps(after).lower().replace("idempotency_key", "")


async def test_published_events_carry_topic_and_seq_and_health_snapshots(config: Config) -> None:
    async with running_daemon(config) as d:
        sub = d.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(d.daemon.pub_endpoint)
        await asyncio.sleep(0.3)  # slow-joiner: let the subscription reach the publisher
        await d.client().place("k-pub")
        seen: dict[str, dict] = {}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not {"audit.order.completed", "health.snapshot"} <= set(seen):
            if await sub.poll(200):
                topic, body = await sub.recv_multipart()
                seen[topic.decode()] = json.loads(body)
        sub.close()
    assert seen["audit.order.received"]["seq"] >= 1
    assert seen["audit.broker.result"]["order_ref"] == seen["audit.order.received"]["order_ref"]
    assert seen["health.snapshot"]["seq"] is None
    assert {b["broker_id"] for b in seen["health.snapshot"]["data"]["brokers"]} == {"fyers", "hdfc"}


async def test_a_second_daemon_on_the_same_state_dir_refuses_to_start(config: Config) -> None:
    from ordod.daemon import Daemon
    from ordod.state_lock import StateDirLocked

    async with running_daemon(config):
        second = Daemon(config)
        try:
            await second.start()
        except StateDirLocked as exc:
            assert "already running" in str(exc)
        else:
            await second.stop()
            raise AssertionError("second daemon started on a locked state dir")
