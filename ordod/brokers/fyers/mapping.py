"""Ordo's orders to Fyers' payloads, and Fyers' order rows back to Ordo's states."""

from __future__ import annotations

from ordo_shared.models import BrokerOrderState, OrderType, Product, Side
from ordod.brokers.base import BrokerOrder, BrokerOrderStatus, OrderChange, working_state
from ordod.brokers.errors import InvalidSymbol
from ordod.brokers.fyers.schemas import (
    FundsReply,
    FyersOrderType,
    FyersProduct,
    FyersSide,
    ModifyOrderBody,
    OrderRow,
    PlaceOrderBody,
)

ORDER_TYPES: dict[OrderType, FyersOrderType] = {"LIMIT": 1, "MARKET": 2, "SL-M": 3, "SL": 4}
SIDES: dict[Side, FyersSide] = {"BUY": 1, "SELL": -1}
PRODUCTS: dict[Product, FyersProduct] = {"INTRADAY": "INTRADAY", "CNC": "CNC", "MARGIN": "MARGIN"}
EXCHANGES = frozenset({"NSE", "BSE", "MCX"})

# Fyers' order status codes (1 cancelled, 2 traded, 4 transit, 5 rejected, 6 pending, 7 expired).
_STATES: dict[int, BrokerOrderState] = {1: "cancelled", 2: "filled", 5: "rejected", 7: "expired"}
REJECTED = 5

# Fyers shows a tag the client set as "1:<tag>" ("2:" marks its own tags).
CLIENT_TAG_PREFIX = "1:"

# Fund row 10 is "Available Balance".
AVAILABLE_BALANCE = 10


def check_symbol(symbol: str) -> None:
    """Fyers trades ``EXCH:TICKER`` on NSE, BSE and MCX; anything else cannot be an order."""
    exchange, _, ticker = symbol.partition(":")
    if exchange not in EXCHANGES or not ticker:
        raise InvalidSymbol(f"{symbol}: Fyers trades only on {', '.join(sorted(EXCHANGES))}; not sent",
                            broker_message="rejected before sending (Ordo)", sent=False)


def place_body(order: BrokerOrder, offline: bool) -> PlaceOrderBody:
    spec = order.spec
    return PlaceOrderBody(
        symbol=spec.symbol,
        qty=spec.qty,
        type=ORDER_TYPES[spec.order_type],
        side=SIDES[spec.side],
        productType=PRODUCTS[spec.product],
        limitPrice=spec.price if spec.price is not None else 0.0,
        stopPrice=spec.trigger_price if spec.trigger_price is not None else 0.0,
        disclosedQty=0,
        validity=spec.validity,
        offlineOrder=offline,
        stopLoss=0.0,
        takeProfit=0.0,
        orderTag=order.tag,
    )


def modify_body(order_id: str, change: OrderChange) -> ModifyOrderBody:
    return ModifyOrderBody(
        id=order_id,
        type=ORDER_TYPES[change.order_type],
        qty=change.qty,
        limitPrice=change.price if change.price is not None else 0.0,
        stopPrice=change.trigger_price if change.trigger_price is not None else 0.0,
    )


def order_tag_query(tag: str) -> str:
    return CLIENT_TAG_PREFIX + tag


def rows_with_tag(rows: list[OrderRow], tag: str) -> list[OrderRow]:
    # The query already filters by tag; checking again guards against a broker that ignores it.
    return [row for row in rows if row.orderTag in (CLIENT_TAG_PREFIX + tag, tag)]


def status_of(row: OrderRow) -> BrokerOrderStatus:
    state = _STATES.get(row.status)
    if state is None:  # transit, pending, or a code Fyers adds later: still working
        state = working_state(row.filledQty, row.qty)
    return BrokerOrderStatus(
        order_id=row.id,
        state=state,
        filled_qty=row.filledQty,
        average_price=row.tradedPrice or None,
        message=row.message,
    )


def available_funds(reply: FundsReply) -> float | None:
    for row in reply.fund_limit:
        if row.id == AVAILABLE_BALANCE:
            return row.equityAmount
    return None
