"""Cancel and modify from the blotter: which brokers hold an order, and the request to send.

The wire model (``ModifyOrderRequest``) decides what is valid, as ``OrderSpec`` does for the
order form; this module only parses what the trader typed and keeps what did not change out
of the request, so a modify says exactly what the trader changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from ordo_shared.messages import ModifyOrderRequest
from ordo_shared.models import PRICED_TYPES, TERMINAL_STATES, TRIGGERED_TYPES, OrderRecord
from ordo_tui.model.formatting import price
from ordo_tui.model.order_form import FRIENDLY, FieldErrors, parse_number

ActionKind = Literal["cancel", "modify"]


@dataclass(frozen=True)
class Holding:
    """One broker's copy of an order, as the blotter last saw it."""

    broker_id: str
    order_id: str | None
    state: str | None
    """The tracked state; ``None`` while the broker accepted it but tracking has not reported yet."""
    order_type: str
    qty: int
    price: float | None = None
    trigger_price: float | None = None
    filled_qty: int = 0

    @property
    def open(self) -> bool:
        return self.state not in TERMINAL_STATES

    def describe(self) -> str:
        """``fyers FYERS-00000001 partially_filled 5/10``"""
        state = (self.state or "accepted").replace("_", " ")
        fill = f" {self.filled_qty:,}/{self.qty:,}" if self.filled_qty else ""
        return f"{self.broker_id} {self.order_id or '?'} {state}{fill}"


def holdings(record: OrderRecord) -> list[Holding]:
    """Every broker that took the order: its tracked state, or just its acceptance."""
    spec = record.order
    held = {v.broker_id: Holding(v.broker_id, v.order_id, v.state, v.order_type, v.qty, v.price, v.trigger_price,
                                 v.filled_qty) for v in record.tracking}
    for r in record.results:
        if r.status == "success" and r.broker_id not in held:
            held[r.broker_id] = Holding(r.broker_id, r.order_id, None, spec.order_type, spec.qty, spec.price,
                                        spec.trigger_price)
    order = [r.broker_id for r in record.results]
    return sorted(held.values(), key=lambda h: order.index(h.broker_id) if h.broker_id in order else len(order))


def open_holdings(record: OrderRecord) -> list[Holding]:
    return [h for h in holdings(record) if h.open]


@dataclass(frozen=True)
class OrderAction:
    """A cancel or a modify of one order at the brokers named, with only the changed terms."""

    kind: ActionKind
    order_ref: str
    brokers: tuple[str, ...]
    qty: int | None = None
    price: float | None = None
    trigger_price: float | None = None

    def fields(self) -> dict[str, Any]:
        """The request's fields (the idempotency key is added by the link)."""
        fields: dict[str, Any] = {"order_ref": self.order_ref, "brokers": list(self.brokers)}
        if self.kind == "modify":
            fields.update({k: v for k, v in self.changes().items() if v is not None})
        return fields

    def changes(self) -> dict[str, int | float | None]:
        return {"qty": self.qty, "price": self.price, "trigger_price": self.trigger_price}

    def describe(self) -> str:
        """``modify ORD-… at fyers, hdfc: qty 5, price 501.00``"""
        text = f"{self.kind} {self.order_ref} at {', '.join(self.brokers)}"
        if self.kind == "modify":
            terms = [f"qty {self.qty:,}"] if self.qty is not None else []
            named = (("price", self.price), ("trigger", self.trigger_price))
            terms += [f"{name} {price(value)}" for name, value in named if value is not None]
            text += ": " + ", ".join(terms)
        return text


def cancel_of(record: OrderRecord) -> OrderAction | None:
    """Cancel at every broker where the order is still open; ``None`` when it is open nowhere."""
    brokers = tuple(h.broker_id for h in open_holdings(record))
    return OrderAction("cancel", record.order_ref, brokers) if brokers else None


def build_modify(record: OrderRecord, qty: str, new_price: str, trigger_price: str) -> OrderAction | FieldErrors:
    """The modify to send from what was typed (empty keeps the current value), or a message
    for each field that is wrong. Goes to every broker where the order is open."""
    targets = open_holdings(record)
    if not targets:
        return {"order": "the order is not open at any broker"}
    current = targets[0]
    errors: FieldErrors = {}
    new_qty = parse_number(qty, int, "a whole number, e.g. 10", errors, "qty") if qty.strip() else None
    prices = {field: parse_number(text, float, f"a price, e.g. {example}", errors, field) if text.strip() else None
              for field, text, example in (("price", new_price, "500.50"), ("trigger_price", trigger_price, "499.00"))}
    if prices["price"] is not None and current.order_type not in PRICED_TYPES:
        errors["price"] = f"a {current.order_type} order has no price"
    if prices["trigger_price"] is not None and current.order_type not in TRIGGERED_TYPES:
        errors["trigger_price"] = f"a {current.order_type} order has no trigger price"
    if errors:
        return errors
    # Only what differs from the order's current terms goes on the wire.
    action = OrderAction("modify", record.order_ref, tuple(h.broker_id for h in targets),
                         qty=int(new_qty) if new_qty is not None and new_qty != current.qty else None,
                         price=_changed(prices["price"], current.price),
                         trigger_price=_changed(prices["trigger_price"], current.trigger_price))
    if not any(v is not None for v in action.changes().values()):
        return {"order": "change the quantity or a price first"}
    try:
        ModifyOrderRequest.model_validate({"v": 1, "op": "modify_order", **action.fields()}, strict=False)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            field = str(err["loc"][0]) if err["loc"] else "order"
            errors.setdefault(field, FRIENDLY.get((field, err["type"]), err["msg"]))
        return errors
    return action


def _changed(typed: float | None, current: float | None) -> float | None:
    return None if typed is None or typed == current else float(typed)
