"""After the acknowledgement, from the desk: the blotter following each broker's state live,
and cancel and modify of the selected order, against a whole daemon in-process."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Static

from ordo_shared.models import OrderRecord
from ordo_tui.app import OrdoApp
from ordo_tui.link import LinkTimeouts
from ordo_tui.screens.order_action import ConfirmCancel, ModifyOrder
from tests.harness import RunningDaemon, make_config, running_daemon
from tests.tui.helpers import blotter_lines, counting_keys, desk_on, notices, shown_text, wait_until


async def _placed(d: RunningDaemon, app: OrdoApp, pilot: Pilot[int], key: str = "k-1") -> str:
    """An order from another client (LIMIT, 1 @ 500.50, both brokers), shown in the blotter."""
    reply = await d.client().place(key)
    ref: str = reply["order_ref"]
    await wait_until(pilot, lambda: app.desk.blotter.book.get(ref) is not None, "the order in the blotter")
    return ref


async def _audit_types(d: RunningDaemon, order_ref: str) -> list[str]:
    await d.daemon.audit.flush()
    reply = await d.client().call("audit_replay", since=0, limit=5000)
    return [e["type"] for e in reply["events"] if e["order_ref"] == order_ref]


async def test_the_blotter_follows_an_order_from_open_to_filled_and_to_a_late_rejection(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"fyers": {"fill_after_ms": 700},
                                             "hdfc": {"fill_after_ms": 700, "late_reject": "margin shortfall"}})
    async with running_daemon(config) as d, desk_on(d) as (app, pilot):
        link = app.controller.link
        fetched: list[str] = []
        get_order = link.get_order

        async def counting_get_order(order_ref: str) -> OrderRecord:
            fetched.append(order_ref)
            return await get_order(order_ref)

        link.get_order = counting_get_order  # type: ignore[method-assign]
        ref = await _placed(d, app, pilot)
        await wait_until(pilot, lambda: blotter_lines(app, ref) == ["fyers open", "hdfc  open"], "open at both")
        await wait_until(pilot, lambda: blotter_lines(app, ref) == ["fyers filled 1 @ 500.50",
                                                                    "hdfc  rejected: margin shortfall"],
                         "filled at fyers, rejected at hdfc")
        # Each change came as audit.order.updated and refreshed just that order's row.
        assert ref in fetched
        updates = [e for e in app.desk.audit.view.events if e.type == "order.updated"]
        assert {(e.broker_id, e.data["old"], e.data["new"]) for e in updates} == {
            ("fyers", "open", "filled"), ("hdfc", "open", "rejected")}
        record = app.desk.blotter.book.get(ref)
        assert record is not None
        assert {v.broker_id: (v.state, v.filled_qty, v.average_price) for v in record.tracking} == {
            "fyers": ("filled", 1, 500.5), "hdfc": ("rejected", 0, None)}


async def test_cancel_from_the_blotter_shows_the_holders_and_each_brokers_answer(state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d, desk_on(d) as (app, pilot):
        ref = await _placed(d, app, pilot)
        await pilot.press("ctrl+b", "delete")
        dialog = app.screen
        assert isinstance(dialog, ConfirmCancel)
        holders = str(dialog.query_one("#holders", Static).content)
        assert holders.splitlines() == ["→ fyers FYERS-00000001 open", "→ hdfc HDFC-00000001 open"]
        await pilot.press("enter")

        results = app.desk.results
        await wait_until(pilot, lambda: results.state == "answered", "the cancel's answer")
        assert results.headline == f"CANCEL SUCCESS   {ref}"
        shown = shown_text(results)
        assert "fyers  success  FYERS-00000001" in shown and "hdfc   success  HDFC-00000001" in shown
        assert [o.state for b in ("fyers", "hdfc") for o in d.paper(b).book.orders()] == ["cancelled", "cancelled"]
        await wait_until(pilot, lambda: blotter_lines(app, ref) == ["fyers cancelled", "hdfc  cancelled"],
                         "cancelled at both brokers")

        # Nothing is left to cancel: the desk says so instead of asking.
        await pilot.press("delete")
        assert not isinstance(app.screen, ConfirmCancel)
        assert any(n.startswith(f"Nothing to cancel: {ref} is not open at any broker") for n in notices(app))


async def test_a_cancel_without_an_answer_is_re_sent_with_the_same_key(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"fyers": {"latency_ms": 600}, "hdfc": {"latency_ms": 600}})
    async with running_daemon(config) as d:
        # Cancels time out long before the brokers (0.6 s) answer them.
        timeouts = LinkTimeouts(heartbeat_s=0.5, control_s=2, query_s=2, order_s=0.2)
        async with desk_on(d, timeouts, key_factory=counting_keys("cancel")) as (app, pilot):
            ref = await _placed(d, app, pilot)
            await pilot.press("ctrl+b", "delete", "enter")
            await wait_until(pilot, lambda: app.desk.results.state == "unconfirmed", "the unconfirmed cancel")
            assert app.desk.results.headline == "CANCEL NOT CONFIRMED"
            first = app.controller.actions.unresolved
            assert first is not None

            await pilot.press("delete")
            dialog = app.screen
            assert isinstance(dialog, ConfirmCancel)
            assert (dialog.submission.key, dialog.submission.resend) == (first.key, True)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.controller.actions.sending is None, "the re-send to end")
            await wait_until(pilot, lambda: blotter_lines(app, ref) == ["fyers cancelled", "hdfc  cancelled"],
                             "cancelled at both brokers")
        assert (await _audit_types(d, ref)).count("order.cancel_requested") == 1


async def test_modify_from_the_blotter_changes_the_order_at_both_brokers(state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d, desk_on(d) as (app, pilot):
        ref = await _placed(d, app, pilot)
        await pilot.press("ctrl+b", "ctrl+e")
        dialog = app.screen
        assert isinstance(dialog, ModifyOrder)
        assert dialog.query_one("#modify-trigger_price", Input).disabled  # a LIMIT order has no trigger
        await pilot.press("enter")  # nothing changed yet: the dialog says so and stays
        assert "change the quantity or a price first" in str(dialog.query_one("#modify-error", Static).content)
        await pilot.press("3", "tab")
        dialog.query_one("#modify-price", Input).insert_text_at_cursor("501.25")
        await pilot.press("enter")

        results = app.desk.results
        await wait_until(pilot, lambda: results.state == "answered", "the modify's answer")
        assert results.headline == f"MODIFY SUCCESS   {ref}"
        assert [(o.qty, o.price) for b in ("fyers", "hdfc") for o in d.paper(b).book.orders()] == [
            (3, 501.25), (3, 501.25)]
        await wait_until(pilot, lambda: blotter_lines(app, ref) == ["fyers open · now 3 @ 501.25",
                                                                    "hdfc  open · now 3 @ 501.25"],
                         "the new terms in the blotter")
