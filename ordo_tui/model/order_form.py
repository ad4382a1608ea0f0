"""Order-entry validation: raw field text in, an ``OrderSpec`` or per-field messages out.

The wire model (``OrderSpec``) stays the single source of truth for what is valid; this
module only parses the text a trader typed and words the problems for the field they are in.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from ordo_shared.models import PRICED_TYPES, TRIGGERED_TYPES, OrderSpec

FIELDS = ("symbol", "side", "qty", "order_type", "price", "trigger_price", "product", "validity", "brokers")
FieldErrors = dict[str, str]

FRIENDLY: dict[tuple[str, str], str] = {
    ("symbol", "string_pattern_mismatch"): "exchange:symbol, e.g. NSE:SBIN-EQ",
    ("qty", "greater_than"): "must be at least 1",
    ("qty", "less_than_equal"): "at most 10,000,000",
    ("price", "greater_than"): "must be above 0",
    ("trigger_price", "greater_than"): "must be above 0",
}


@dataclass(frozen=True)
class FormValues:
    """What the form holds, as typed; selects and radio buttons give known values."""

    symbol: str = ""
    side: str = "BUY"
    qty: str = ""
    order_type: str = "MARKET"
    price: str = ""
    trigger_price: str = ""
    product: str = "INTRADAY"
    validity: str = "DAY"
    brokers: tuple[str, ...] = ()


def needs_price(order_type: str) -> bool:
    return order_type in PRICED_TYPES


def needs_trigger(order_type: str) -> bool:
    return order_type in TRIGGERED_TYPES


def build_order(values: FormValues) -> OrderSpec | FieldErrors:
    """The order to send, or a message for every field that is wrong."""
    errors: FieldErrors = {}
    data: dict[str, object] = {
        "symbol": values.symbol.strip(),
        "side": values.side,
        "order_type": values.order_type,
        "product": values.product,
        "validity": values.validity,
    }
    qty = parse_number(values.qty, int, "a whole number, e.g. 10", errors, "qty")
    if qty is not None:
        data["qty"] = qty
    if needs_price(values.order_type):
        price = parse_number(values.price, float, f"required for {values.order_type}, e.g. 500.50", errors,
                             "price")
        if price is not None:
            data["price"] = price
    if needs_trigger(values.order_type):
        trigger = parse_number(values.trigger_price, float, f"required for {values.order_type}", errors,
                               "trigger_price")
        if trigger is not None:
            data["trigger_price"] = trigger
    if values.brokers:
        data["brokers"] = list(values.brokers)
    else:
        errors["brokers"] = "route to at least one broker"
    try:
        spec = OrderSpec.model_validate(data, strict=False)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            field = str(err["loc"][0]) if err["loc"] else "order"
            if (err["type"] == "missing" and field in errors) or (field == "order" and errors):
                continue  # already explained at a field by the parse step above
            errors.setdefault(field, FRIENDLY.get((field, err["type"]), err["msg"]))
        return errors
    return errors or spec


def field_error(values: FormValues, field: str) -> str | None:
    """The problem with one field only: used while typing, so other empty fields stay quiet."""
    result = build_order(values)
    return result.get(field) if isinstance(result, dict) else None


def parse_number(text: str, kind: type[int] | type[float], hint: str, errors: FieldErrors,
                 field: str) -> int | float | None:
    """``text`` as a number (commas and underscores allowed), or ``None`` with ``hint`` in ``errors``."""
    text = text.strip().replace(",", "").replace("_", "")
    if not text:
        errors[field] = hint if field != "qty" else "required, " + hint
        return None
    try:
        value = kind(text)
    except ValueError:
        errors[field] = hint
        return None
    if isinstance(value, float) and value != value:  # NaN never compares equal to itself
        errors[field] = hint
        return None
    return value
