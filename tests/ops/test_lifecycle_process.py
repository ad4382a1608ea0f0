"""A real ordod process: SIGTERM drains in-flight orders, SIGHUP reloads, the state lock holds."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import zmq.asyncio

from tests.harness import ORDER, RawClient
from tests.processes import DaemonProcess, daemon_config, write_config


@pytest.fixture
async def ctx() -> AsyncIterator[zmq.asyncio.Context]:
    context = zmq.asyncio.Context()
    yield context
    context.destroy(linger=0)


def token_of(state_dir: Path) -> str:
    return (state_dir / "token").read_text().strip()


def stored(state_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{state_dir / 'ordo.db'}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


async def test_sigterm_lets_the_order_in_flight_finish_refuses_new_ones_and_exits_0(
    tmp_path: Path, ctx: zmq.asyncio.Context
) -> None:
    state_dir = tmp_path / "state"
    slow = {"latency_ms": 1500}
    config = daemon_config(state_dir, daemon={"shutdown_grace_s": 10}, brokers={"fyers": slow, "hdfc": slow})
    daemon = await DaemonProcess(write_config(tmp_path / "ordod.toml", config)).start()
    trader = RawClient(ctx, daemon.rep, token_of(state_dir))
    latecomer = RawClient(ctx, daemon.rep, token_of(state_dir))
    try:
        in_flight = asyncio.create_task(trader.place("k-in-flight", timeout_s=15))
        # Polled over the wire: the daemon is another process, there is no event to await.
        while (await latecomer.call("health"))["health"]["in_flight_orders"] == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

        daemon.send(signal.SIGTERM)
        await daemon.wait_for("signal received")
        refused = await latecomer.place("k-too-late")
        reply = await in_flight
        code = await daemon.wait()
    finally:
        trader.close()
        latecomer.close()
        await daemon.stop()

    assert (refused["ok"], refused["error"]["code"], refused["error"]["http_status"]) == (False, "SHUTTING_DOWN", 503)
    assert reply["ok"] is True and reply["status"] == "success"
    assert {r["broker_id"]: r["status"] for r in reply["results"]} == {"fyers": "success", "hdfc": "success"}
    assert code == 0, daemon.output

    # Durable: the answer the trader got is the one on disk, and the log closes cleanly after it.
    [(state, reply_json)] = stored(
        state_dir, "SELECT state, reply_json FROM orders WHERE idempotency_key = 'k-in-flight'")
    assert state == "completed" and json.loads(str(reply_json))["order_ref"] == reply["order_ref"]
    assert stored(state_dir, "SELECT COUNT(*) FROM orders WHERE idempotency_key = 'k-too-late'") == [(0,)]
    types = [t for (t,) in stored(state_dir, "SELECT type FROM audit ORDER BY seq")]
    assert types.index("order.completed") < types.index("daemon.stopped") == len(types) - 1


async def test_sighup_applies_new_limits_reports_restart_only_keys_and_survives_a_bad_file(
    tmp_path: Path, ctx: zmq.asyncio.Context
) -> None:
    state_dir = tmp_path / "state"
    config = tmp_path / "ordod.toml"
    write_config(config, daemon_config(state_dir, limits={"max_qty": 100}))
    daemon = await DaemonProcess(config).start()
    client = RawClient(ctx, daemon.rep, token_of(state_dir))
    big = {**ORDER, "qty": 150}
    try:
        before = await client.place("k-big-1", order=big)

        write_config(config, daemon_config(state_dir, daemon={"rep_endpoint": "tcp://127.0.0.1:7999"},
                                           limits={"max_qty": 1000}, breaker={"failure_threshold": 9}))
        daemon.send(signal.SIGHUP)
        await daemon.wait_for("config reloaded")
        after = await client.place("k-big-2", order=big)  # the old endpoint still serves

        config.write_text("[limits]\nmax_qty = -1\n")
        daemon.send(signal.SIGHUP)
        await daemon.wait_for("config reload failed")
        still = await client.place("k-big-3", order=big)
        events = (await client.call("audit_replay", since=0, limit=1000))["events"]
    finally:
        client.close()
        assert await daemon.stop() == 0, daemon.output

    assert before["error"]["code"] == "VALIDATION_ERROR" and "max_qty" in before["error"]["message"]
    assert after["ok"] is True and after["status"] == "success"
    assert still["ok"] is True, "a config that does not validate must leave the running one in force"
    [reloaded] = [e["data"] for e in events if e["type"] == "config.reloaded"]
    assert reloaded["applied"] == {
        "limits.max_qty": {"old": 100, "new": 1000},
        "breaker.failure_threshold": {"old": 5, "new": 9},
    }
    assert reloaded["restart_required"] == ["daemon.rep_endpoint"]
    [failed] = [e["data"] for e in events if e["type"] == "config.reload_failed"]
    assert "limits.max_qty" in failed["error"]


async def test_a_second_ordod_on_the_same_state_dir_exits_75_and_the_first_keeps_serving(
    tmp_path: Path, ctx: zmq.asyncio.Context
) -> None:
    state_dir = tmp_path / "state"
    config = write_config(tmp_path / "ordod.toml", daemon_config(state_dir))
    first = await DaemonProcess(config).start()
    try:
        second = await DaemonProcess(config).spawn()
        assert await second.wait() == 75
        assert f"another ordod is already running on state directory {state_dir}" in second.output
        client = RawClient(ctx, first.rep, token_of(state_dir))
        reply = await client.place("k-first-still-serves")
        client.close()
        assert reply["ok"] is True
    finally:
        assert await first.stop() == 0, first.output
    # The lock dies with its holder: the next daemon starts.
    third = await DaemonProcess(config).start()
    assert await third.stop() == 0, third.output


async def test_a_config_that_does_not_validate_exits_78_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "ordod.toml"
    config.write_text('[daemon]\nstate_dir = "%s"\n[retry]\nmax_atempts = 3\n' % (tmp_path / "state"))
    daemon = await DaemonProcess(config).spawn()
    assert await daemon.wait() == 78
    assert "retry.max_atempts" in daemon.output


async def test_check_config_validates_without_starting(tmp_path: Path) -> None:
    good = write_config(tmp_path / "good.toml", daemon_config(tmp_path / "state"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmax_qty = 0\n")
    ok = await DaemonProcess(good, "--check-config").spawn()
    refused = await DaemonProcess(bad, "--check-config").spawn()
    assert await ok.wait() == 0
    assert await refused.wait() == 78 and "limits.max_qty" in refused.output
    assert not (tmp_path / "state").exists(), "checking a config must not create or lock anything"
