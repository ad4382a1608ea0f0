"""What a reload applies, what it leaves for a restart, and that a running daemon obeys it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ordod.config import Config
from ordod.reload import plan_reload
from tests.harness import ORDER, make_config, running_daemon


def test_limits_breaker_retry_and_retention_are_applied(state_dir: Path) -> None:
    old = make_config(state_dir)
    new = make_config(state_dir, limits={"max_qty": 7}, retry={"max_attempts": 5},
                      breaker={"reset_timeout_s": 60}, audit={"retention_days": 30})
    plan = plan_reload(old, new)
    assert plan.applied == {
        "limits.max_qty": (100_000, 7),
        "retry.max_attempts": (3, 5),
        "breaker.reset_timeout_s": (30.0, 60.0),
        "audit.retention_days": (0.0, 30.0),
    }
    assert plan.restart_required == []
    assert plan.effective == new


def test_per_broker_overrides_are_applied(state_dir: Path) -> None:
    old = make_config(state_dir)
    new = make_config(state_dir, brokers={"hdfc": {"retry": {"max_attempts": 1}}})
    plan = plan_reload(old, new)
    assert plan.effective.retry_for("hdfc").max_attempts == 1
    assert plan.effective.retry_for("fyers").max_attempts == 3
    assert plan.applied["brokers.hdfc.retry.max_attempts"] == (None, 1)
    assert plan.restart_required == []


def test_endpoints_brokers_and_adapter_knobs_wait_for_a_restart(state_dir: Path) -> None:
    old = make_config(state_dir)
    new = make_config(
        state_dir,
        daemon={"pub_endpoint": "tcp://127.0.0.1:9999"},
        brokers={"hdfc": {"latency_ms": 50}, "zerodha": {}},
        limits={"max_notional": 1000.0},
    )
    plan = plan_reload(old, new)
    assert plan.applied == {"limits.max_notional": (50_000_000.0, 1000.0)}
    new_broker = [key for key in plan.restart_required if key.startswith("brokers.zerodha.")]
    assert "brokers.zerodha.adapter" in new_broker and "brokers.zerodha.enabled" in new_broker
    assert [key for key in plan.restart_required if key not in new_broker] == [
        "brokers.hdfc.latency_ms", "daemon.pub_endpoint"]
    # The running daemon keeps what it was started with for those.
    assert plan.effective.daemon.pub_endpoint == old.daemon.pub_endpoint
    assert set(plan.effective.brokers) == {"fyers", "hdfc"}
    assert plan.effective.brokers["hdfc"].latency_ms == 0


def test_an_identical_file_changes_nothing(config: Config) -> None:
    plan = plan_reload(config, config)
    assert not plan.changed and plan.effective == config


async def test_a_reloaded_daemon_enforces_the_new_limit_and_retry_count(state_dir: Path) -> None:
    # A high breaker threshold: these rate-limit failures must not open it mid-test.
    config = make_config(state_dir, brokers={"hdfc": {"reject_code": "RATE_LIMIT_EXCEEDED"}},
                         retry={"max_attempts": 2}, breaker={"failure_threshold": 100})
    async with running_daemon(config) as d:
        client = d.client()
        before = await client.place("k-before", order={**ORDER, "qty": 500})
        reload_to: dict[str, Any] = {"limits": {"max_qty": 100}, "retry": {"max_attempts": 4},
                                     "breaker": {"failure_threshold": 100}}
        await d.daemon.reload(make_config(state_dir, brokers={"hdfc": {"reject_code": "RATE_LIMIT_EXCEEDED"}},
                                          **reload_to))
        refused = await client.place("k-after-limit", order={**ORDER, "qty": 500})
        retried = await client.place("k-after-retry")
    assert before["ok"] is True
    assert {r["broker_id"]: r["attempts"] for r in before["results"]}["hdfc"] == 2
    assert refused["error"]["code"] == "VALIDATION_ERROR"
    assert {r["broker_id"]: r["attempts"] for r in retried["results"]}["hdfc"] == 4
