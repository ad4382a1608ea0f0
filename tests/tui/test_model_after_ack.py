"""The desk's pure logic for tracking, cancel, modify and the scoped kill switch: no Textual
app, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ordo_shared.models import Event, FlattenResult, Isolation, KillSwitchState, OrderRecord
from ordo_tui.model.formatting import audit_summary, fill_phrase
from ordo_tui.model.kill_switch import KillSwitchChange, active_scopes, flatten_summary
from ordo_tui.model.order_actions import OrderAction, build_modify, cancel_of, holdings
from ordo_tui.model.refresh import BlotterRefresh
from ordo_tui.model.submissions import SubmissionTracker
from ordo_tui.widgets.blotter.table import brokers_cell
from tests.tui.scripted_link import REF1, failed, ok, order, tracked

TS = datetime(2025, 1, 2, tzinfo=UTC)


def _order(*tracking_states: str, results: list[str] | None = None) -> OrderRecord:
    """An order (LIMIT 10 @ 500.50) at fyers and hdfc, tracked in the given states."""
    brokers = ["fyers", "hdfc"]
    placed = [ok(b, 1) if b in (results or brokers) else failed(b, "RATE_LIMIT_EXCEEDED") for b in brokers]
    views = [tracked(b, 1, state) for b, state in zip(brokers, tracking_states, strict=False)]
    return order(REF1, "k-1", 1, placed, tracking=views)


def _event(type: str, ref: str | None = None, **data: object) -> Event:
    return Event(seq=1, ts=TS, type=type, order_ref=ref, data=dict(data))


# -- kill switch ------------------------------------------------------------------------

def test_turning_a_scope_off_always_carries_the_confirmation() -> None:
    assert KillSwitchChange(active=False, scope="hdfc").fields() == {"active": False, "scope": "hdfc", "confirm": True}
    assert KillSwitchChange(active=True, reason="algo", flatten=True).fields() == {
        "active": True, "scope": "global", "reason": "algo", "flatten": True}


@pytest.mark.parametrize(("change", "pending"), [
    (KillSwitchChange(active=True), "engaging"),
    (KillSwitchChange(active=True, flatten=True), "engaging + flattening"),
    (KillSwitchChange(active=True, scope="hdfc"), "isolating hdfc"),
    (KillSwitchChange(active=False, scope="hdfc"), "releasing hdfc"),
    (KillSwitchChange(active=False), "releasing"),
])
def test_the_banner_says_what_is_pending(change: KillSwitchChange, pending: str) -> None:
    assert change.pending == pending


def test_what_can_be_released_is_global_first_then_isolated_brokers() -> None:
    state = KillSwitchState(active=True, isolated={"hdfc": Isolation(), "fyers": Isolation()})
    assert active_scopes(state) == ["global", "fyers", "hdfc"]
    assert active_scopes(KillSwitchState(active=False)) == [] and active_scopes(None) == []


def test_a_flatten_is_summed_up_with_where_it_failed() -> None:
    def result(ref: str, broker: str, status: str = "success") -> FlattenResult:
        return FlattenResult(order_ref=ref, broker_id=broker, order_id="X", status=status,  # type: ignore[arg-type]
                             error_code=None if status == "success" else "BROKER_UNAVAILABLE")

    assert flatten_summary([]) == "no open orders to cancel"
    assert flatten_summary([result("A", "fyers"), result("A", "hdfc"), result("B", "hdfc", "error"),
                            result("C", "hdfc", "error")]) == "2 of 4 cancels done (3 orders); failed at hdfc ×2"


# -- which rows the blotter refreshes ---------------------------------------------------

def test_a_new_order_reloads_the_list_and_a_change_refreshes_only_its_row() -> None:
    refresh = BlotterRefresh()
    refresh.note([_event("order.updated", "A"), _event("order.cancel_completed", "B"), _event("broker.result", "A")])
    assert refresh.take() == ["A", "B"]
    assert not refresh
    refresh.note([_event("order.updated", "A"), _event("order.completed", "C")])
    assert refresh.take() is None


def test_many_changed_rows_are_one_reload() -> None:
    refresh = BlotterRefresh(max_rows=2)
    refresh.note([_event("order.updated", ref) for ref in "ABC"])
    assert refresh.take() is None


def test_the_blotter_is_refreshed_less_often_while_orders_flood_in() -> None:
    refresh = BlotterRefresh(calm_s=0.25, flood_s=1.0, flood_rate=20)
    assert refresh.pause(now=100.0) == 0.25  # nothing to judge a pace by yet
    refresh.note([_event("order.received", f"R{i}") for i in range(10)] + [_event("broker.result", "X")])
    assert refresh.pause(now=101.0) == 0.25  # 10 orders a second: a trader follows that
    refresh.note([_event(kind, f"S{i}") for i in range(30) for kind in ("order.received", "order.completed")])
    assert refresh.pause(now=102.0) == 1.0  # 30 orders (60 events) a second: a flood
    assert refresh.pause(now=103.0) == 0.25  # and calm again


# -- who holds an order, and what a cancel or modify sends ------------------------------

def test_a_cancel_goes_only_where_the_order_is_still_open() -> None:
    assert cancel_of(_order("filled", "open")) == OrderAction("cancel", REF1, ("hdfc",))
    assert cancel_of(_order("partially_filled", "open")) == OrderAction("cancel", REF1, ("fyers", "hdfc"))
    assert cancel_of(_order("filled", "rejected")) is None


def test_an_acceptance_not_yet_tracked_counts_as_open_and_a_failed_placement_not_at_all() -> None:
    record = _order(results=["fyers"])
    assert [(h.broker_id, h.state, h.open) for h in holdings(record)] == [("fyers", None, True)]
    assert cancel_of(record) == OrderAction("cancel", REF1, ("fyers",))


def test_a_modify_sends_only_what_changed_and_says_so() -> None:
    action = build_modify(_order("open", "open"), qty="10", new_price="501", trigger_price="")
    assert action == OrderAction("modify", REF1, ("fyers", "hdfc"), price=501.0)
    assert action.fields() == {"order_ref": REF1, "brokers": ["fyers", "hdfc"], "price": 501.0}
    assert action.describe() == f"modify {REF1} at fyers, hdfc: price 501.00"


@pytest.mark.parametrize(("typed", "errors"), [
    (("", "", ""), {"order": "change the quantity or a price first"}),
    (("10", "500.50", ""), {"order": "change the quantity or a price first"}),
    (("0", "", ""), {"qty": "must be at least 1"}),
    (("1.5", "", ""), {"qty": "a whole number, e.g. 10"}),
    (("", "", "499"), {"trigger_price": "a LIMIT order has no trigger price"}),
    (("", "0", ""), {"price": "must be above 0"}),
])
def test_each_problem_with_a_modify_is_named_at_its_field(typed: tuple[str, str, str], errors: dict[str, str]) -> None:
    assert build_modify(_order("open", "open"), *typed) == errors


def test_nothing_open_cannot_be_modified() -> None:
    assert build_modify(_order("filled", "cancelled"), "5", "", "") == {"order": "the order is not open at any broker"}


def test_a_resent_cancel_reuses_its_key_and_another_gets_a_new_one() -> None:
    tracker: SubmissionTracker[OrderAction] = SubmissionTracker()
    first = tracker.prepare(OrderAction("cancel", "A", ("fyers",)))
    tracker.sent(first)
    tracker.finished(first)  # no answer
    again = tracker.prepare(OrderAction("cancel", "A", ("fyers",)))
    assert (again.key, again.resend) == (first.key, True)
    assert tracker.prepare(OrderAction("cancel", "B", ("fyers",))).key != first.key


# -- words ------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "phrase"), [
    (("open", 0, 10, None), "open"),
    (("partially_filled", 4, 10, 500.1), "partially filled 4/10 @ 500.10"),
    (("filled", 10, 10, 500.5), "filled 10 @ 500.50"),
    (("cancelled", 3, 10, 500.0), "cancelled 3/10 @ 500.00"),
    (("rejected", 0, 10, None, "margin shortfall"), "rejected: margin shortfall"),
])
def test_a_brokers_state_in_a_few_words(args: tuple[str, int, int, float | None], phrase: str) -> None:
    assert fill_phrase(*args) == phrase


def test_the_audit_stream_words_tracking_flatten_and_isolation() -> None:
    assert audit_summary(_event("order.updated", "A", old="open", new="rejected", filled_qty=0,
                                average_price=None, message="price band")) == "open → rejected: price band"
    assert audit_summary(_event("kill_switch.flattened", scope="global", orders=2, cancelled=3,
                                results=[{}] * 4)) == "global: 3 of 4 cancels done"
    assert audit_summary(_event("kill_switch.changed", scope="hdfc", active=True, principal="desk",
                                reason="bad fills")) == "ON (hdfc isolated) by desk: bad fills"


def test_the_blotter_shows_each_brokers_state_on_its_own_line() -> None:
    record = order(REF1, "k-1", 1, [ok("fyers", 1), failed("hdfc", "RATE_LIMIT_EXCEEDED")],
                   tracking=[tracked("fyers", 1, "partially_filled", 4, 500.45)])
    assert str(brokers_cell(record)).splitlines() == ["fyers partially filled 4/10 @ 500.45",
                                                      "hdfc  ✗ RATE_LIMIT_EXCEEDED"]
