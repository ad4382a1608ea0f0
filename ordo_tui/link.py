"""The TUI's wire to ``ordod``: typed calls over REQ lanes and the PUB event stream.

A REQ socket carries one request at a time, so each kind of traffic gets its own lane
(its own ``OrdoClient``): a slow ``place_order`` never delays the heartbeat or the kill
switch. Each lane keeps the lazy-pirate behaviour of ``OrdoClient`` (a socket that missed
its reply is closed and recreated). No Textual here: the app drives this from its workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import zmq.asyncio
from pydantic import ValidationError

from ordo_shared.client import OrdoClient, subscribe
from ordo_shared.client_config import ClientSettings
from ordo_shared.messages import (
    AuditReplayReply,
    GetOrderReply,
    HealthReply,
    KillSwitchReply,
    ListOrdersReply,
    LoginCompleteReply,
    LoginStartReply,
)
from ordo_shared.models import (
    Event,
    HealthSnapshot,
    OrderActionReply,
    OrderRecord,
    OrderSpec,
    PlaceOrderReply,
    WireModel,
)
from ordo_tui.errors import BadReply
from ordo_tui.model.kill_switch import KillSwitchChange
from ordo_tui.model.order_actions import OrderAction

_ENVELOPE = frozenset({"v", "id", "ok"})
M = TypeVar("M", bound=WireModel)


@dataclass(frozen=True)
class LoginAnswer:
    """What finishes a login: the OTP (HDFC) or the auth code from the redirect (Fyers)."""

    otp: str | None = None
    auth_code: str | None = None
    state: str | None = None

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in (("otp", self.otp), ("auth_code", self.auth_code), ("state", self.state)) if v}


@dataclass(frozen=True)
class LinkTimeouts:
    """Seconds to wait for each kind of reply before the daemon counts as unreachable."""

    heartbeat_s: float = 2.0
    control_s: float = 5.0
    query_s: float = 5.0
    order_s: float = 20.0
    """Generous: a broker may be slow and retried; a timeout leaves the outcome unknown.
    Cancels, modifies and a kill switch's flatten wait as long: they call brokers too."""
    login_s: float = 30.0
    """A login step runs several calls at the broker."""


class DeskLink(Protocol):
    """What the desk needs from the daemon; tests substitute a scripted one."""

    @property
    def endpoint(self) -> str: ...

    async def health(self) -> HealthSnapshot: ...

    async def list_orders(self, limit: int) -> list[OrderRecord]: ...

    async def place_order(self, idempotency_key: str, order: OrderSpec) -> PlaceOrderReply: ...

    async def get_order(self, order_ref: str) -> OrderRecord: ...

    async def set_kill_switch(self, change: KillSwitchChange) -> KillSwitchReply: ...

    async def act_on_order(self, idempotency_key: str, action: OrderAction) -> OrderActionReply: ...

    async def audit_replay(self, since: int, limit: int) -> AuditReplayReply: ...

    async def login_start(self, broker_id: str) -> LoginStartReply: ...

    async def login_complete(self, broker_id: str, answer: LoginAnswer) -> LoginCompleteReply: ...

    def events(self) -> AsyncIterator[Event]: ...

    def close(self) -> None: ...


class _Lane:
    def __init__(self, client: OrdoClient, timeout_s: float) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        async with self._lock:
            try:
                return await self.client.call(op, timeout_s=self.timeout_s, **fields)
            except asyncio.CancelledError:
                # A REQ socket abandoned mid-request refuses the next send: start afresh.
                self.client.close()
                raise


class DaemonLink:
    def __init__(self, settings: ClientSettings, timeouts: LinkTimeouts | None = None) -> None:
        self.settings = settings
        t = timeouts or LinkTimeouts()
        self._ctx = zmq.asyncio.Context()
        self._lanes = {
            name: _Lane(OrdoClient(settings.endpoint, settings.token, timeout, context=self._ctx,
                                   curve=settings.curve), timeout)
            for name, timeout in (("heartbeat", t.heartbeat_s), ("control", t.control_s),
                                  ("query", t.query_s), ("orders", t.order_s), ("login", t.login_s),
                                  # Broker calls on lanes of their own: a slow cancel never holds up
                                  # the kill switch, and a flatten never holds up releasing a broker.
                                  ("actions", t.order_s), ("flatten", t.order_s))
        }

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    async def _call(self, lane: str, model: type[M], op: str, **fields: Any) -> M:
        reply = await self._lanes[lane].call(op, **fields)
        try:
            return model.model_validate({k: v for k, v in reply.items() if k not in _ENVELOPE}, strict=False)
        except ValidationError as exc:
            raise BadReply(op, exc) from None

    async def health(self) -> HealthSnapshot:
        return (await self._call("heartbeat", HealthReply, "health")).health

    async def list_orders(self, limit: int) -> list[OrderRecord]:
        return (await self._call("query", ListOrdersReply, "list_orders", limit=limit)).orders

    async def place_order(self, idempotency_key: str, order: OrderSpec) -> PlaceOrderReply:
        return await self._call("orders", PlaceOrderReply, "place_order", idempotency_key=idempotency_key,
                                order=order.model_dump(mode="json", exclude_none=True))

    async def get_order(self, order_ref: str) -> OrderRecord:
        return (await self._call("query", GetOrderReply, "get_order", order_ref=order_ref)).order

    async def set_kill_switch(self, change: KillSwitchChange) -> KillSwitchReply:
        """Turning a scope off is only called after the trader confirmed it."""
        lane = "flatten" if change.flatten else "control"
        return await self._call(lane, KillSwitchReply, "kill_switch", **change.fields())

    async def act_on_order(self, idempotency_key: str, action: OrderAction) -> OrderActionReply:
        return await self._call("actions", OrderActionReply, f"{action.kind}_order", idempotency_key=idempotency_key,
                                **action.fields())

    async def audit_replay(self, since: int, limit: int) -> AuditReplayReply:
        return await self._call("query", AuditReplayReply, "audit_replay", since=since, limit=limit)

    async def login_start(self, broker_id: str) -> LoginStartReply:
        return await self._call("login", LoginStartReply, "login_start", broker_id=broker_id)

    async def login_complete(self, broker_id: str, answer: LoginAnswer) -> LoginCompleteReply:
        return await self._call("login", LoginCompleteReply, "login_complete", broker_id=broker_id, **answer.fields())

    def events(self) -> AsyncIterator[Event]:
        return subscribe(self.settings.pub_endpoint, ("audit.", "health."), context=self._ctx,
                         curve=self.settings.curve)

    def close(self) -> None:
        for lane in self._lanes.values():
            lane.client.close()
        self._ctx.destroy(linger=0)
