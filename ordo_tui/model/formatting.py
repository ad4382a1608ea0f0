"""Words and numbers as the desk shows them. Times are UTC, always, and say so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ordo_shared.models import BrokerOrderView, BrokerResult, Event, OrderSpec


def utc_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S")


def utc_stamp(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def describe_order(spec: OrderSpec) -> str:
    """``BUY 10 NSE:SBIN-EQ LIMIT @ 500.50 trigger 499.00 · INTRADAY/DAY``"""
    parts = [spec.side, f"{spec.qty:,}", spec.symbol, spec.order_type]
    if spec.price is not None:
        parts.append(f"@ {price(spec.price)}")
    if spec.trigger_price is not None:
        parts.append(f"trigger {price(spec.trigger_price)}")
    return " ".join(parts) + f" · {spec.product}/{spec.validity}"


def result_detail(result: BrokerResult) -> str:
    """What happened at one broker, in one short phrase."""
    if result.status == "success":
        return result.order_id or "placed"
    code = result.error_code or "ERROR"
    return code if result.attempts <= 1 else f"{code} after {result.attempts} attempts"


def results_summary(results: list[BrokerResult]) -> str:
    """``fyers ✓  hdfc ✗ RATE_LIMIT_EXCEEDED after 3 attempts``: order ids are in the details."""
    marks = {"success": "✓", "error": "✗", "skipped": "–"}
    return "  ".join(f"{r.broker_id} {marks[r.status]}" + ("" if r.status == "success" else f" {result_detail(r)}")
                     for r in results)


def fill_phrase(state: str, filled_qty: int, qty: int, average_price: float | None, message: str = "") -> str:
    """``filled 10 @ 500.50``, ``partially filled 4/10 @ 500.10``, ``rejected: margin shortfall``."""
    text = state.replace("_", " ")
    if state == "partially_filled" or (filled_qty and state != "filled"):
        text += f" {filled_qty:,}/{qty:,}" if qty else f" {filled_qty:,}"
    elif state == "filled" and (filled_qty or qty):
        text += f" {filled_qty or qty:,}"
    if filled_qty and average_price is not None:
        text += f" @ {price(average_price)}"
    if message:
        text += f": {message}"
    return text


def tracking_phrase(view: BrokerOrderView) -> str:
    return fill_phrase(view.state, view.filled_qty, view.qty, view.average_price, view.message)


def audit_summary(event: Event) -> str:
    """The interesting part of an audit event's data, without dumping all of it."""
    data: dict[str, Any] = event.data
    kind = event.type
    if kind in ("broker.result", "broker.cancel_result", "broker.modify_result"):
        return f"{data.get('status')} {data.get('error_code') or data.get('order_id') or ''}".strip()
    if kind == "order.received":
        order = data.get("order", {})
        return (f"{order.get('side')} {order.get('qty')} {order.get('symbol')} {order.get('order_type')} "
                f"→ {','.join(data.get('brokers', []))} by {data.get('principal')}")
    if kind == "order.updated":
        new = fill_phrase(str(data.get("new")), int(data.get("filled_qty") or 0), 0, data.get("average_price"),
                          str(data.get("message") or ""))
        return f"{data.get('old')} → {new}"
    if kind in ("order.cancel_requested", "order.modify_requested"):
        return f"→ {','.join(data.get('brokers') or []) or 'every holder'} by {data.get('principal')}"
    if kind == "kill_switch.flattened":
        return f"{data.get('scope')}: {data.get('cancelled')} of {len(data.get('results') or [])} cancels done"
    if kind in ("order.completed", "order.cancel_completed", "order.modify_completed"):
        return f"{data.get('status')} ({data.get('http_status')})"
    if kind == "order.rejected":
        return f"{data.get('code')}: {data.get('message')}"
    if kind == "kill_switch.changed":
        state = "ON" if data.get("active") else "off"
        scope = data.get("scope", "global")
        where = "" if scope == "global" else f" ({scope} isolated)" if data.get("active") else f" ({scope})"
        return f"{state}{where} by {data.get('principal') or data.get('set_by')}: {data.get('reason') or '-'}"
    if kind in ("breaker.changed", "session.changed"):
        return f"{data.get('old')} → {data.get('new')}"
    if kind == "tui.gap":
        return f"events {data.get('from')}..{data.get('to')} are no longer available"
    return " ".join(f"{k}={v}" for k, v in list(data.items())[:4])
