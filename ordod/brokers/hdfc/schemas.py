"""HDFC InvestRight's own payloads, as pydantic models.

Requests are strict and closed. Replies are lenient: the API's error bodies are not
documented, key casing is mixed, and numbers sometimes arrive as strings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HdfcOrderType = Literal["MARKET", "LIMIT", "SL", "SL-M"]
HdfcProduct = Literal["DELIVERY", "OVERNIGHT", "INTRADAY", "MTF"]


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Reply(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class PlaceOrderBody(_Request):
    """POST /oapi/v1/orders/regular. Derivative fields are left out for cash orders."""

    exchange: str
    security_id: str
    instrument_segment: str
    transaction_type: Literal["BUY", "SELL"]
    product: HdfcProduct
    order_type: HdfcOrderType
    quantity: int
    price: float
    trigger_price: float
    disclosed_quantity: int
    validity: Literal["DAY", "IOC"]
    amo: bool
    # Digits as a string: a 20-digit number does not fit the 64-bit integers JSON parsers use.
    external_reference_number: str = Field(pattern=r"^\d{1,20}$")
    expiry_date: str | None = Field(default=None, pattern=r"^\d{8}$")
    strike_price: float | None = None
    option_type: Literal["CE", "PE"] | None = None
    underlying_symbol: str | None = None


class ModifyOrderBody(_Request):
    """PUT /oapi/v1/orders/regular/{order_id}."""

    quantity: int
    order_type: HdfcOrderType
    validity: Literal["DAY", "IOC"]
    price: float
    trigger_price: float
    disclosed_quantity: int


class LoginBody(_Request):
    username: str
    password: str


class TwoFaBody(_Request):
    answer: str


class AccessTokenBody(_Request):
    apiSecret: str


class Envelope(_Reply):
    status: str = ""
    message: str = ""
    data: Any = None


class OrderIdData(_Reply):
    order_id: str


class OrderRow(_Reply):
    order_id: str
    status: str = ""
    security_id: str = ""
    transaction_type: str = ""
    quantity: int = 0
    filled_quantity: int = 0
    average_price: float | None = None
    status_message: str = ""
    external_reference_number: str | None = None


class EquityMargins(_Reply):
    total_available_limit: float


class Margins(_Reply):
    equity: EquityMargins
