"""The scripts in examples/ run as their own processes against a real daemon, as a script
author would run them, and use nothing but pyzmq and the standard library."""

from __future__ import annotations

import ast
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ordo_shared.models import Event
from ordod.config import Config
from tests.harness import RunningDaemon, make_config, running_daemon

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLACE = ["--symbol", "NSE:SBIN-EQ", "--side", "BUY", "--qty", "1", "--type", "LIMIT", "--price", "500.5"]


async def run_example(name: str, d: RunningDaemon, *args: str) -> tuple[int, str, str]:
    proc = await start_example(name, d, *args)
    async with asyncio.timeout(30):
        stdout, stderr = await proc.communicate()
    return proc.returncode or 0, stdout.decode(), stderr.decode()


async def start_example(name: str, d: RunningDaemon, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / name), "--endpoint", d.daemon.rep_endpoint,
        "--token-file", str(d.daemon.config.token_file), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


def test_examples_import_only_pyzmq_and_the_standard_library() -> None:
    for script in EXAMPLES.glob("*.py"):
        tree = ast.parse(script.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert imported - {"zmq"} <= sys.stdlib_module_names, (script.name, imported)


async def test_place_order_example_places_once_and_a_rerun_with_the_key_is_a_replay(config: Config) -> None:
    async with running_daemon(config) as d:
        first = await run_example("place_order.py", d, *PLACE, "--key", "example-1")
        again = await run_example("place_order.py", d, *PLACE, "--key", "example-1")
        book = len(d.paper("fyers").book)
    assert first[0] == 0, first[2]
    reply, replay = json.loads(first[1]), json.loads(again[1])
    assert (reply["status"], reply["replayed"]) == ("success", False)
    assert (again[0], replay["replayed"], replay["order_ref"]) == (0, True, reply["order_ref"])
    assert book == 1


async def test_place_order_example_retries_a_timeout_with_the_same_key(state_dir: Path) -> None:
    slow = make_config(state_dir, brokers={"fyers": {"latency_ms": 1200}, "hdfc": {"latency_ms": 1200}})
    async with running_daemon(slow) as d:
        code, stdout, stderr = await run_example("place_order.py", d, *PLACE, "--key", "example-slow",
                                                 "--timeout", "0.4", "--attempts", "20")
        orders = (await d.client().call("list_orders"))["orders"]
        books = (len(d.paper("fyers").book), len(d.paper("hdfc").book))
    assert code == 0, stderr
    assert "no reply within 0.4s; retrying with the same key" in stderr
    assert json.loads(stdout)["idempotency_key"] == "example-slow"
    assert [o["idempotency_key"] for o in orders] == ["example-slow"]
    assert books == (1, 1)


async def test_place_order_example_reports_a_refusal_with_exit_1(config: Config) -> None:
    async with running_daemon(config) as d:
        await d.client().call("kill_switch", active=True, reason="example")
        code, stdout, stderr = await run_example("place_order.py", d, *PLACE)
    assert code == 1 and json.loads(stdout)["error"]["code"] == "KILL_SWITCH_ACTIVE"
    assert "refused: KILL_SWITCH_ACTIVE" in stderr


async def test_audit_follow_example_prints_the_backlog_in_order(config: Config) -> None:
    async with running_daemon(config) as d:
        await d.client().place("example-backlog")
        await d.daemon.audit.flush()
        last = d.daemon.audit.last_seq
        code, stdout, stderr = await run_example("audit_follow.py", d, "--pub-endpoint", d.daemon.pub_endpoint,
                                                 "--since", "0", "--count", str(last))
    assert code == 0, stderr
    assert [json.loads(line)["seq"] for line in stdout.splitlines()] == list(range(1, last + 1))


def dropping(publish: Callable[[Event], None], drop: set[int]) -> Callable[[Event], None]:
    """The daemon's publisher, losing the events whose seq is in ``drop`` (as a network or a
    full subscriber queue would)."""

    def lossy(event: Event) -> None:
        if event.seq not in drop:
            publish(event)

    return lossy


async def test_audit_follow_example_fills_a_gap_in_seq_from_audit_replay(config: Config) -> None:
    async with running_daemon(config) as d:
        proc = await start_example("audit_follow.py", d, "--pub-endpoint", d.daemon.pub_endpoint)
        assert proc.stdout is not None
        seen: list[dict[str, Any]] = []

        async def read_until(predicate: Callable[[], bool]) -> None:
            while not predicate():
                line = await proc.stdout.readline()  # type: ignore[union-attr]
                assert line, "audit_follow.py exited early"
                seen.append(json.loads(line))

        try:
            async with asyncio.timeout(20):
                # Live only: wait until its subscription has taken effect.
                order = 0
                while not seen:
                    order += 1
                    await d.client().place(f"example-warmup-{order}")
                    try:
                        async with asyncio.timeout(0.3):
                            await read_until(lambda: bool(seen))
                    except TimeoutError:
                        continue
                await d.daemon.audit.flush()
                publish = d.daemon.audit._publish
                lost = set(range(d.daemon.audit.last_seq + 1, d.daemon.audit.last_seq + 5))
                d.daemon.audit._publish = dropping(publish, lost)
                await d.client().place("example-lost")  # its 4 events never reach the subscriber
                await d.daemon.audit.flush()  # all 4 stored (and so "published") before the fault ends
                d.daemon.audit._publish = publish
                await d.client().place("example-after")
                await d.daemon.audit.flush()
                final = d.daemon.audit.last_seq
                await read_until(lambda: seen[-1]["seq"] == final)
        finally:
            proc.terminate()
            _, stderr = await proc.communicate()

    seqs = [e["seq"] for e in seen]
    assert seqs == list(range(seqs[0], final + 1)), "every event once, in seq order"
    assert lost <= set(seqs)
    assert f"gap: events {min(lost)}..{max(lost)} missed; filling with audit_replay" in stderr.decode()
    lost_events = [e for e in seen if e["seq"] in lost]
    assert {e["type"] for e in lost_events} == {"order.received", "broker.result", "order.completed"}
