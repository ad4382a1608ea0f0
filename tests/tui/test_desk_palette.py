"""The new commands from the palette and the release dialog's scope, on the scripted link
(fixed answers, no daemon), and what the desk says when a flatten's answer never comes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.command import CommandList
from textual.pilot import Pilot
from textual.widgets import Select

from ordo_shared.client import DaemonUnreachable
from ordo_shared.messages import KillSwitchReply
from ordo_shared.models import Isolation, KillSwitchState
from ordo_tui.app import OrdoApp
from ordo_tui.model.kill_switch import KillSwitchChange
from ordo_tui.model.order_actions import OrderAction
from ordo_tui.screens.kill_switch import ReleaseKillSwitch
from ordo_tui.screens.order_action import ConfirmCancel
from tests.tui.helpers import SIZE, connected, desk, notices, wait_until
from tests.tui.scripted_link import REF2, T0, ScriptedLink


@asynccontextmanager
async def scripted_desk(link: ScriptedLink) -> AsyncIterator[tuple[OrdoApp, Pilot[int]]]:
    app = desk(link, key_factory=lambda: "tui-key-1", heartbeat_s=3600)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_until(pilot, lambda: len(app.desk.blotter.book) == 2, "the orders")
        yield app, pilot


async def test_cancel_order_from_the_palette_confirms_and_sends_with_a_key() -> None:
    link = ScriptedLink()
    async with scripted_desk(link) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.press(*"cancel order")
        await wait_until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0, "the palette's matches")
        first = app.screen.query_one(CommandList).get_option_at_index(0)
        assert "Cancel order" in str(first.prompt)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmCancel), "the cancel confirmation")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.desk.results.state == "answered", "the cancel's answer")
        # The newest order is selected: partially filled at fyers, open at hdfc, so both are asked.
        assert link.acted == [("tui-key-1", OrderAction("cancel", REF2, ("fyers", "hdfc")))]
        assert app.desk.results.headline == f"CANCEL SUCCESS   {REF2}"


async def test_the_release_dialog_lets_the_trader_pick_an_isolated_broker() -> None:
    link = ScriptedLink()
    link.kill_switch = KillSwitchState(active=True, reason="halt", set_by="default", set_at=T0,
                                       isolated={"hdfc": Isolation(reason="bad fills", set_by="desk2", set_at=T0)})
    async with scripted_desk(link) as (app, pilot):
        await pilot.press("ctrl+k")
        dialog = app.screen
        assert isinstance(dialog, ReleaseKillSwitch) and dialog.scope == "global"
        dialog.query_one("#release-scope", Select).value = "hdfc"
        await pilot.pause()
        assert "set by desk2" in str(dialog.query_one("#release-text").content)
        await pilot.press("y")
        await wait_until(pilot, lambda: link.switched, "the release sent")
        assert link.switched == [KillSwitchChange(active=False, scope="hdfc")]
        await wait_until(pilot, lambda: app.desk.banner.state is not None and not app.desk.banner.state.isolated,
                         "hdfc no longer isolated")
        assert app.desk.banner.has_class("-on")  # the global switch is untouched


async def test_a_flatten_without_an_answer_says_where_its_results_will_be() -> None:
    class SilentLink(ScriptedLink):
        async def set_kill_switch(self, change: KillSwitchChange) -> KillSwitchReply:
            raise DaemonUnreachable("no reply within 5000 ms")

    async with scripted_desk(SilentLink()) as (app, pilot):
        app.controller.set_kill_switch(KillSwitchChange(active=True, reason="x", flatten=True))
        await wait_until(pilot, lambda: notices(app), "the notice")
        [notice] = notices(app)
        assert notice.startswith("Kill switch change unconfirmed: turning it ON: no answer")
        assert "a flatten's results show in the audit stream (kill_switch.flattened)" in notice
        assert app.desk.banner.pending is None
