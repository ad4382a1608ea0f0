"""After the acknowledgement: tracking, cancel, modify, and the complete kill switch
(scope, flatten, confirmation, minimum hold), against paper brokers over real sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ordod.brokers.common.config import RateLimitConfig
from ordod.brokers.common.ratelimit import RateLimiter, WindowBucket
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import SystemClock
from tests.harness import ORDER, RawClient, make_config, running_daemon


async def wait_for_states(client: RawClient, order_ref: str, wanted: dict[str, str]) -> dict[str, Any]:
    for _ in range(100):
        record = (await client.call("get_order", order_ref=order_ref))["order"]
        if {t["broker_id"]: t["state"] for t in record["tracking"]} == wanted:
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"tracking never reached {wanted}: {record['tracking']}")


async def test_accepted_orders_are_followed_until_filled(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"fyers": {"latency_ms": 0, "fill_after_ms": 150},
                                             "hdfc": {"latency_ms": 0, "fill_after_ms": 150}})
    async with running_daemon(config) as d:
        client = d.client()
        placed = await client.place("k-fill")
        first = (await client.call("get_order", order_ref=placed["order_ref"]))["order"]
        assert {t["state"] for t in first["tracking"]} == {"open"}
        record = await wait_for_states(client, placed["order_ref"], {"fyers": "filled", "hdfc": "filled"})
        events = (await client.call("audit_replay", since=0, limit=500))["events"]
        listed = (await client.call("list_orders", limit=5))["orders"]
    fyers = {t["broker_id"]: t for t in record["tracking"]}["fyers"]
    assert (fyers["filled_qty"], fyers["average_price"]) == (ORDER["qty"], ORDER["price"])
    updates = [e for e in events if e["type"] == "order.updated"]
    assert {(e["broker_id"], e["data"]["old"], e["data"]["new"]) for e in updates} == {
        ("fyers", "open", "filled"), ("hdfc", "open", "filled")}
    assert len(updates) == 2, "polling stops once an order is terminal"
    assert {t["state"] for t in listed[0]["tracking"]} == {"filled"}


async def test_a_market_order_fills_at_once_and_tracking_records_and_announces_the_fill(config: Any) -> None:
    market = {key: value for key, value in ORDER.items() if key != "price"} | {"order_type": "MARKET", "qty": 3}
    async with running_daemon(config) as d:
        client = d.client()
        placed = await client.place("k-market", order=market)
        # Too late to pull back: the exchange filled it moments after accepting it.
        cancel = await client.call("cancel_order", order_ref=placed["order_ref"])
        record = await wait_for_states(client, placed["order_ref"], {"fyers": "filled", "hdfc": "filled"})
        await d.daemon.audit.flush()
        events = (await client.call("audit_replay", since=0, limit=500))["events"]
    assert placed["status"] == "success"
    assert {t["broker_id"]: (t["filled_qty"], t["average_price"]) for t in record["tracking"]} == {
        "fyers": (3, None), "hdfc": (3, None)}  # the simulation has no market price to report
    updates = [e for e in events if e["type"] == "order.updated" and e["order_ref"] == placed["order_ref"]]
    assert sorted((e["broker_id"], e["data"]["old"], e["data"]["new"], e["data"]["filled_qty"]) for e in updates) == [
        ("fyers", "open", "filled", 3), ("hdfc", "open", "filled", 3)]
    assert cancel["status"] == "failed" and {r["error_code"] for r in cancel["results"]} == {"ORDER_REJECTED"}
    assert {p.state for b in ("fyers", "hdfc") for p in d.paper(b).book.orders()} == {"filled"}


async def test_a_late_rejection_after_acceptance_is_shown(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={
        "fyers": {"latency_ms": 0},
        "hdfc": {"latency_ms": 0, "fill_after_ms": 100, "late_reject": "RMS: margin shortfall"}})
    async with running_daemon(config) as d:
        client = d.client()
        placed = await client.place("k-late-reject")
        assert placed["status"] == "success"
        record = await wait_for_states(client, placed["order_ref"], {"fyers": "open", "hdfc": "rejected"})
    hdfc = {t["broker_id"]: t for t in record["tracking"]}["hdfc"]
    assert hdfc["message"] == "RMS: margin shortfall"


async def test_cancel_reaches_every_broker_holding_the_order_and_is_idempotent(config: Any) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        placed = await client.place("k-cancel")
        reply = await client.call("cancel_order", order_ref=placed["order_ref"], idempotency_key="c-1")
        again = await client.call("cancel_order", order_ref=placed["order_ref"], idempotency_key="c-1")
        record = await wait_for_states(client, placed["order_ref"], {"fyers": "cancelled", "hdfc": "cancelled"})
        twice = await client.call("cancel_order", order_ref=placed["order_ref"])
        missing = await client.call("cancel_order", order_ref="ORD-none")
    assert (reply["action"], reply["status"], reply["http_status"]) == ("cancel", "success", 200)
    assert {r["broker_id"]: r["order_id"] for r in reply["results"]} == {
        t["broker_id"]: t["order_id"] for t in record["tracking"]}
    assert again["replayed"] is True and again["results"] == reply["results"]
    assert {p.state for p in d.paper("fyers").book.orders()} == {"cancelled"}
    assert twice["status"] == "failed" and {r["error_code"] for r in twice["results"]} == {"ORDER_REJECTED"}
    assert missing["error"]["code"] == "NOT_FOUND"


async def test_modify_changes_terms_at_each_broker(config: Any) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        placed = await client.place("k-modify")
        reply = await client.call("modify_order", order_ref=placed["order_ref"], qty=5, price=499.0)
        to_market = await client.call("modify_order", order_ref=placed["order_ref"], order_type="MARKET",
                                      brokers=["hdfc"])
        bad = await client.call("modify_order", order_ref=placed["order_ref"], order_type="SL")
        record = (await client.call("get_order", order_ref=placed["order_ref"]))["order"]
    assert reply["status"] == "success" and reply["action"] == "modify"
    terms = {t["broker_id"]: (t["order_type"], t["qty"], t["price"]) for t in record["tracking"]}
    assert terms == {"fyers": ("LIMIT", 5, 499.0), "hdfc": ("MARKET", 5, None)}
    assert [r["broker_id"] for r in to_market["results"]] == ["hdfc"]
    paper = d.paper("fyers").book.orders()[0]
    assert (paper.qty, paper.price) == (5, 499.0)
    assert (bad["error"]["code"], bad["error"]["field"]) == ("VALIDATION_ERROR", "trigger_price")


async def test_under_the_kill_switch_cancel_works_and_a_quantity_increase_is_refused(config: Any) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        placed = await client.place("k-ks-modify")
        await client.call("kill_switch", active=True, reason="desk halt")
        increase = await client.call("modify_order", order_ref=placed["order_ref"], qty=10)
        decrease = await client.call("modify_order", order_ref=placed["order_ref"], price=480.0)
        cancel = await client.call("cancel_order", order_ref=placed["order_ref"])
    assert (increase["error"]["code"], increase["error"]["http_status"]) == ("KILL_SWITCH_ACTIVE", 403)
    assert decrease["status"] == "success"
    assert cancel["status"] == "success"


async def test_flatten_cancels_every_open_order_while_blocking_new_ones(config: Any) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        refs = [(await client.place(f"k-flat-{i}"))["order_ref"] for i in range(3)]
        reply = await client.call("kill_switch", active=True, reason="flatten all", flatten=True)
        blocked = await client.place("k-flat-new")
        events = (await client.call("audit_replay", since=0, limit=500))["events"]
    flattened = {(r["order_ref"], r["broker_id"]): r["status"] for r in reply["flatten"]}
    assert flattened == {(ref, b): "success" for ref in refs for b in ("fyers", "hdfc")}
    assert {p.state for b in ("fyers", "hdfc") for p in d.paper(b).book.orders()} == {"cancelled"}
    assert blocked["error"]["code"] == "KILL_SWITCH_ACTIVE"
    action = [e for e in events if e["type"] == "kill_switch.flattened"]
    assert len(action) == 1 and action[0]["data"]["cancelled"] == 6


async def test_isolating_one_broker_routes_around_it(config: Any) -> None:
    async with running_daemon(config) as d:
        client = d.client()
        isolated = await client.call("kill_switch", active=True, scope="hdfc", reason="hdfc misbehaving")
        reply = await client.place("k-isolated")
        only_hdfc = await client.place("k-only-hdfc", order={**ORDER, "brokers": ["hdfc"]})
        health = (await client.call("health"))["health"]
        unknown_scope = await client.call("kill_switch", active=True, scope="nse")
    assert isolated["kill_switch"]["active"] is False
    assert isolated["kill_switch"]["isolated"]["hdfc"]["reason"] == "hdfc misbehaving"
    results = {r["broker_id"]: r for r in reply["results"]}
    assert results["fyers"]["status"] == "success"
    assert (results["hdfc"]["error_code"], results["hdfc"]["attempts"]) == ("KILL_SWITCH_ACTIVE", 0)
    assert d.paper("hdfc").calls.place_calls == 0
    assert only_hdfc["error"]["code"] == "KILL_SWITCH_ACTIVE"
    assert {b["broker_id"]: b["breaker"] for b in health["brokers"]} == {"fyers": "closed", "hdfc": "isolated"}
    assert unknown_scope["error"]["code"] == "VALIDATION_ERROR"


async def test_turning_off_needs_confirmation_and_waits_out_the_minimum_hold(state_dir: Path) -> None:
    config = make_config(state_dir, kill_switch={"min_hold_s": 0.5})
    async with running_daemon(config) as d:
        client = d.client()
        await client.call("kill_switch", active=True, reason="halt")
        unconfirmed = await client.call("kill_switch", active=False)
        too_soon = await client.call("kill_switch", active=False, confirm=True)
        await asyncio.sleep(0.6)
        off = await client.call("kill_switch", active=False, confirm=True)
    assert (unconfirmed["error"]["code"], unconfirmed["error"]["field"]) == ("VALIDATION_ERROR", "confirm")
    assert (too_soon["error"]["code"], too_soon["error"]["http_status"]) == ("KILL_SWITCH_HOLD", 409)
    assert off["ok"] is True and off["kill_switch"]["active"] is False


async def test_tracking_resumes_after_a_restart(state_dir: Path) -> None:
    open_forever = make_config(state_dir)
    async with running_daemon(open_forever) as d:
        placed = await d.client().place("k-resume")
    fills_now = make_config(state_dir, brokers={"fyers": {"latency_ms": 0, "fill_after_ms": 1},
                                                "hdfc": {"latency_ms": 0, "fill_after_ms": 1}})
    async with running_daemon(fills_now) as d:
        await wait_for_states(d.client(), placed["order_ref"], {"fyers": "filled", "hdfc": "filled"})


class RateLimitedPaper(PaperBroker):
    """A paper broker whose cancels pass a client-side limiter, as a real broker adapter's do,
    scaled down 20x in time so the test is quick: 2 order calls in any 50 ms (a broker's 10 a
    second would be 2 in 200 ms), and a call whose turn is more than 50 ms away is refused."""

    def __init__(self, broker_id: str) -> None:
        super().__init__(broker_id, PaperKnobs(latency_ms=0), SystemClock())
        self.limiter = RateLimiter(RateLimitConfig(max_wait_s=0.05), SystemClock())
        self.limiter._buckets["order"] = [WindowBucket(2, 0.05)]

    async def cancel_order(self, order_id: str) -> None:
        await self.limiter.acquire("order")
        await super().cancel_order(order_id)


async def test_a_flatten_larger_than_the_brokers_rate_limit_still_cancels_every_order(config: Any) -> None:
    def rate_limited_fyers(daemon: Any) -> None:
        daemon.adapters["fyers"] = RateLimitedPaper("fyers")

    async with running_daemon(config, prepare=rate_limited_fyers) as d:
        client = d.client()
        for i in range(40):  # 1 s of cancels at this pace; fired at once, most would be refused
            assert (await client.place(f"k-many-{i}", order={**ORDER, "brokers": ["fyers"]}))["status"] == "success"
        reply = await client.call("kill_switch", active=True, reason="flatten many", flatten=True, timeout_s=30)
    statuses = [r["status"] for r in reply["flatten"]]
    assert len(statuses) == 40 and set(statuses) == {"success"}, {r.get("error_code") for r in reply["flatten"]}
