"""One pydantic model per op, and the registry that maps op names onto them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, StringConstraints, model_validator

from ordo_shared.models import (
    BrokerId,
    Event,
    HealthSnapshot,
    IdempotencyKey,
    KillSwitchState,
    OrderRecord,
    OrderSpec,
    SessionState,
    WireModel,
)

CorrelationId = str | int | None
Reason = Annotated[str, StringConstraints(max_length=500)]


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
    order_ref: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
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
    op: Literal["kill_switch"]
    active: bool | None = None
    reason: Reason = ""


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


class AuditReplayReply(WireModel):
    events: list[Event]
    last_seq: int


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
