"""The main screen's layout in its key states, as SVG snapshots (pytest-textual-snapshot).

The link is scripted (fixed data, fixed times, fixed keys), so a snapshot changes only when
the layout does. Update after a deliberate change with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from ordo_shared.models import FlattenResult, Isolation, KillSwitchState, PlaceOrderReply
from ordo_tui.app import OrdoApp
from tests.tui.helpers import SIZE, connected, desk, fill_order, send_order, wait_until
from tests.tui.scripted_link import REF2, REF3, T0, ScriptedLink, broker, failed, ok, order

Compare = Callable[..., bool]


def _settled(then: Callable[[Pilot[int]], Awaitable[None]] | None = None) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, OrdoApp)
        await connected(pilot)
        await wait_until(pilot, lambda: len(app.desk.blotter.book) >= 2 and len(app.desk.audit.view.events) == 5,
                         "orders and audit loaded")
        if then is not None:
            await then(pilot)
        app.set_focus(None)  # no blinking cursor in the picture
        await pilot.pause()

    return run_before


def _app(link: ScriptedLink) -> Any:
    return desk(link, key_factory=lambda: "tui-snapshot-key", heartbeat_s=3600)


def test_main_screen_normal(snap_compare: Compare) -> None:
    assert snap_compare(_app(ScriptedLink()), terminal_size=SIZE, run_before=_settled())


def test_main_screen_kill_switch_on(snap_compare: Compare) -> None:
    link = ScriptedLink()
    link.kill_switch = KillSwitchState(active=True, reason="fat finger on desk 2", set_by="default", set_at=T0)
    assert snap_compare(_app(link), terminal_size=SIZE, run_before=_settled())


def test_main_screen_breaker_open(snap_compare: Compare) -> None:
    link = ScriptedLink()
    link.brokers = [broker("fyers"), broker("hdfc", breaker="open", latency=10_000.0, error_rate=1.0,
                                             last_error="BROKER_UNAVAILABLE")]
    assert snap_compare(_app(link), terminal_size=SIZE, run_before=_settled())


def partial_success_desk() -> tuple[Any, Callable[[Pilot[int]], Awaitable[None]]]:
    """The desk just after a LIMIT order that hdfc rate-limited (also docs/tui.svg)."""
    link = ScriptedLink()
    results = [ok("fyers", 3), failed("hdfc", "RATE_LIMIT_EXCEEDED")]
    link.reply = PlaceOrderReply(status="partial_success", http_status=207, order_ref=REF3,
                                 idempotency_key="tui-snapshot-key", results=results)

    async def place(pilot: Pilot[int]) -> None:
        link.orders.append(order(REF3, "tui-snapshot-key", 3, results))
        await fill_order(pilot, order_type="LIMIT", price="500.5")
        await send_order(pilot)
        app = pilot.app
        assert isinstance(app, OrdoApp)
        await wait_until(pilot, lambda: app.desk.blotter.book.get(REF3) is not None, "the partial order")

    return _app(link), _settled(place)


def test_main_screen_order_with_partial_success(snap_compare: Compare) -> None:
    app, run_before = partial_success_desk()
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def _isolated_hdfc() -> ScriptedLink:
    link = ScriptedLink()
    link.kill_switch = KillSwitchState(active=False, isolated={
        "hdfc": Isolation(reason="rejecting everything", set_by="default", set_at=T0)})
    link.brokers = [broker("fyers"), broker("hdfc", breaker="isolated")]
    return link


def test_kill_switch_dialog_with_scope_and_flatten(snap_compare: Compare) -> None:
    async def open_dialog(pilot: Pilot[int]) -> None:
        await pilot.press("ctrl+k")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "EngageKillSwitch", "the dialog")
        pilot.app.screen.query_one("#reason", Input).insert_text_at_cursor("runaway algo")
        pilot.app.screen.query_one("#flatten", Checkbox).value = True

    assert snap_compare(_app(_isolated_hdfc()), terminal_size=SIZE, run_before=_settled(open_dialog))


def test_main_screen_after_a_flatten(snap_compare: Compare) -> None:
    link = _isolated_hdfc()
    link.flatten = [FlattenResult(order_ref=REF2, broker_id="fyers", order_id="FYERS-00000002", status="success"),
                    FlattenResult(order_ref=REF2, broker_id="hdfc", order_id="HDFC-00000002", status="error",
                                  error_code="BROKER_UNAVAILABLE", message="connection refused")]

    async def flatten(pilot: Pilot[int]) -> None:
        await pilot.press("ctrl+k")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "EngageKillSwitch", "the dialog")
        pilot.app.screen.query_one("#reason", Input).insert_text_at_cursor("runaway algo")
        pilot.app.screen.query_one("#flatten", Checkbox).value = True
        await pilot.press("enter")
        app = pilot.app
        assert isinstance(app, OrdoApp)
        await wait_until(pilot, lambda: app.desk.results.headline.startswith("FLATTENED"), "the flatten's results")
        app.clear_notifications()  # toasts fade on their own clock: keep them out of the picture

    assert snap_compare(_app(link), terminal_size=SIZE, run_before=_settled(flatten))
