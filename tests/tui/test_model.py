"""The desk's plain-Python state: form validation, idempotency keys, audit ordering and
the capped, filtered audit view. No Textual, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ordo_shared.models import Event, OrderSpec
from ordo_tui.model.audit_sequence import GAP_TYPE, AuditSequencer
from ordo_tui.model.audit_view import AuditView
from ordo_tui.model.order_form import FormValues, build_order, field_error
from ordo_tui.model.submissions import SubmissionTracker

GOOD = FormValues(symbol="NSE:SBIN-EQ", side="BUY", qty="10", order_type="MARKET", brokers=("fyers", "hdfc"))


def ev(seq: int | None, type: str = "order.received", broker: str | None = None) -> Event:
    return Event(seq=seq, ts=datetime(2025, 1, 2, tzinfo=UTC), type=type, broker_id=broker)


# -- order form -------------------------------------------------------------------------

def test_a_good_market_order_becomes_the_wire_spec() -> None:
    spec = build_order(GOOD)
    assert isinstance(spec, OrderSpec)
    assert (spec.symbol, spec.side, spec.qty, spec.order_type, spec.brokers) == (
        "NSE:SBIN-EQ", "BUY", 10, "MARKET", ["fyers", "hdfc"])
    assert spec.price is None and spec.trigger_price is None


def test_price_and_trigger_are_read_only_for_the_types_that_use_them() -> None:
    market = build_order(FormValues(**{**GOOD.__dict__, "price": "999", "trigger_price": "1"}))
    assert isinstance(market, OrderSpec) and market.price is None and market.trigger_price is None
    sl = build_order(FormValues(**{**GOOD.__dict__, "order_type": "SL", "price": "1,000.5", "trigger_price": "999"}))
    assert isinstance(sl, OrderSpec) and (sl.price, sl.trigger_price) == (1000.5, 999.0)


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"symbol": "sbin"}, "symbol", "exchange:symbol, e.g. NSE:SBIN-EQ"),
    ({"qty": ""}, "qty", "required, a whole number, e.g. 10"),
    ({"qty": "0"}, "qty", "must be at least 1"),
    ({"qty": "1.5"}, "qty", "a whole number, e.g. 10"),
    ({"qty": "20000000"}, "qty", "at most 10,000,000"),
    ({"order_type": "LIMIT"}, "price", "required for LIMIT, e.g. 500.50"),
    ({"order_type": "LIMIT", "price": "0"}, "price", "must be above 0"),
    ({"order_type": "SL-M"}, "trigger_price", "required for SL-M"),
    ({"brokers": ()}, "brokers", "route to at least one broker"),
])
def test_each_problem_is_named_at_its_field(change: dict[str, object], field: str, message: str) -> None:
    result = build_order(FormValues(**{**GOOD.__dict__, **change}))
    assert result == {field: message}


def test_while_typing_only_the_field_being_typed_is_judged() -> None:
    values = FormValues(symbol="NSE:SBIN-EQ", brokers=("fyers",))  # qty still empty
    assert field_error(values, "symbol") is None
    assert field_error(values, "qty") is not None


# -- idempotency keys -------------------------------------------------------------------

def _spec(qty: int = 1) -> OrderSpec:
    return OrderSpec(symbol="NSE:SBIN-EQ", side="BUY", qty=qty, order_type="MARKET")


def test_every_new_order_gets_a_fresh_key() -> None:
    tracker: SubmissionTracker[OrderSpec] = SubmissionTracker()
    first = tracker.prepare(_spec())
    tracker.sent(first)
    tracker.finished(first)
    tracker.settled(first.key)
    second = tracker.prepare(_spec())
    assert first.key != second.key and not second.resend


def test_a_resend_of_an_unanswered_order_reuses_its_key() -> None:
    tracker: SubmissionTracker[OrderSpec] = SubmissionTracker()
    first = tracker.prepare(_spec())
    tracker.sent(first)
    tracker.finished(first)  # timed out: never settled
    again = tracker.prepare(_spec())
    assert (again.key, again.resend) == (first.key, True)
    other = tracker.prepare(_spec(qty=2))  # a different order is a different order
    assert other.key != first.key and not other.resend


# -- audit ordering ---------------------------------------------------------------------

def test_events_in_order_pass_straight_through_and_duplicates_are_dropped() -> None:
    seq = AuditSequencer()
    seq.baseline(head=3, history=0)
    assert [e.seq for e in seq.feed(ev(4))] == [4]
    assert seq.feed(ev(4)) == [] and seq.feed(ev(2)) == []
    assert seq.missing() is None


def test_a_jump_holds_later_events_until_the_hole_is_filled() -> None:
    seq = AuditSequencer()
    seq.baseline(head=1, history=0)
    assert seq.feed(ev(4)) == []
    assert seq.missing() == (1, 3)
    assert [e.seq for e in seq.fill([ev(2), ev(3)])] == [2, 3, 4]
    assert seq.missing() is None and seq.last_seq == 4


def test_first_contact_asks_for_recent_history() -> None:
    seq = AuditSequencer()
    seq.baseline(head=1000, history=200)
    assert seq.missing() == (800, 1000)


def test_a_hole_the_daemon_cannot_fill_becomes_a_marker_row() -> None:
    seq = AuditSequencer()
    seq.baseline(head=1, history=0)
    seq.feed(ev(5))
    released = seq.skip_gap()
    assert [(e.type, e.seq) for e in released] == [(GAP_TYPE, None), ("order.received", 5)]
    assert released[0].data == {"from": 2, "to": 4}


def test_too_many_held_events_give_up_on_the_hole() -> None:
    seq = AuditSequencer(hold_limit=3)
    seq.baseline(head=1, history=0)
    released = [e for n in range(10, 15) for e in seq.feed(ev(n))]
    assert released[0].type == GAP_TYPE and [e.seq for e in released[1:]] == [10, 11, 12, 13, 14]


# -- audit view -------------------------------------------------------------------------

def test_the_view_keeps_only_the_newest_rows_up_to_its_cap() -> None:
    view = AuditView(cap=3)
    shown = view.add([ev(n) for n in range(1, 6)])
    assert [e.seq for e in shown] == [3, 4, 5]
    assert [e.seq for e in view.events] == [3, 4, 5] and view.received == 5


def test_the_view_filters_by_type_parts_and_broker() -> None:
    view = AuditView(cap=10)
    view.add([ev(1, "order.received"), ev(2, "broker.result", "fyers"), ev(3, "broker.result", "hdfc"),
              ev(4, "breaker.changed", "hdfc")])
    view.set_filter("result, breaker", "hdfc")
    assert [e.seq for e in view.visible()] == [3, 4]
    view.set_filter("", None)
    assert len(view.visible()) == 4
