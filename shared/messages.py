"""One pydantic model per op, and the registry that maps op names onto them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, StringConstraints, model_validator

from ordo_shared.models import (
    BrokerId,
    Event,
    FlattenResult,
    HealthSnapshot,
    IdempotencyKey,
    KillSwitchState,
    OrderRecord,
    OrderSpec,
    OrderType,
    Price,
    SessionState,
    WireModel,
)

CorrelationId = str | int | None
Reason = Annotated[str, StringConstraints(max_length=500)]
OrderRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Request(WireModel):
    """The envelope every request shares."""

    v: Literal[1]
    op: str
    id: CorrelationId = None
    token: str | None = None


class PingRequest(Request):
    op: Literal["ping"]


class PlaceOrderRequest(Request):
    op: Literal["place_order"]
    idempotency_key: IdempotencyKey
    order: OrderSpec


class GetOrderRequest(Request):
    op: Literal["get_order"]
    order_ref: OrderRef | None = None
    idempotency_key: IdempotencyKey | None = None

    @model_validator(mode="after")
    def _exactly_one_lookup(self) -> GetOrderRequest:
        if (self.order_ref is None) == (self.idempotency_key is None):
            raise ValueError("give exactly one of order_ref or idempotency_key")
        return self


class ListOrdersRequest(Request):
    op: Literal["list_orders"]
    limit: int = Field(default=50, ge=1, le=1000)


class HealthRequest(Request):
    op: Literal["health"]


class KillSwitchRequest(Request):
    """Read (no ``active``) or set the switch. ``scope`` is "global" or one broker id to isolate;
    ``flatten`` also cancels every open order in scope; turning it off needs ``confirm``."""

    op: Literal["kill_switch"]
    active: bool | None = None
    reason: Reason = ""
    scope: Literal["global"] | BrokerId = "global"
    flatten: bool = False
    confirm: bool = False

    @model_validator(mode="after")
    def _flatten_only_when_turning_on(self) -> KillSwitchRequest:
        if self.flatten and self.active is not True:
            raise ValueError("flatten goes with active: true")
        return self


class CancelOrderRequest(Request):
    """Cancel an order at every broker that holds it (or the ones named)."""

    op: Literal["cancel_order"]
    order_ref: OrderRef
    brokers: list[BrokerId] | None = Field(default=None, min_length=1, max_length=32)
    idempotency_key: IdempotencyKey | None = None


class ModifyOrderRequest(Request):
    """Change an open order at every broker that holds it; unset fields keep their value."""

    op: Literal["modify_order"]
    order_ref: OrderRef
    qty: int | None = Field(default=None, gt=0, le=10_000_000)
    price: Price | None = None
    trigger_price: Price | None = None
    order_type: OrderType | None = None
    brokers: list[BrokerId] | None = Field(default=None, min_length=1, max_length=32)
    idempotency_key: IdempotencyKey | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> ModifyOrderRequest:
        if self.qty is None and self.price is None and self.trigger_price is None and self.order_type is None:
            raise ValueError("give at least one of qty, price, trigger_price, order_type")
        return self


class AuditReplayRequest(Request):
    op: Literal["audit_replay"]
    since: int = Field(default=0, ge=0)
    limit: int = Field(default=500, ge=1, le=5000)


class LoginStartRequest(Request):
    """Begin a broker's daily login. Fyers: the reply has the browser login URL. HDFC: the
    password step runs now (``username``/``password`` here, else from the broker's config)
    and the reply says an OTP is on its way. Passwords are never stored or logged."""

    op: Literal["login_start"]
    broker_id: BrokerId
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    password: Annotated[SecretStr, Field(min_length=1, max_length=256)] | None = None


class LoginCompleteRequest(Request):
    """Finish a login: Fyers takes the ``auth_code`` from the redirect (and its ``state``, if
    copied from there too); HDFC takes the ``otp``. Exactly one of the two."""

    op: Literal["login_complete"]
    broker_id: BrokerId
    auth_code: Annotated[SecretStr, Field(min_length=1, max_length=4096)] | None = None
    otp: Annotated[SecretStr, Field(min_length=1, max_length=32)] | None = None
    state: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None

    @model_validator(mode="after")
    def _exactly_one_answer(self) -> LoginCompleteRequest:
        if (self.auth_code is None) == (self.otp is None):
            raise ValueError("give exactly one of auth_code (Fyers) or otp (HDFC)")
        return self


REQUEST_MODELS: dict[str, type[Request]] = {
    "ping": PingRequest,
    "place_order": PlaceOrderRequest,
    "get_order": GetOrderRequest,
    "list_orders": ListOrdersRequest,
    "health": HealthRequest,
    "kill_switch": KillSwitchRequest,
    "audit_replay": AuditReplayRequest,
    "cancel_order": CancelOrderRequest,
    "modify_order": ModifyOrderRequest,
    "login_start": LoginStartRequest,
    "login_complete": LoginCompleteRequest,
}

# Ops a caller may use without a token: liveness must be checkable by anything.
OPEN_OPS = frozenset({"ping"})


class PingReply(WireModel):
    pong: bool = True
    version: str
    time: str


class GetOrderReply(WireModel):
    order: OrderRecord


class ListOrdersReply(WireModel):
    orders: list[OrderRecord]


class HealthReply(WireModel):
    health: HealthSnapshot


class KillSwitchReply(WireModel):
    kill_switch: KillSwitchState
    flatten: list[FlattenResult] | None = None


class AuditReplayReply(WireModel):
    """``events`` after ``since``, oldest first. Retention may have archived old events out of
    the database: ``first_available_seq`` is the oldest seq still replayable, and ``pruned``
    is true when events the caller asked for (``since + 1`` up to ``first_available_seq - 1``)
    are gone from the database (they are in the daemon's archive files). It is a flag, not an
    error, so a caller still gets everything that is available in the same answer."""

    events: list[Event]
    last_seq: int
    first_available_seq: int = 1
    pruned: bool = False


class LoginStartReply(WireModel):
    broker_id: str
    step: Literal["open_url", "enter_otp"]
    """What the human does next: open ``login_url`` in a browser, or enter the OTP."""
    prompt: str
    login_url: str | None = None
    expires_in_s: float | None = None
    """How long the started login waits for ``login_complete``."""


class LoginCompleteReply(WireModel):
    broker_id: str
    session: SessionState
    session_expires_at: datetime | None = None


def reply_fields(model: WireModel) -> dict[str, Any]:
    """The op-specific fields of a reply, as they go on the wire (JSON types)."""
    return model.model_dump(mode="json")
