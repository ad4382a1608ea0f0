"""The live parts of the desk against a whole daemon in-process: kill switch, broker health,
a daemon restart, and an audit flood."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from textual import events
from textual.widgets import Input

from ordo_tui.widgets.audit.log import AuditLog
from ordo_tui.widgets.header.connection_bar import ConnectionBar
from tests.harness import make_config, running_daemon
from tests.tui.helpers import SIZE, connected, desk, desk_on, link_to, wait_until

# Slower than any test's wait: whatever the desk shows within a test came from the PUB stream.
NO_HEARTBEAT = 60.0


async def test_kill_switch_engaged_and_released_from_the_desk_changes_the_daemon(state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d, desk_on(d) as (app, pilot):
        banner = app.desk.banner
        assert banner.has_class("-off")

        await pilot.press("ctrl+k")
        assert type(app.screen).__name__ == "EngageKillSwitch"
        app.screen.query_one("#reason", Input).insert_text_at_cursor("fat finger")
        await pilot.press("enter")
        await wait_until(pilot, lambda: banner.has_class("-on"), "the banner turning red")
        assert d.daemon.kill_switch.state.active is True
        assert d.daemon.kill_switch.state.reason == "fat finger"
        assert banner.state is not None and banner.state.set_by == "default"

        # Releasing needs an explicit yes: Enter lands on "keep it on".
        await pilot.click("#kill")
        assert type(app.screen).__name__ == "ReleaseKillSwitch"
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert d.daemon.kill_switch.active is True and banner.has_class("-on")
        await pilot.press("ctrl+k", "y")
        await wait_until(pilot, lambda: banner.has_class("-off"), "the banner calming down")
        assert d.daemon.kill_switch.active is False


async def test_kill_switch_set_by_another_client_shows_from_the_stream(state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d, desk_on(d, heartbeat_s=NO_HEARTBEAT) as (app, pilot):
        await asyncio.sleep(0.3)  # the SUB socket's subscription reaches the publisher
        await d.client().call("kill_switch", active=True, reason="desk 2 halted")
        await wait_until(pilot, lambda: app.desk.banner.has_class("-on"), "another client's kill switch",
                         timeout_s=5)
        assert app.desk.banner.state is not None and app.desk.banner.state.reason == "desk 2 halted"


async def test_the_health_panel_shows_a_breaker_opening(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"hdfc": {"reject_code": "BROKER_UNAVAILABLE"}},
                         breaker={"failure_threshold": 2, "reset_timeout_s": 60}, retry={"max_attempts": 1})
    async with running_daemon(config) as d, desk_on(d, heartbeat_s=NO_HEARTBEAT) as (app, pilot):
        panel = app.desk.health
        assert panel.breaker_of("hdfc") == "closed"
        client = d.client()
        for i in range(2):
            await client.place(f"k-breaker-{i}")
        await wait_until(pilot, lambda: panel.breaker_of("hdfc") == "open", "hdfc's breaker open", timeout_s=5)
        assert panel.breaker_of("fyers") == "closed"
        row = panel.get_row("hdfc")
        assert " OPEN " in [str(cell) for cell in row]
        assert "BROKER_UNAVAILABLE" in [str(cell) for cell in row]


async def test_the_desk_says_when_the_daemon_is_gone_and_recovers_after_a_restart(state_dir: Path) -> None:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_daemon(make_config(state_dir)))
        rep, pub = first.daemon.rep_endpoint, first.daemon.pub_endpoint
        link = link_to(first)
        stack.callback(link.close)
        app = desk(link)
        pilot = await stack.enter_async_context(app.run_test(size=SIZE))
        await connected(pilot)
        bar = app.desk.query_one(ConnectionBar)
        assert bar.has_class("-connected")

        await first.daemon.stop()
        await wait_until(pilot, lambda: bar.has_class("-down"), "the header saying disconnected")
        assert app.controller.status.state == "down"
        assert app.desk.banner.stale

        # The same state directory and the same ports, as systemd would restart it.
        second = await stack.enter_async_context(
            running_daemon(make_config(state_dir, daemon={"rep_endpoint": rep, "pub_endpoint": pub})))
        await wait_until(pilot, lambda: bar.has_class("-connected"), "the header saying connected again")
        assert "daemon restarted" in app.controller.status.detail

        # The stream is back: an order from another client reaches the audit stream and the blotter.
        await asyncio.sleep(0.3)
        reply = await second.client().place("k-after-restart")
        ref = reply["order_ref"]
        await wait_until(pilot, lambda: app.desk.blotter.book.get(ref) is not None, "the new order in the blotter")
        audit = app.desk.audit.view
        await wait_until(pilot, lambda: any(e.type == "order.completed" and e.order_ref == ref for e in audit.events),
                         "the new order in the audit stream")
        seqs = [e.seq or 0 for e in audit.events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the audit stream has a hole"
        assert {"daemon.stopped", "daemon.started"} <= {e.type for e in audit.events}


async def test_an_audit_flood_is_batched_capped_and_keys_still_work(state_dir: Path) -> None:
    cap, per_tick, ticks = 300, 20, 150  # 2,000 events a second for 1.5 s
    async with running_daemon(make_config(state_dir)) as d, desk_on(d, audit_cap=cap) as (app, pilot):
        await asyncio.sleep(0.3)

        async def flood() -> None:
            for tick in range(ticks):
                for i in range(per_tick):
                    d.daemon.audit.record("load.tick", data={"n": tick * per_tick + i})
                await asyncio.sleep(0.01)

        flooding = asyncio.create_task(flood())
        await asyncio.sleep(0.3)
        symbol = app.desk.form.query_one("#symbol", Input)
        symbol.focus()
        app.post_message(events.Key("x", "x"))
        await wait_until(pilot, lambda: symbol.value == "x", "the key typed during the flood")
        handled_during_flood = not flooding.done()
        await flooding
        await d.daemon.audit.flush()
        last = d.daemon.audit.last_seq
        view = app.desk.audit.view
        await wait_until(pilot, lambda: view.events and view.events[-1].seq == last, "the flood's last event",
                         timeout_s=20)
        assert handled_during_flood
        assert len(view.events) == cap
        assert app.desk.audit.query_one(AuditLog).row_count <= cap
        assert view.received >= ticks * per_tick
        assert app.desk.audit.batches < view.received / 10
        seqs = [e.seq for e in view.events]
        assert seqs == list(range(last - cap + 1, last + 1))
