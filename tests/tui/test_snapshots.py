"""The main screen's layout in its key states, as SVG snapshots (pytest-textual-snapshot).

The link is scripted (fixed data, fixed times, fixed keys), so a snapshot changes only when
the layout does. Update after a deliberate change with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from ordo_shared.models import KillSwitchState, PlaceOrderReply
from ordo_tui.app import OrdoApp
from tests.tui.helpers import SIZE, connected, desk, fill_order, send_order, wait_until
from tests.tui.scripted_link import REF3, T0, ScriptedLink, broker, failed, ok, order

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
