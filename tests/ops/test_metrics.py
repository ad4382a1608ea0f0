"""GET /metrics, scraped over real HTTP from a small aiohttp app (the lead mounts the same
route on the daemon's HTTP door), moves as orders, refusals, retries and breakers happen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from ordod.config import Config
from ordod.metrics import OrdoMetrics, register_metrics_route
from tests.harness import ORDER, make_config, running_daemon

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@asynccontextmanager
async def metrics_server(registry: CollectorRegistry) -> AsyncIterator[str]:
    app = web.Application()
    register_metrics_route(app, registry)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        await runner.cleanup()


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_order_outcomes_latency_and_state_gauges_move_after_orders(config: Config) -> None:
    async with running_daemon(config) as d, metrics_server(d.daemon.metrics.registry) as url:
        client = d.client()
        before = await scrape(url)
        await client.place("k-m-1")
        await client.place("k-m-2")
        after = await scrape(url)
        health = (await client.call("health"))["health"]

    assert value(before, "ordo_orders_total", status="success") == 0
    assert value(after, "ordo_orders_total", status="success") == 2
    for broker in ("fyers", "hdfc"):
        assert value(after, "ordo_broker_results_total", broker=broker, status="success", error_code="") == 2
        assert value(after, "ordo_broker_call_duration_seconds_count", broker=broker, outcome="ok") == 2
        assert value(after, "ordo_breaker_state", broker=broker, state="closed") == 1
        assert value(after, "ordo_breaker_state", broker=broker, state="open") == 0
    assert value(after, "ordo_order_duration_seconds_count") == 2
    assert value(after, "ordo_audit_last_seq") > value(before, "ordo_audit_last_seq")
    # Health was asked after the scrape: the seq can only have grown since.
    assert value(after, "ordo_audit_last_seq") <= health["audit_seq"]
    assert value(after, "ordo_orders_in_flight") == 0
    assert value(after, "ordo_kill_switch_active") == 0


async def test_replays_conflicts_and_kill_switch_refusals_are_counted(config: Config) -> None:
    async with running_daemon(config) as d, metrics_server(d.daemon.metrics.registry) as url:
        client = d.client()
        await client.place("k-dup")
        await client.place("k-dup")
        await client.place("k-dup", order={**ORDER, "qty": 3})
        await client.call("kill_switch", active=True, reason="metrics test")
        await client.call("kill_switch", active=True, reason="isolate one", scope="hdfc")
        await client.place("k-killed")
        samples = await scrape(url)

    assert value(samples, "ordo_idempotency_replays_total") == 1
    assert value(samples, "ordo_idempotency_conflicts_total", code="IDEMPOTENCY_KEY_REUSED") == 1
    assert value(samples, "ordo_order_refusals_total", code="KILL_SWITCH_ACTIVE") == 1
    assert value(samples, "ordo_kill_switch_active") == 1
    assert value(samples, "ordo_kill_switch_changes_total", scope="global", active="true") == 1
    assert value(samples, "ordo_kill_switch_changes_total", scope="hdfc", active="true") == 1
    assert value(samples, "ordo_broker_isolated", broker="hdfc") == 1
    assert value(samples, "ordo_broker_isolated", broker="fyers") == 0
    assert value(samples, "ordo_orders_total", status="success") == 1  # the replay is not a second order


async def test_retries_and_breaker_transitions_are_counted(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"hdfc": {"reject_code": "BROKER_UNAVAILABLE"}},
                         breaker={"failure_threshold": 2, "reset_timeout_s": 600}, retry={"max_attempts": 1})
    limited = make_config(state_dir / "b", brokers={"hdfc": {"reject_code": "RATE_LIMIT_EXCEEDED"}},
                          retry={"max_attempts": 3}, breaker={"failure_threshold": 100})
    async with running_daemon(config) as d, metrics_server(d.daemon.metrics.registry) as url:
        for i in range(3):
            await d.client().place(f"k-brk-{i}")
        broken = await scrape(url)
    async with running_daemon(limited) as d, metrics_server(d.daemon.metrics.registry) as url:
        await d.client().place("k-limited")
        retried = await scrape(url)

    assert value(broken, "ordo_breaker_state", broker="hdfc", state="open") == 1
    assert value(broken, "ordo_breaker_transitions_total", broker="hdfc", from_state="closed", to_state="open") == 1
    assert value(broken, "ordo_broker_results_total", broker="hdfc", status="skipped", error_code="CIRCUIT_OPEN") == 1
    assert value(broken, "ordo_broker_call_duration_seconds_count", broker="hdfc", outcome="BROKER_UNAVAILABLE") == 2
    assert value(broken, "ordo_orders_total", status="partial_success") == 3
    assert value(retried, "ordo_broker_retries_total", broker="hdfc") == 2
    assert value(retried, "ordo_broker_retries_total", broker="fyers") == 0


async def test_each_daemon_owns_its_registry_and_the_global_one_stays_clean(tmp_path: Path) -> None:
    async with running_daemon(make_config(tmp_path / "a")) as a, running_daemon(make_config(tmp_path / "b")) as b:
        await a.client().place("k-only-a")
        async with (metrics_server(a.daemon.metrics.registry) as url_a,
                    metrics_server(b.daemon.metrics.registry) as url_b):
            in_a, in_b = await scrape(url_a), await scrape(url_b)
    assert value(in_a, "ordo_orders_total", status="success") == 1
    assert value(in_b, "ordo_orders_total", status="success") == 0
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("ordo_")]


async def test_openmetrics_is_served_to_a_scraper_that_asks_for_it() -> None:
    metrics = OrdoMetrics()
    metrics.rate_limiter_waited("fyers", 0.2)
    async with metrics_server(metrics.registry) as url, aiohttp.ClientSession() as session:
        headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
        async with session.get(url, headers=headers) as response:
            text = await response.text()
            content_type = response.headers["Content-Type"]
    assert content_type.startswith("application/openmetrics-text")
    assert 'ordo_rate_limiter_wait_seconds_count{broker="fyers"} 1' in text
    assert text.rstrip().endswith("# EOF")
