"""The kill switch's scope and flatten from the desk's dialog, against a whole daemon
in-process on two paper brokers whose orders stay open until cancelled."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, Select

from ordo_tui.app import OrdoApp
from ordo_tui.screens.kill_switch import EngageKillSwitch, ReleaseKillSwitch
from tests.harness import RunningDaemon, make_config, running_daemon
from tests.tui.helpers import (
    blotter_lines,
    desk_on,
    fill_order,
    notices,
    send_order,
    shown_text,
    wait_until,
)


async def _open_orders(d: RunningDaemon, app: OrdoApp, pilot: Pilot[int], count: int) -> list[str]:
    """Orders placed by another client, open at both brokers and shown in the blotter."""
    client = d.client()
    refs = [(await client.place(f"k-open-{i}"))["order_ref"] for i in range(count)]
    await wait_until(pilot, lambda: all(app.desk.blotter.book.get(r) for r in refs), "the open orders")
    return refs


def _paper_states(d: RunningDaemon) -> dict[str, list[str]]:
    return {b: [o.state for o in d.paper(b).book.orders()] for b in ("fyers", "hdfc")}


async def test_flatten_from_the_dialog_cancels_open_orders_at_both_brokers_and_the_switch_blocks_new_ones(
        state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d, desk_on(d) as (app, pilot):
        refs = await _open_orders(d, app, pilot, 2)
        assert _paper_states(d) == {"fyers": ["open", "open"], "hdfc": ["open", "open"]}

        await pilot.press("ctrl+k")
        dialog = app.screen
        assert isinstance(dialog, EngageKillSwitch)
        dialog.query_one("#reason", Input).insert_text_at_cursor("runaway algo")
        await pilot.click("#flatten")
        assert dialog.query_one("#flatten", Checkbox).value is True
        await pilot.click("#engage")

        results = app.desk.results
        await wait_until(pilot, lambda: results.headline.startswith("FLATTENED"), "the flatten's results")
        assert app.desk.banner.has_class("-on")
        assert _paper_states(d) == {"fyers": ["cancelled", "cancelled"], "hdfc": ["cancelled", "cancelled"]}
        shown = shown_text(results)
        assert shown.count("fyers  success  FYERS-") == shown.count("hdfc   success  HDFC-") == 2
        assert all(shown.count(ref) == 2 for ref in refs)  # each order, at each broker
        assert "Flatten at every broker: 4 of 4 cancels done (2 orders)" in notices(app)
        # Tracking sees the cancels, and the rows follow.
        cancelled = ["fyers cancelled", "hdfc  cancelled"]
        await wait_until(pilot, lambda: all(blotter_lines(app, ref) == cancelled for ref in refs),
                         "both orders cancelled at both brokers")

        # The switch stays on: a new order from the form reaches no broker.
        await fill_order(pilot)
        await send_order(pilot)
        await wait_until(pilot, lambda: results.state == "refused", "the refusal")
        assert results.headline == "REFUSED   KILL_SWITCH_ACTIVE"
        assert [len(d.paper(b).book) for b in ("fyers", "hdfc")] == [2, 2]


async def test_isolating_one_broker_from_the_dialog_routes_orders_to_the_other_and_it_can_be_released(
        state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d, desk_on(d) as (app, pilot):
        await pilot.press("ctrl+k")
        dialog = app.screen
        assert isinstance(dialog, EngageKillSwitch)
        dialog.query_one("#scope", Select).value = "hdfc"
        await pilot.pause()
        assert str(dialog.query_one("#engage", Button).label) == "ISOLATE hdfc (enter)"
        dialog.query_one("#reason", Input).insert_text_at_cursor("hdfc rejecting everything")
        await pilot.press("enter")

        await wait_until(pilot, lambda: app.desk.health.breaker_of("hdfc") == "isolated", "hdfc isolated")
        assert app.desk.health.breaker_of("fyers") == "closed"
        assert d.daemon.kill_switch.isolated("hdfc") and not d.daemon.kill_switch.active
        assert "isolated: hdfc (hdfc rejecting everything)" in str(app.desk.banner.content)
        assert app.desk.form.query_one("#broker-hdfc", Checkbox).disabled  # the form routes around it

        await fill_order(pilot)
        await send_order(pilot)
        await wait_until(pilot, lambda: app.desk.results.state == "answered", "the order's answer")
        assert app.desk.results.headline.startswith("SUCCESS")
        assert [r.broker_id for r in app.desk.blotter.book.rows()[0].results] == ["fyers"]
        assert [len(d.paper(b).book) for b in ("fyers", "hdfc")] == [1, 0]

        # Releasing it: pick it in the same dialog, then the explicit yes.
        await pilot.press("ctrl+k")
        app.screen.query_one("#scope", Select).value = "hdfc"
        await pilot.pause()
        await pilot.click("#engage")
        await wait_until(pilot, lambda: isinstance(app.screen, ReleaseKillSwitch), "the release confirmation")
        assert isinstance(app.screen, ReleaseKillSwitch) and app.screen.scope == "hdfc"
        await pilot.press("y")
        await wait_until(pilot, lambda: app.desk.health.breaker_of("hdfc") == "closed", "hdfc released")
        assert not d.daemon.kill_switch.isolated("hdfc")
        await wait_until(pilot, lambda: not app.desk.form.query_one("#broker-hdfc", Checkbox).disabled,
                         "hdfc routable again")
