"""Domain models of the wire contract: orders, per-broker results, health, events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT", "SL", "SL-M"]
Product = Literal["INTRADAY", "CNC", "MARGIN"]
Validity = Literal["DAY", "IOC"]
OverallStatus = Literal["success", "partial_success", "failed"]
BrokerStatus = Literal["success", "error", "skipped"]
SessionState = Literal["valid", "expiring", "expired", "login_required"]
BreakerState = Literal["closed", "open", "half_open", "isolated"]
BrokerOrderState = Literal["open", "partially_filled", "filled", "cancelled", "rejected", "expired"]
TERMINAL_STATES: frozenset[str] = frozenset({"filled", "cancelled", "rejected", "expired"})

# Exchange, colon, trading symbol: "NSE:SBIN-EQ", "NSE:NIFTY24DECFUT", "BSE:M&M-A".
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,10}:[A-Za-z0-9&_.\-]{1,60}$")]
# Printable ASCII without spaces at the ends: safe in headers, logs and broker tags.
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$")]
BrokerId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_\-]{0,31}$")]
Price = Annotated[float, Field(gt=0, lt=1e12, allow_inf_nan=False)]

PRICED_TYPES = frozenset({"LIMIT", "SL"})
TRIGGERED_TYPES = frozenset({"SL", "SL-M"})


class WireModel(BaseModel):
    """Strict and closed: a wrong type or an unknown field is an error, never a guess."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class OrderSpec(WireModel):
    """The order as a trader states it, independent of any broker."""

    symbol: Symbol
    side: Side
    qty: int = Field(gt=0, le=10_000_000)
    order_type: OrderType
    price: Price | None = None
    trigger_price: Price | None = None
    product: Product = "INTRADAY"
    validity: Validity = "DAY"
    brokers: list[BrokerId] | None = Field(default=None, min_length=1, max_length=32)
    tag: Annotated[str, StringConstraints(pattern=r"^[\x20-\x7e]{0,64}$")] | None = None

    @model_validator(mode="after")
    def _prices_fit_the_type(self) -> OrderSpec:
        if self.order_type in PRICED_TYPES and self.price is None:
            raise ValueError(f"price is required for {self.order_type} orders")
        if self.order_type not in PRICED_TYPES and self.price is not None:
            raise ValueError(f"price must not be set for {self.order_type} orders")
        if self.order_type in TRIGGERED_TYPES and self.trigger_price is None:
            raise ValueError(f"trigger_price is required for {self.order_type} orders")
        if self.order_type not in TRIGGERED_TYPES and self.trigger_price is not None:
            raise ValueError(f"trigger_price must not be set for {self.order_type} orders")
        if self.brokers is not None and len(set(self.brokers)) != len(self.brokers):
            raise ValueError("brokers must not repeat")
        return self


class BrokerResult(WireModel):
    """What happened to one order at one broker."""

    broker_id: str
    status: BrokerStatus
    order_id: str | None = None
    error_code: str | None = None
    message: str = ""
    attempts: int = 0
    latency_ms: float = 0.0
    broker_code: str | None = None
    broker_message: str | None = None


class PlaceOrderReply(WireModel):
    """The unified answer to ``place_order`` (also what the idempotency store keeps)."""

    status: OverallStatus
    http_status: int
    replayed: bool = False
    order_ref: str
    idempotency_key: str
    results: list[BrokerResult]


class OrderActionReply(PlaceOrderReply):
    """The answer to ``cancel_order`` and ``modify_order``: the same shape as ``place_order``'s."""

    action: Literal["cancel", "modify"]


class BrokerOrderView(WireModel):
    """An order's life at one broker after it was accepted, as tracking last saw it."""

    broker_id: str
    order_id: str
    state: BrokerOrderState
    order_type: str
    qty: int
    price: float | None = None
    trigger_price: float | None = None
    filled_qty: int = 0
    average_price: float | None = None
    message: str = ""
    updated_at: datetime


class OrderRecord(WireModel):
    """One order as ``get_order`` and ``list_orders`` show it."""

    order_ref: str
    idempotency_key: str
    state: Literal["in_flight", "completed"]
    created_at: datetime
    completed_at: datetime | None = None
    order: OrderSpec
    status: OverallStatus | None = None
    results: list[BrokerResult] = Field(default_factory=list)
    tracking: list[BrokerOrderView] = Field(default_factory=list)


class Isolation(WireModel):
    """One broker cut off by hand: no new order reaches it."""

    reason: str = ""
    set_by: str = ""
    set_at: datetime | None = None


class KillSwitchState(WireModel):
    """The global switch, plus the brokers isolated one by one."""

    active: bool
    reason: str = ""
    set_by: str = ""
    set_at: datetime | None = None
    isolated: dict[str, Isolation] = Field(default_factory=dict)


class FlattenResult(WireModel):
    """What cancelling one open order at one broker did, during a flatten."""

    order_ref: str
    broker_id: str
    order_id: str
    status: Literal["success", "error"]
    error_code: str | None = None
    message: str = ""


class BrokerHealth(WireModel):
    broker_id: str
    adapter: str
    enabled: bool
    session: SessionState
    session_expires_at: datetime | None = None
    breaker: BreakerState
    last_latency_ms: float | None = None
    error_rate: float = 0.0
    last_error: str | None = None
    last_error_at: datetime | None = None


class HealthSnapshot(WireModel):
    version: str
    status: Literal["ok", "degraded", "stopping"]
    started_at: datetime
    uptime_s: float
    kill_switch: KillSwitchState
    brokers: list[BrokerHealth]
    in_flight_orders: int
    audit_seq: int


class Event(WireModel):
    """One message on the PUB socket (second frame; the first frame is the topic).

    Audit events carry a persistent, gap-free ``seq``; health snapshots carry none.
    """

    seq: int | None
    ts: datetime
    type: str
    order_ref: str | None = None
    broker_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def topic(self) -> str:
        return self.type if self.seq is None else f"audit.{self.type}"
