"""Ordo's orders to InvestRight's payloads (through the security master), and InvestRight's
order rows back to Ordo's states."""

from __future__ import annotations

from typing import Literal

from ordo_shared.models import BrokerOrderState, OrderType, Product
from ordod.brokers.base import BrokerOrder, BrokerOrderStatus, OrderChange, working_state
from ordod.brokers.hdfc.schemas import HdfcOrderType, HdfcProduct, Margins, ModifyOrderBody, OrderRow, PlaceOrderBody
from ordod.brokers.hdfc.security_master import Instrument

ORDER_TYPES: dict[OrderType, HdfcOrderType] = {"MARKET": "MARKET", "LIMIT": "LIMIT", "SL": "SL", "SL-M": "SL-M"}
# InvestRight's product names: cash-and-carry is DELIVERY, F&O carry-forward is OVERNIGHT.
PRODUCTS: dict[Product, HdfcProduct] = {"INTRADAY": "INTRADAY", "CNC": "DELIVERY", "MARGIN": "OVERNIGHT"}
REFERENCE_DIGITS = 20

# The book's vocabulary differs from the request's and is only partly documented.
_FILLED = frozenset({"TRADED", "COMPLETE", "COMPLETED", "FILLED", "EXECUTED", "FULLY EXECUTED"})
_PARTIAL = frozenset({"PARTIALLY TRADED", "PARTIALLY EXECUTED", "PARTIALLY FILLED", "PART TRADED"})
_STATES: dict[str, BrokerOrderState] = {
    **{s: "filled" for s in _FILLED}, **{s: "partially_filled" for s in _PARTIAL},
    "REJECTED": "rejected", "CANCELLED": "cancelled", "CANCELED": "cancelled", "EXPIRED": "expired",
}


def reference_number(order: BrokerOrder) -> str:
    """``external_reference_number``: digits only, at most 20, derived from the idempotency key."""
    return order.broker_tag(REFERENCE_DIGITS, digits_only=True)


def place_body(order: BrokerOrder, instrument: Instrument, amo: bool) -> PlaceOrderBody:
    spec = order.spec
    derivative = instrument.expiry is not None
    option_type: Literal["CE", "PE"] | None = None
    if instrument.option_type == "CE":
        option_type = "CE"
    elif instrument.option_type == "PE":
        option_type = "PE"
    return PlaceOrderBody(
        exchange=instrument.exchange,
        security_id=instrument.security_id,
        instrument_segment=instrument.segment,
        transaction_type=spec.side,
        product=PRODUCTS[spec.product],
        order_type=ORDER_TYPES[spec.order_type],
        quantity=spec.qty,
        price=spec.price if spec.price is not None else 0.0,
        trigger_price=spec.trigger_price if spec.trigger_price is not None else 0.0,
        disclosed_quantity=0,
        validity=spec.validity,
        amo=amo,
        external_reference_number=reference_number(order),
        expiry_date=instrument.expiry.strftime("%Y%m%d") if instrument.expiry else None,
        strike_price=instrument.strike if option_type else None,
        option_type=option_type,
        underlying_symbol=(instrument.underlying or None) if derivative else None,
    )


def modify_body(change: OrderChange) -> ModifyOrderBody:
    return ModifyOrderBody(
        quantity=change.qty,
        order_type=ORDER_TYPES[change.order_type],
        validity="DAY",
        price=change.price if change.price is not None else 0.0,
        trigger_price=change.trigger_price if change.trigger_price is not None else 0.0,
        disclosed_quantity=0,
    )


def is_rejected(row: OrderRow) -> bool:
    return row.status.strip().upper() == "REJECTED"


def status_of(row: OrderRow) -> BrokerOrderStatus:
    state = _STATES.get(row.status.strip().upper())
    if state is None:  # open, pending, transit, "put order req received", ...: still working
        state = working_state(row.filled_quantity, row.quantity)
    return BrokerOrderStatus(
        order_id=row.order_id,
        state=state,
        filled_qty=row.filled_quantity,
        average_price=row.average_price or None,
        message=row.status_message,
    )


def rows_with_reference(rows: list[OrderRow], reference: str) -> list[OrderRow]:
    return [row for row in rows if (row.external_reference_number or "").strip() == reference]


def unechoed_lookalikes(rows: list[OrderRow], order: BrokerOrder, instrument: Instrument) -> list[OrderRow]:
    """Rows for the same instrument, side and quantity whose reference is not one of ours.
    Whether InvestRight echoes ``external_reference_number`` verbatim is not documented; if it
    rewrote ours, one of these may be our order, and "not found" would not be safe to act on."""
    return [
        row for row in rows
        if not (row.external_reference_number or "").strip().isdigit()
        and row.security_id == instrument.security_id
        and row.transaction_type.strip().upper() == order.spec.side
        and row.quantity == order.spec.qty
    ]


def available_funds(margins: Margins) -> float:
    return margins.equity.total_available_limit
