"""``ordo audit tail``: the last events, everything after a seq, following live, and
archived events reported instead of skipped silently."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ordod.clock import ManualClock
from ordod.config import Config
from ordod.daemon import Daemon
from tests.cli.runner import against, ordo
from tests.harness import make_config, running_daemon


async def test_tail_prints_the_last_lines_oldest_first(config: Config) -> None:
    async with running_daemon(config) as d:
        await d.client().place("cli-tail")
        await d.daemon.audit.flush()  # the order's last event is committed, not just numbered
        last = d.daemon.audit.last_seq
        run = await ordo(*against(d), "audit", "tail", "-n", "3")
    seqs = [int(line.split()[0]) for line in run.stdout.splitlines()]
    assert run.code == 0 and seqs == [last - 2, last - 1, last]
    assert "order.completed" in run.stdout


async def test_since_prints_every_later_event_as_json_lines(config: Config) -> None:
    async with running_daemon(config) as d:
        await d.client().place("cli-since")
        await d.daemon.audit.flush()
        run = await ordo(*against(d), "--json", "audit", "tail", "--since", "1")
        last = d.daemon.audit.last_seq
    events = run.json_lines()
    assert [e["seq"] for e in events] == list(range(2, last + 1))
    assert {"order.received", "broker.result", "order.completed"} <= {e["type"] for e in events}


async def test_follow_prints_new_events_in_seq_order_as_they_happen(config: Config) -> None:
    async with running_daemon(config) as d:
        await d.daemon.audit.flush()
        start = d.daemon.audit.last_seq
        follower = asyncio.create_task(ordo(*against(d), "--json", "audit", "tail", "-n", "1", "--follow",
                                            "--count", "6"))
        await asyncio.sleep(0.3)
        await d.client().place("cli-follow")  # order.received, 2 x broker.result, order.completed
        await d.client().call("kill_switch", active=True, reason="follow test")
        run = await asyncio.wait_for(follower, 15)
    seqs = [e["seq"] for e in run.json_lines()]
    assert run.code == 0
    assert seqs == list(range(start, start + 6))
    assert [e["type"] for e in run.json_lines()][-1] == "kill_switch.changed"


async def test_asking_for_archived_events_says_so_and_exits_2(state_dir: Path) -> None:
    clock = ManualClock()

    def prepare(daemon: Daemon) -> None:
        daemon.clock = clock

    async with running_daemon(make_config(state_dir, audit={"retention_days": 1}), prepare) as d:
        await d.client().place("cli-old")
        clock.advance(2 * 86_400)
        await d.client().place("cli-new")
        await d.daemon.retention.sweep()
        first = d.daemon.audit.first_available_seq
        everything = await ordo(*against(d), "audit", "tail", "--since", "0")
        recent = await ordo(*against(d), "audit", "tail", "-n", "2")
    assert everything.code == 2
    assert f"events 1..{first - 1} were archived by audit retention" in everything.stderr
    assert int(everything.stdout.splitlines()[0].split()[0]) == first
    assert recent.code == 0 and recent.stderr == ""
