"""``ordo get``, ``orders``, ``kill``, ``health``, ``ping``: tables, JSON lines, exit codes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from ordod.config import Config
from tests.cli.runner import LIMIT_ORDER, against, ordo
from tests.harness import make_config, running_daemon


async def test_get_by_ref_and_by_key_and_a_missing_order(config: Config) -> None:
    async with running_daemon(config) as d:
        placed = (await d.client().place("cli-get"))["order_ref"]
        by_ref = await ordo(*against(d), "get", placed)
        by_key = await ordo(*against(d), "--json", "get", "--key", "cli-get")
        missing = await ordo(*against(d), "get", "ORD-nope")
        neither = await ordo(*against(d), "get")
    assert by_ref.code == 0
    assert by_ref.stdout.splitlines()[0].startswith(f"{placed}  success  key=cli-get")
    assert "BUY 1 NSE:SBIN-EQ LIMIT @ 500.5" in by_ref.stdout
    assert by_key.json_lines()[0]["order"]["order_ref"] == placed
    assert missing.code == 1 and "NOT_FOUND" in missing.stderr
    assert neither.code == 64


async def test_orders_lists_newest_first_with_per_broker_status(config: Config) -> None:
    async with running_daemon(config) as d:
        first = (await d.client().place("cli-list-1"))["order_ref"]
        second = (await d.client().place("cli-list-2"))["order_ref"]
        table = await ordo(*against(d), "orders", "--limit", "5")
        lines = await ordo(*against(d), "--json", "orders", "--limit", "1")
        bad = await ordo(*against(d), "orders", "--limit", "0")
    rows = table.stdout.splitlines()
    assert rows[0].split()[:3] == ["ORDER", "REF", "CREATED"]
    assert [r.split()[0] for r in rows[1:]] == [second, first]
    assert "fyers:success hdfc:success" in rows[1]
    assert [o["order_ref"] for o in lines.json_lines()[0]["orders"]] == [second]
    assert bad.code == 64


async def test_kill_on_status_off_and_health_follows_it(config: Config) -> None:
    async with running_daemon(config) as d:
        on = await ordo(*against(d), "kill", "on", "--reason", "exchange halt")
        status = await ordo(*against(d), "--json", "kill", "status")
        degraded = await ordo(*against(d), "health")
        refused = await ordo(*against(d), "place", *LIMIT_ORDER)
        off = await ordo(*against(d), "kill", "off", "--reason", "resumed")
        healthy = await ordo(*against(d), "--json", "health")
        no_reason = await ordo(*against(d), "kill", "on")
    assert on.code == 0 and on.stdout.startswith("KILL SWITCH ON: exchange halt (set by default at ")
    assert status.json_lines()[0]["kill_switch"]["active"] is True
    assert degraded.code == 2 and "status=degraded" in degraded.stdout and "KILL SWITCH ON" in degraded.stdout
    assert refused.code == 1
    assert off.code == 0 and off.stdout.startswith("kill switch off")
    assert healthy.code == 0 and healthy.json_lines()[0]["health"]["status"] == "ok"
    assert no_reason.code == 64 and "--reason" in no_reason.stderr


async def test_health_table_has_a_row_per_broker(config: Config) -> None:
    async with running_daemon(config) as d:
        run = await ordo(*against(d), "health")
    lines = run.stdout.splitlines()
    assert lines[0].startswith("ordod ") and "status=ok" in lines[0]
    assert lines[1] == "kill switch off"
    assert [line.split()[:5] for line in lines[3:]] == [
        ["fyers", "paper", "yes", "valid", "closed"], ["hdfc", "paper", "yes", "valid", "closed"]]


async def test_ping_needs_no_token_and_a_wrong_token_is_refused(config: Config, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token\n")
    async with running_daemon(config) as d:
        ping = await ordo("--endpoint", d.daemon.rep_endpoint, "--token-file", str(wrong), "ping")
        health = await ordo("--endpoint", d.daemon.rep_endpoint, "--token-file", str(wrong), "health")
    assert ping.code == 0 and ping.stdout.startswith("pong from ordod ")
    assert health.code == 1 and "UNAUTHORIZED" in health.stderr


async def test_the_ordo_program_runs_as_a_process(config: Config) -> None:
    async with running_daemon(config) as d:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ordo_cli", *against(d), "--json", "ping",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr
    assert b'"pong":true' in stdout


async def test_unknown_commands_are_usage_errors_and_help_exits_0() -> None:
    unknown = await ordo("teleport")
    helped = await ordo("place", "--help")
    assert unknown.code == 64 and "invalid choice: 'teleport'" in unknown.stderr
    assert helped.code == 0 and "never placed twice" in helped.stdout


async def test_unreadable_config_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[daemon\n")
    missing = await ordo("--config", str(tmp_path / "nope.toml"), "ping")
    invalid = await ordo("--config", str(broken), "ping")
    assert missing.code == invalid.code == 64
    assert "cannot use --config" in missing.stderr and "cannot use --config" in invalid.stderr


async def test_partial_health_is_2_when_a_breaker_is_open(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"hdfc": {"reject_code": "BROKER_UNAVAILABLE"}},
                         breaker={"failure_threshold": 1, "reset_timeout_s": 600}, retry={"max_attempts": 1})
    async with running_daemon(config) as d:
        await d.client().place("cli-open-breaker")
        run = await ordo(*against(d), "health")
    assert run.code == 2
    assert [line.split()[4] for line in run.stdout.splitlines()[3:]] == ["closed", "open"]


def test_tui_and_up_still_dispatch_to_the_terminal_ui(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ordo_cli.up
    import ordo_tui.app
    from ordo_cli.main import main

    seen: list[object] = []
    monkeypatch.setattr(ordo_tui.app, "run_tui", lambda settings: seen.append(settings) or 0)
    monkeypatch.setattr(ordo_cli.up, "run_local", lambda state_dir, config: seen.append((state_dir, config)) or 0)
    assert main(["--endpoint", "tcp://127.0.0.1:7001", "--token-file", str(tmp_path / "t"), "tui"]) == 0
    assert main(["up", "--state-dir", str(tmp_path / "s")]) == 0
    [settings, local] = seen
    assert getattr(settings, "endpoint", None) == "tcp://127.0.0.1:7001"
    assert local == (tmp_path / "s", None)


async def test_kill_on_with_flatten_waits_for_every_cancel_past_the_plain_timeout(state_dir: Path) -> None:
    # Brokers answer in 0.3 s and a flatten keeps a few cancels in flight per broker: twelve open
    # orders take about a second to cancel, far past this command's --timeout of 0.2 s.
    config = make_config(state_dir, brokers={"fyers": {"latency_ms": 300}, "hdfc": {"latency_ms": 300}})
    async with running_daemon(config) as d:
        clients = [d.client() for _ in range(12)]
        placed = await asyncio.gather(*(c.place(f"cli-flat-{i}") for i, c in enumerate(clients)))
        assert all(p["ok"] and p["status"] == "success" for p in placed)
        flat = await ordo(*against(d), "--timeout", "0.2", "--json", "kill", "on", "--reason", "flat", "--flatten")
    assert flat.code == 0, flat.stderr
    results = flat.json_lines()[0]["flatten"]
    assert len(results) == 24 and all(r["status"] == "success" for r in results)
