"""Fyers' own payloads (API v3), as pydantic models.

Requests are strict and closed, so a wrong type can never reach the broker. Replies are
lenient (unknown keys kept, numbers accepted as strings where Fyers varies), because the
broker may add fields at any time and a reply we cannot fully read must still be judged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Reply(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


FyersOrderType = Literal[1, 2, 3, 4]  # 1 limit, 2 market, 3 stop (SL-M), 4 stop-limit (SL)
FyersSide = Literal[1, -1]
FyersProduct = Literal["CNC", "INTRADAY", "MARGIN", "CO", "BO", "MTF"]


class PlaceOrderBody(_Request):
    """POST /orders/sync."""

    symbol: str
    qty: int
    type: FyersOrderType
    side: FyersSide
    productType: FyersProduct
    limitPrice: float
    stopPrice: float
    disclosedQty: int
    validity: Literal["DAY", "IOC"]
    offlineOrder: bool
    stopLoss: float
    takeProfit: float
    orderTag: str = Field(pattern=r"^[A-Za-z0-9]{1,30}$")


class ModifyOrderBody(_Request):
    """PATCH /orders/sync: fields left out keep their values at the broker."""

    id: str
    type: FyersOrderType
    qty: int
    limitPrice: float
    stopPrice: float


class CancelOrderBody(_Request):
    """DELETE /orders/sync."""

    id: str


class ValidateAuthCodeBody(_Request):
    """POST /validate-authcode."""

    grant_type: Literal["authorization_code"]
    appIdHash: str
    code: str


class Envelope(_Reply):
    """Every reply: ``s`` is "ok" or "error"; ``code`` is positive on success, negative on error."""

    s: str = ""
    code: int | None = None
    message: str = ""


class OrderReply(Envelope):
    id: str | None = None


class OrderRow(_Reply):
    id: str
    status: int
    symbol: str = ""
    qty: int = 0
    filledQty: int = 0
    tradedPrice: float = 0.0
    side: int = 0
    type: int = 0
    orderTag: str = ""
    message: str = ""


class OrderBookReply(Envelope):
    orderBook: list[OrderRow] = Field(default_factory=list)


class FundRow(_Reply):
    id: int
    title: str = ""
    equityAmount: float = 0.0


class FundsReply(Envelope):
    fund_limit: list[FundRow] = Field(default_factory=list)


class TokenReply(Envelope):
    access_token: str | None = None
