"""The order's life after the acknowledgement, through a whole daemon whose brokers are the
real Fyers and HDFC adapters on the fake brokers: fills, late rejections and expiry followed
at each broker; cancel and modify sent as each broker documents them; the kill switch's
cancels, refusals, flatten and isolation; tracking picked up again after a restart.

Every order goes to both brokers, so each test proves both adapters. The fakes' books are
moved the way an exchange would move them; the tests then wait, with a deadline, for the
daemon to see it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.asyncio

from ordod.config import Config
from tests.brokers.helpers import fake_brokers, login_both, real_brokers_config
from tests.fakes import fyers as fy
from tests.fakes import hdfc as hd
from tests.harness import ORDER, RawClient, RunningDaemon, running_daemon

Fakes = tuple[fy.FakeFyers, hd.FakeHdfc]
FakeBroker = fy.FakeFyers | hd.FakeHdfc
BROKERS = ("fyers", "hdfc")
# Fast polls, so a test waits fractions of a second; the adapters' rate limiters still
# decide how many status calls reach a broker (the polls are background calls).
FAST_TRACKING = {"poll_interval_s": 0.1, "fast_poll_s": 0.05}
DEADLINE_S = 5.0
FYERS_MARGIN = "RED:Margin Shortfall:INR 5005.00 Available:INR 100.00 for C-FY1234 [FYERS_RISK_CUG]"
HDFC_MARGIN = "RMS: Margin Unavailable, insufficient funds"


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with fake_brokers() as both:
        yield both


@pytest.fixture
def desk_config(state_dir: Path, tmp_path: Path, fakes: Fakes) -> Config:
    fyers, hdfc = fakes
    return real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc, tracking=FAST_TRACKING)


def venues(fakes: Fakes) -> dict[str, FakeBroker]:
    return {"fyers": fakes[0], "hdfc": fakes[1]}


@asynccontextmanager
async def logged_in(config: Config) -> AsyncIterator[tuple[RunningDaemon, RawClient]]:
    async with running_daemon(config) as d:
        client = d.client()
        await login_both(client)
        yield d, client


async def place(client: RawClient, key: str, **order: Any) -> tuple[str, dict[str, str]]:
    """Place at both brokers; returns the order_ref and each broker's order id."""
    reply = await client.place(key, order={**ORDER, **order})
    assert reply["status"] == "success", reply
    return reply["order_ref"], {r["broker_id"]: r["order_id"] for r in reply["results"]}


def both(state: str) -> dict[str, str]:
    return dict.fromkeys(BROKERS, state)


def both_pairs(filled_qty: int, average_price: float) -> dict[str, tuple[int, float]]:
    return dict.fromkeys(BROKERS, (filled_qty, average_price))


async def tracking_reaches(client: RawClient, order_ref: str, states: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``get_order``'s tracking, once it shows these states; each broker's view."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while True:
        record = (await client.call("get_order", order_ref=order_ref))["order"]
        views = {t["broker_id"]: t for t in record["tracking"]}
        if {b: v["state"] for b, v in views.items()} == states:
            return views
        if loop.time() > deadline:
            raise AssertionError(f"tracking of {order_ref} never reached {states}: {record['tracking']}")
        await asyncio.sleep(0.02)


async def until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


async def audit_events(d: RunningDaemon, client: RawClient, type_: str) -> list[dict[str, Any]]:
    await d.daemon.audit.flush()
    events: list[dict[str, Any]] = (await client.call("audit_replay", since=0, limit=1000))["events"]
    return [e for e in events if e["type"] == type_]


async def updates(d: RunningDaemon, client: RawClient, order_ref: str) -> list[tuple[str, str, str]]:
    """Each ``order.updated`` for the order: broker, old state, new state."""
    return [(e["broker_id"], e["data"]["old"], e["data"]["new"])
            for e in await audit_events(d, client, "order.updated") if e["order_ref"] == order_ref]


def polled_at_least(fakes: Fakes, ids: dict[str, str], counts: dict[str, int]) -> Callable[[], bool]:
    return lambda: all(len(fake.status_lookups(ids[b])) >= counts[b] for b, fake in venues(fakes).items())


async def looked_up(fakes: Fakes, *orders: dict[str, str]) -> None:
    """Until each broker has answered at least once about each of these orders."""
    for ids in orders:
        await until(polled_at_least(fakes, ids, dict.fromkeys(BROKERS, 1)), f"a status lookup of {ids}")


def lookups(fakes: Fakes, ids: dict[str, str]) -> dict[str, int]:
    return {b: len(fake.status_lookups(ids[b])) for b, fake in venues(fakes).items()}


@contextmanager
def subscribed(d: RunningDaemon, *topics: bytes) -> Iterator[zmq.asyncio.Socket]:
    sub = d.ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    for topic in topics:
        sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(d.daemon.pub_endpoint)
    try:
        yield sub
    finally:
        sub.close()  # before the daemon's context terminates, which waits for every socket


async def received(sub: zmq.asyncio.Socket, wanted: Callable[[list[dict[str, Any]]], bool],
                   topic: str) -> list[dict[str, Any]]:
    """Events on ``topic`` until ``wanted`` says there are enough."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    seen: list[dict[str, Any]] = []
    while not wanted(seen):
        if loop.time() > deadline:
            raise AssertionError(f"only these {topic} events arrived: {seen}")
        if await sub.poll(50):
            name, body = await sub.recv_multipart()
            if name.decode() == topic:
                seen.append(json.loads(body))
    return seen


async def test_an_order_is_followed_through_a_partial_fill_to_filled_and_then_no_longer_polled(
    desk_config: Config, fakes: Fakes,
) -> None:
    async with logged_in(desk_config) as (d, client):
        with subscribed(d, b"health.", b"audit.order.updated") as sub:
            # A health snapshot arriving proves the subscription is live before anything happens.
            await received(sub, lambda seen: bool(seen), "health.snapshot")
            ref, ids = await place(client, "k-fill", qty=10)
            _, witness = await place(client, "k-witness")
            opened = await tracking_reaches(client, ref, both("open"))
            await looked_up(fakes, ids)

            for broker, fake in venues(fakes).items():
                fake.fill(ids[broker], 4, 500.0)
            partial = await tracking_reaches(client, ref, both("partially_filled"))
            for broker, fake in venues(fakes).items():
                fake.fill(ids[broker], 6, 500.5)
            filled = await tracking_reaches(client, ref, both("filled"))

            after_fill = lookups(fakes, ids)
            # The witness, still open, keeps being polled: three more passes at each broker.
            more = {b: n + 3 for b, n in lookups(fakes, witness).items()}
            await until(polled_at_least(fakes, witness, more), "three more polls of the open witness order")
            assert lookups(fakes, ids) == after_fill, "a filled order is no longer looked up"

            published = await received(sub, lambda seen: len([e for e in seen if e["order_ref"] == ref]) >= 4,
                                       "audit.order.updated")
            stored = await updates(d, client, ref)

    assert {b: (v["order_id"], v["filled_qty"], v["average_price"]) for b, v in opened.items()} == {
        b: (ids[b], 0, None) for b in BROKERS}
    assert {b: (v["filled_qty"], v["average_price"]) for b, v in partial.items()} == both_pairs(4, 500.0)
    for view in filled.values():
        assert (view["filled_qty"], view["qty"]) == (10, 10)
        assert view["average_price"] == pytest.approx(500.3)  # (4 x 500.0 + 6 x 500.5) / 10
    expected = {(b, "open", "partially_filled") for b in BROKERS} | {(b, "partially_filled", "filled") for b in BROKERS}
    assert sorted(stored) == sorted(expected), "one event per change, none while nothing changed"
    on_the_wire = {(e["broker_id"], e["data"]["old"], e["data"]["new"]) for e in published if e["order_ref"] == ref}
    assert on_the_wire == expected
    last = next(e for e in published if e["order_ref"] == ref and e["broker_id"] == "fyers"
                and e["data"]["new"] == "filled")
    assert (last["data"]["order_id"], last["data"]["filled_qty"]) == (ids["fyers"], 10)


async def test_a_late_rejection_after_acceptance_shows_the_brokers_message_and_an_expiry_ends_tracking(
    desk_config: Config, fakes: Fakes,
) -> None:
    fyers, hdfc = fakes
    async with logged_in(desk_config) as (d, client):
        rejected_ref, rejected = await place(client, "k-late-reject")
        expiring_ref, expiring = await place(client, "k-expire")
        await looked_up(fakes, rejected, expiring)  # each broker has said they are working
        fyers.reject(rejected["fyers"], FYERS_MARGIN)
        hdfc.reject(rejected["hdfc"], HDFC_MARGIN)
        for broker, fake in venues(fakes).items():
            fake.expire(expiring[broker])
        views = await tracking_reaches(client, rejected_ref, both("rejected"))
        await tracking_reaches(client, expiring_ref, both("expired"))
        events = await audit_events(d, client, "order.updated")

    assert (views["fyers"]["message"], views["hdfc"]["message"]) == (FYERS_MARGIN, HDFC_MARGIN)
    rejections = {e["broker_id"]: e["data"] for e in events if e["order_ref"] == rejected_ref}
    assert {b: (r["old"], r["new"], r["message"]) for b, r in rejections.items()} == {
        "fyers": ("open", "rejected", FYERS_MARGIN), "hdfc": ("open", "rejected", HDFC_MARGIN)}
    assert {(e["broker_id"], e["data"]["new"]) for e in events if e["order_ref"] == expiring_ref} == {
        ("fyers", "expired"), ("hdfc", "expired")}


async def test_modify_and_cancel_are_sent_as_each_broker_documents_them(desk_config: Config, fakes: Fakes) -> None:
    fyers, hdfc = fakes
    async with logged_in(desk_config) as (_, client):
        ref, ids = await place(client, "k-amend", qty=10)
        smaller = await client.call("modify_order", order_ref=ref, qty=5, price=499.0)
        to_stop = await client.call("modify_order", order_ref=ref, order_type="SL", price=501.0,
                                    trigger_price=500.8, brokers=["fyers"])
        to_market = await client.call("modify_order", order_ref=ref, order_type="MARKET", brokers=["hdfc"])
        terms = {b: (v["order_type"], v["qty"], v["price"], v["trigger_price"])
                 for b, v in (await tracking_reaches(client, ref, both("open"))).items()}
        cancel = await client.call("cancel_order", order_ref=ref, idempotency_key="c-amend")
        await tracking_reaches(client, ref, both("cancelled"))

    assert [r["status"] for r in (smaller, to_stop, to_market)] == ["success"] * 3, (smaller, to_stop, to_market)
    # Fyers: PATCH /orders/sync, the id in the body, type as its number, both prices always sent.
    assert [r.body for r in fyers.modifies(ids["fyers"])] == [
        {"id": ids["fyers"], "type": 1, "qty": 5, "limitPrice": 499.0, "stopPrice": 0.0},
        {"id": ids["fyers"], "type": 4, "qty": 5, "limitPrice": 501.0, "stopPrice": 500.8},
    ]
    # HDFC: PUT /oapi/v1/orders/regular/{order_id}, quantity and order_type always sent.
    assert [r.body for r in hdfc.modifies(ids["hdfc"])] == [
        {"quantity": 5, "order_type": "LIMIT", "validity": "DAY", "price": 499.0, "trigger_price": 0.0,
         "disclosed_quantity": 0},
        {"quantity": 5, "order_type": "MARKET", "validity": "DAY", "price": 0.0, "trigger_price": 0.0,
         "disclosed_quantity": 0},
    ]
    assert terms == {"fyers": ("SL", 5, 501.0, 500.8), "hdfc": ("MARKET", 5, None, None)}
    assert (fyers.order(ids["fyers"]).body["type"], hdfc.order(ids["hdfc"]).body["order_type"]) == (4, "MARKET")

    assert (cancel["action"], cancel["status"], cancel["http_status"]) == ("cancel", "success", 200)
    assert {r["broker_id"]: r["order_id"] for r in cancel["results"]} == ids
    # Fyers: DELETE /orders/sync with {"id": ...}; HDFC: DELETE on the order's path, no body.
    assert [r.body for r in fyers.cancels(ids["fyers"])] == [{"id": ids["fyers"]}]
    assert [(r.raw_body, r.query.keys() == {"api_key"}) for r in hdfc.cancels(ids["hdfc"])] == [("", True)]
    assert (fyers.order(ids["fyers"]).status, hdfc.order(ids["hdfc"]).status) == (fy.CANCELLED, "Cancelled")


async def test_a_cancel_that_loses_the_race_with_a_fill_gets_the_brokers_refusal_and_tracking_shows_the_fill(
    desk_config: Config, fakes: Fakes,
) -> None:
    async with logged_in(desk_config) as (_, client):
        ref, ids = await place(client, "k-race", qty=10)
        for broker, fake in venues(fakes).items():
            fake.fill(ids[broker], 10, 500.5)  # filled at the exchange before the daemon has looked
        cancel = await client.call("cancel_order", order_ref=ref)
        views = await tracking_reaches(client, ref, both("filled"))

    results = {r["broker_id"]: r for r in cancel["results"]}
    assert (cancel["status"], cancel["http_status"]) == ("failed", 502)
    assert {b: r["error_code"] for b, r in results.items()} == both("ORDER_REJECTED")
    assert (results["fyers"]["broker_code"], results["fyers"]["broker_message"]) == ("-162", "Order already traded")
    assert results["hdfc"]["broker_code"] == "HTTP 422"
    assert {b: v["filled_qty"] for b, v in views.items()} == dict.fromkeys(BROKERS, 10)


async def test_under_the_kill_switch_a_cancel_goes_through_and_a_quantity_increase_never_reaches_a_broker(
    desk_config: Config, fakes: Fakes,
) -> None:
    fyers, hdfc = fakes
    async with logged_in(desk_config) as (_, client):
        ref, ids = await place(client, "k-halt", qty=10)
        await client.call("kill_switch", active=True, reason="desk halt")
        increase = await client.call("modify_order", order_ref=ref, qty=20)
        modifies_after_increase = {b: len(fake.modifies(ids[b])) for b, fake in venues(fakes).items()}
        decrease = await client.call("modify_order", order_ref=ref, qty=8)
        cancel = await client.call("cancel_order", order_ref=ref)
        await tracking_reaches(client, ref, both("cancelled"))
        blocked = await client.place("k-halt-new")

    assert (increase["error"]["code"], increase["error"]["http_status"]) == ("KILL_SWITCH_ACTIVE", 403)
    assert modifies_after_increase == dict.fromkeys(BROKERS, 0)
    assert decrease["status"] == "success"
    assert ([r.body["qty"] for r in fyers.modifies(ids["fyers"])],
            [r.body["quantity"] for r in hdfc.modifies(ids["hdfc"])]) == ([8], [8])
    assert cancel["status"] == "success"
    assert (len(fyers.cancels(ids["fyers"])), len(hdfc.cancels(ids["hdfc"]))) == (1, 1)
    assert blocked["error"]["code"] == "KILL_SWITCH_ACTIVE"
    assert (len(fyers.orders), len(hdfc.orders)) == (1, 1), "no new order reached a broker"


async def test_flatten_cancels_every_open_order_at_both_brokers_and_blocks_new_ones(
    desk_config: Config, fakes: Fakes,
) -> None:
    fyers, hdfc = fakes
    async with logged_in(desk_config) as (d, client):
        resting_ref, resting = await place(client, "k-resting", qty=10)
        partly_ref, partly = await place(client, "k-partly", qty=10)
        done_ref, done = await place(client, "k-done", qty=10)
        for broker, fake in venues(fakes).items():
            fake.fill(partly[broker], 3, 500.0)
            fake.fill(done[broker], 10, 500.0)
        await tracking_reaches(client, partly_ref, both("partially_filled"))
        await tracking_reaches(client, done_ref, both("filled"))

        reply = await client.call("kill_switch", active=True, reason="flatten all", flatten=True)
        blocked = await client.place("k-after-flatten")
        await tracking_reaches(client, resting_ref, both("cancelled"))
        partly_views = await tracking_reaches(client, partly_ref, both("cancelled"))
        (flattened,) = await audit_events(d, client, "kill_switch.flattened")

    assert reply["kill_switch"]["active"] is True
    assert {(r["order_ref"], r["broker_id"]): (r["status"], r["order_id"]) for r in reply["flatten"]} == {
        **{(resting_ref, b): ("success", resting[b]) for b in BROKERS},
        **{(partly_ref, b): ("success", partly[b]) for b in BROKERS},
    }, "a filled order is not open, so flatten leaves it alone"
    for broker, fake in venues(fakes).items():
        assert [len(fake.cancels(ids[broker])) for ids in (resting, partly, done)] == [1, 1, 0], broker
    assert {b: v["filled_qty"] for b, v in partly_views.items()} == dict.fromkeys(BROKERS, 3)
    assert blocked["error"]["code"] == "KILL_SWITCH_ACTIVE"
    assert (len(fyers.orders), len(hdfc.orders)) == (3, 3), "no new order reached a broker"
    assert (flattened["data"]["orders"], flattened["data"]["cancelled"]) == (4, 4)


async def test_isolating_one_broker_flattens_only_there_and_new_orders_go_around_it(
    desk_config: Config, fakes: Fakes,
) -> None:
    fyers, hdfc = fakes
    async with logged_in(desk_config) as (_, client):
        before_ref, before = await place(client, "k-before-isolation")
        isolated = await client.call("kill_switch", active=True, scope="hdfc", reason="hdfc misbehaving",
                                     flatten=True)
        views = await tracking_reaches(client, before_ref, {"fyers": "open", "hdfc": "cancelled"})
        around = await client.place("k-around")
        health = (await client.call("health"))["health"]

    assert isolated["kill_switch"]["active"] is False
    assert isolated["kill_switch"]["isolated"]["hdfc"]["reason"] == "hdfc misbehaving"
    assert [(r["broker_id"], r["status"]) for r in isolated["flatten"]] == [("hdfc", "success")]
    assert (len(fyers.cancels(before["fyers"])), len(hdfc.cancels(before["hdfc"]))) == (0, 1)
    assert views["fyers"]["order_id"] == before["fyers"]

    results = {r["broker_id"]: r for r in around["results"]}
    assert around["status"] == "partial_success"
    assert results["fyers"]["status"] == "success" and results["fyers"]["order_id"] == fyers.orders[-1].id
    assert (results["hdfc"]["error_code"], results["hdfc"]["attempts"]) == ("KILL_SWITCH_ACTIVE", 0)
    assert (len(fyers.orders), len(hdfc.orders)) == (2, 1)
    assert len(hdfc.calls("POST", "/orders/regular")) == 1, "no request reached the isolated broker"
    assert {b["broker_id"]: b["breaker"] for b in health["brokers"]} == {"fyers": "closed", "hdfc": "isolated"}


async def test_tracking_resumes_after_a_restart_for_an_order_still_open(desk_config: Config, fakes: Fakes) -> None:
    async with logged_in(desk_config) as (_, client):
        ref, ids = await place(client, "k-restart", qty=10)
        done_ref, done = await place(client, "k-done-before-restart")
        for broker, fake in venues(fakes).items():
            fake.fill(done[broker], 1, 500.0)
        await tracking_reaches(client, done_ref, both("filled"))
        await looked_up(fakes, ids)
    # While no daemon runs, the exchange fills the open order; the fakes keep their books.
    for broker, fake in venues(fakes).items():
        fake.fill(ids[broker], 10, 500.5)
    stopped_at = lookups(fakes, ids)
    done_lookups = lookups(fakes, done)

    async with running_daemon(desk_config) as d:  # the same state dir: sessions and orders are stored there
        client = d.client()
        sessions = {b["broker_id"]: b["session"] for b in (await client.call("health"))["health"]["brokers"]}
        views = await tracking_reaches(client, ref, both("filled"))
        changes = await updates(d, client, ref)

    assert sessions == both("valid"), "the stored sessions are picked up; no new login"
    assert {b: (v["filled_qty"], v["average_price"]) for b, v in views.items()} == both_pairs(10, 500.5)
    assert all(lookups(fakes, ids)[b] > stopped_at[b] for b in BROKERS)
    assert sorted(changes) == [("fyers", "open", "filled"), ("hdfc", "open", "filled")]
    assert lookups(fakes, done) == done_lookups, "an order terminal before the restart is not looked up again"


async def test_with_more_open_orders_than_the_rate_limit_lets_a_pass_poll_the_newest_are_followed_too(
    state_dir: Path, tmp_path: Path, fakes: Fakes,
) -> None:
    # Status polls may use half of each broker's 10 requests a second: 5. With 8 orders due
    # every half second, a pass reaches only some of them; the ones left out must go first
    # next time, or the newest orders (the likeliest to fill) would never be looked up
    # while older ones rest.
    every_half_second = {"poll_interval_s": 0.5, "fast_poll_s": 0.5}
    config = real_brokers_config(state_dir, tmp_path / "secrets", *fakes, tracking=every_half_second)
    async with logged_in(config) as (_, client):
        placed = [await place(client, f"k-many-{i}") for i in range(8)]
        for _, ids in placed[-3:]:
            for broker, fake in venues(fakes).items():
                fake.fill(ids[broker], 1, 500.5)
        for ref, _ in placed[-3:]:
            await tracking_reaches(client, ref, both("filled"))
        resting = [await tracking_reaches(client, ref, both("open")) for ref, _ in placed[:-3]]
    assert len(resting) == 5
