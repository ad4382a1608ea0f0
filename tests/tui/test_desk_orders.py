"""Order entry, the blotter and the idempotency key, against a whole daemon in-process."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from ordo_shared.models import OrderRecord
from ordo_tui.link import LinkTimeouts
from tests.harness import make_config, running_daemon
from tests.tui.helpers import blotter_lines, counting_keys, desk_on, fill_order, send_order, wait_until


def _by_broker(record: OrderRecord) -> dict[str, str]:
    return {r.broker_id: r.status for r in record.results}


async def test_an_order_placed_through_the_form_shows_both_brokers_in_the_blotter(state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d:
        async with desk_on(d) as (app, pilot):
            await fill_order(pilot, order_type="LIMIT", price="500.5", keys=True)
            await send_order(pilot)
            await wait_until(pilot, lambda: len(app.desk.blotter.book) == 1, "the order in the blotter")
            record = app.desk.blotter.book.rows()[0]
            assert record.status == "success"
            assert _by_broker(record) == {"fyers": "success", "hdfc": "success"}
            assert app.desk.results.state == "answered"
            row = [str(cell) for cell in app.desk.blotter.get_row(record.order_ref)]
            assert "NSE:SBIN-EQ" in row and "500.50" in row
            assert row[-1].splitlines() == ["fyers open", "hdfc  open"]  # accepted, tracked, not filled yet
        assert len(d.paper("fyers").book) == len(d.paper("hdfc").book) == 1


async def test_a_partial_success_is_shown_as_such(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"hdfc": {"reject_code": "INSUFFICIENT_FUNDS"}})
    async with running_daemon(config) as d, desk_on(d) as (app, pilot):
        await fill_order(pilot)
        await send_order(pilot)
        await wait_until(pilot, lambda: len(app.desk.blotter.book) == 1, "the order in the blotter")
        record = app.desk.blotter.book.rows()[0]
        assert record.status == "partial_success"
        assert _by_broker(record) == {"fyers": "success", "hdfc": "error"}
        # A MARKET order: filled at the broker that took it, moments after the answer.
        await wait_until(pilot, lambda: blotter_lines(app, record.order_ref) == ["fyers filled 10",
                                                                                 "hdfc  ✗ INSUFFICIENT_FUNDS"],
                         "the fill at fyers and the refusal at hdfc")
        assert app.desk.results.state == "answered"
        assert app.desk.results.headline == f"PARTIAL SUCCESS   {record.order_ref}"


async def test_invalid_fields_are_marked_and_nothing_is_sent(state_dir: Path) -> None:
    async with running_daemon(make_config(state_dir)) as d:
        async with desk_on(d) as (app, pilot):
            await fill_order(pilot, symbol="sbin", qty="0", order_type="LIMIT")
            await pilot.press("ctrl+s")
            await pilot.pause()
            form = app.desk.form
            invalid = {row.id for row in form.query(".field.-invalid")}
            assert invalid == {"row-symbol", "row-qty", "row-price"}
            assert type(app.screen).__name__ == "MainScreen"  # no confirmation for a bad order
            assert form.query_one("#trigger_price", Input).disabled  # LIMIT has no trigger
            assert not form.query_one("#price", Input).disabled
        assert d.paper("fyers").calls.place_calls == 0


async def test_a_resend_after_a_timeout_reuses_the_key_and_places_the_order_once(state_dir: Path) -> None:
    config = make_config(state_dir, brokers={"fyers": {"latency_ms": 1500}, "hdfc": {"latency_ms": 1500}})
    async with running_daemon(config) as d:
        # Answers to orders time out long before the brokers (1.5 s) answer.
        timeouts = LinkTimeouts(heartbeat_s=0.5, control_s=2, query_s=2, order_s=0.3)
        async with desk_on(d, timeouts, key_factory=counting_keys()) as (app, pilot):
            await fill_order(pilot)
            await send_order(pilot)
            await wait_until(pilot, lambda: app.desk.results.state == "unconfirmed", "the unconfirmed order")
            assert app.controller.tracker.unresolved is not None
            assert app.controller.tracker.unresolved.key == "test-key-1"

            # Press send again while the daemon is still working on it: same key, no new order.
            await send_order(pilot)
            await wait_until(pilot, lambda: app.controller.tracker.sending is None, "the re-send to end")
            await wait_until(pilot, lambda: app.controller.tracker.unresolved is None, "the order to resolve",
                             timeout_s=15)
            await wait_until(pilot, lambda: len(app.desk.blotter.book) == 1, "the order in the blotter")
            assert app.desk.blotter.book.rows()[0].idempotency_key == "test-key-1"

            # The next order is a new one: a new key.
            await pilot.click("#qty")
            await pilot.press("end", "backspace", "backspace", "2")
            changed = app.desk.form.validate_all()
            assert changed is not None and changed.qty == 2
            assert app.controller.tracker.prepare(changed).key == "test-key-2"
        assert d.paper("fyers").calls.place_calls == 1
        assert len(d.paper("hdfc").book) == 1
