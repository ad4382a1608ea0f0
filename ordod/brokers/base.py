"""The interface every broker adapter implements.

Adapters speak one broker's API and nothing else: no retries, no breaker, no kill switch.
Those wrap every adapter in one place (``ordod.gateway``). Every method either returns
the documented value or raises a ``BrokerError`` subclass; any other exception is a bug.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import SecretStr

from ordo_shared.errors import BadRequest
from ordo_shared.models import BrokerOrderState, OrderSpec, OrderType, SessionState


# An order's tag is asked for a few times per broker (to send it, to index it); the last few
# keys' tags are remembered rather than hashed again each time.
@lru_cache(maxsize=256)
def client_tag(idempotency_key: str, length: int = 30, digits_only: bool = False) -> str:
    """A broker-side order tag derived from the idempotency key: the same key always gives
    the same tag, so an order can be found at the broker after an ambiguous failure or a crash."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    if digits_only:
        return str(int.from_bytes(digest, "big"))[:length]
    return "ordo" + digest.hex()[: length - 4]


@dataclass(frozen=True)
class BrokerOrder:
    """What the pipeline hands an adapter to place. ``halted`` is the kill switch: an adapter
    that makes the order wait (its rate limiter) asks it again right before sending."""

    order_ref: str
    idempotency_key: str
    spec: OrderSpec
    halted: Callable[[], bool] = field(default=lambda: False, compare=False, repr=False)

    @property
    def tag(self) -> str:
        return client_tag(self.idempotency_key)

    def halted_by(self, halted: Callable[[], bool]) -> BrokerOrder:
        """This order with ``halted`` as its kill switch: ``dataclasses.replace`` without the
        cost of its introspection (two calls an order)."""
        return BrokerOrder(self.order_ref, self.idempotency_key, self.spec, halted)

    def broker_tag(self, length: int = 30, digits_only: bool = False) -> str:
        """The tag in the shape one broker accepts (e.g. HDFC's numeric reference of up to 20 digits)."""
        return client_tag(self.idempotency_key, length=length, digits_only=digits_only)


@dataclass(frozen=True)
class OrderChange:
    """A modification of an open order: its new type and quantity, and the prices that type needs."""

    order_type: OrderType
    qty: int
    price: float | None = None
    trigger_price: float | None = None


@dataclass(frozen=True)
class PlacedOrder:
    order_id: str
    broker_code: str | None = None
    broker_message: str | None = None


def working_state(filled_qty: int, qty: int) -> BrokerOrderState:
    """What a broker's own not-yet-final status (open, pending, in transit, ...) means here."""
    return "partially_filled" if 0 < filled_qty < qty else "open"


@dataclass(frozen=True)
class BrokerOrderStatus:
    order_id: str
    state: BrokerOrderState
    filled_qty: int = 0
    average_price: float | None = None
    message: str = ""


@dataclass(frozen=True)
class SessionInfo:
    state: SessionState
    expires_at: datetime | None = None


@dataclass(frozen=True)
class LoginChallenge:
    """What the human does next to finish a login."""

    step: Literal["open_url", "enter_otp"]
    prompt: str
    login_url: str | None = None
    expires_in_s: float | None = None


@dataclass(frozen=True)
class LoginInput:
    """What ``login_start`` may carry; anything missing comes from the broker's config."""

    username: str | None = None
    password: SecretStr | None = None


@dataclass(frozen=True)
class LoginAnswer:
    """What ``login_complete`` carries: the auth code (Fyers) or the OTP (HDFC)."""

    auth_code: str | None = None
    otp: str | None = None
    state: str | None = None


class BrokerAdapter(ABC):
    """One broker account. ``broker_id`` is the config table name; ``kind`` the adapter type."""

    kind: str = ""

    def __init__(self, broker_id: str) -> None:
        self.broker_id = broker_id

    async def start(self) -> None:  # noqa: B027 - optional hook, most adapters need nothing
        """Open connections; called once before the first order."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once at shutdown."""

    @abstractmethod
    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        """Place the order, sending ``order.tag`` as the broker-side tag."""

    @abstractmethod
    async def cancel_order(self, order_id: str) -> None:
        """Cancel an open order."""

    @abstractmethod
    async def modify_order(self, order_id: str, change: OrderChange) -> None:
        """Change an open order's type, quantity and prices. Raises ``OrderRejected`` when the
        broker refuses (unknown, filled or cancelled order)."""

    @abstractmethod
    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        """The order's current state at the broker."""

    @abstractmethod
    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        """The broker's order id for this order's tag, or None if the broker has no such order.
        Raises ``OrderRejected`` when the broker has the order but rejected it, and any other
        ``BrokerError`` when the lookup itself is impossible (that is an unknown outcome)."""

    @abstractmethod
    def session(self) -> SessionInfo:
        """The session as the adapter knows it now, without a network call."""

    @abstractmethod
    async def refresh_session(self) -> SessionInfo:
        """Try to renew the session without a human; returns the resulting state."""

    @abstractmethod
    async def health_probe(self) -> None:
        """A harmless call (profile, funds) that proves the broker answers. Raises BrokerError."""

    async def verify_session(self) -> SessionInfo:
        """The session, proven with a round trip where the adapter has one to prove; a
        broker refusing the token turns it into ``login_required``. Never raises."""
        return self.session()

    async def login_start(self, given: LoginInput) -> LoginChallenge:
        """Begin the daily login: returns what the human does next. Raises ``LoginFailed``
        (or a ``BrokerError``) when the broker refuses or cannot be reached."""
        raise BadRequest(f"broker {self.broker_id} ({self.kind}) needs no login")

    async def login_complete(self, answer: LoginAnswer) -> SessionInfo:
        """Finish the login with the auth code or OTP; the new token is stored encrypted."""
        raise BadRequest(f"broker {self.broker_id} ({self.kind}) needs no login")
