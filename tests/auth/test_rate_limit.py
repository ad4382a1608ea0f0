"""Per-token order rate limit: a token bucket per token name, answered with RATE_LIMITED 429
before the order reaches the idempotency store or a broker. Time is a hand-moved clock."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from ordo_shared.errors import RateLimited
from ordod.clock import ManualClock
from ordod.config import RateLimitConfig
from ordod.daemon import Daemon
from ordod.rate_limit import OrderRateLimiter
from tests.harness import ORDER, make_config, named_tokens, running_daemon
from tests.http.client import api_client


def test_bucket_allows_a_burst_then_the_sustained_rate() -> None:
    clock = ManualClock()
    limiter = OrderRateLimiter({"tom": RateLimitConfig(orders_per_s=2, burst=3)}, RateLimitConfig(), clock)
    for _ in range(3):
        limiter.take("tom")
    with pytest.raises(RateLimited) as refused:
        limiter.take("tom")
    assert refused.value.retry_after_s == pytest.approx(0.5)
    assert refused.value.http_status == 429
    clock.advance(0.5)
    limiter.take("tom")
    clock.advance(100)  # a long quiet spell refills to the burst, not beyond
    for _ in range(3):
        limiter.take("tom")
    with pytest.raises(RateLimited):
        limiter.take("tom")
    for _ in range(1000):
        limiter.take("someone-unlimited")  # the default here is orders_per_s = 0: no limit
    assert limiter.refused == 2


def test_each_token_has_its_own_bucket() -> None:
    clock = ManualClock()
    limit = RateLimitConfig(orders_per_s=1, burst=1)
    limiter = OrderRateLimiter({}, limit, clock)
    limiter.take("a")
    limiter.take("b")
    with pytest.raises(RateLimited):
        limiter.take("a")


async def test_limited_orders_get_429_over_both_doors_and_never_reach_the_store(tmp_path: Path) -> None:
    tables, tokens = named_tokens(tmp_path / "tokens", {"tom": "trader", "vera": "viewer"})
    tables["tom"]["rate_limit"] = {"orders_per_s": 1.0, "burst": 2}
    config = make_config(tmp_path / "state", http=True, auth={"tokens": tables, "rate_limit": {"orders_per_s": 1.0,
                                                                                                 "burst": 1}})
    clock = ManualClock()

    def use_clock(daemon: Daemon) -> None:
        daemon.clock = clock

    async with running_daemon(config, use_clock) as d, aiohttp.ClientSession() as session:
        tom_zmq = d.client(token=tokens["tom"])
        tom_http = await api_client(session, d, tokens["tom"])
        first = await tom_zmq.place("rl-1")
        second = await tom_http.place("rl-2", ORDER)
        over_zmq = await tom_zmq.place("rl-3")
        over_http = await tom_http.place("rl-4", ORDER)
        replay = await tom_zmq.place("rl-1")  # even a replay counts: the limit comes first
        health = await tom_zmq.call("health")  # reads are not limited
        viewer = await d.client(token=tokens["vera"]).place("rl-viewer")  # 403 comes before 429
        default_first = await d.client().place("rl-default-1")  # [auth.rate_limit] for the rest
        default_second = await d.client().place("rl-default-2")
        stored = await d.client().call("get_order", idempotency_key="rl-3")
        clock.advance(1.0)
        after_a_second = await tom_zmq.place("rl-3")
        await d.daemon.audit.flush()
        events = (await d.client().call("audit_replay", limit=1000))["events"]
    assert first["status"] == "success" and second.status == 200
    assert (over_zmq["error"]["code"], over_zmq["error"]["http_status"]) == ("RATE_LIMITED", 429)
    assert over_zmq["error"]["retry_after_s"] == pytest.approx(1.0)
    assert (over_http.status, over_http.code, over_http.headers["Retry-After"]) == (429, "RATE_LIMITED", "1")
    assert replay["error"]["code"] == "RATE_LIMITED"
    assert health["ok"] is True
    assert viewer["error"]["code"] == "FORBIDDEN"
    assert default_first["status"] == "success" and default_second["error"]["code"] == "RATE_LIMITED"
    assert stored["error"]["code"] == "NOT_FOUND"
    assert after_a_second["status"] == "success"
    assert {e["data"]["idempotency_key"] for e in events if e["type"] == "order.received"} == {
        "rl-1", "rl-2", "rl-default-1", "rl-3"}
    assert len(d.paper("fyers").book) == 4
