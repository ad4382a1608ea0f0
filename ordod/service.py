"""The daemon's operations behind every door (ZeroMQ and HTTP): authenticate, authorize by
role, rate-limit orders, then dispatch through a table of one handler per op. Doors only
translate frames or HTTP, so the rules are the same whichever door a request comes in by."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ordo_shared.errors import Forbidden, NotFound, OrdoError, ValidationFailed
from ordo_shared.messages import (
    OPEN_OPS,
    AuditReplayReply,
    AuditReplayRequest,
    CancelOrderRequest,
    GetOrderReply,
    GetOrderRequest,
    HealthReply,
    KillSwitchReply,
    KillSwitchRequest,
    ListOrdersReply,
    ListOrdersRequest,
    LoginCompleteReply,
    LoginCompleteRequest,
    LoginStartReply,
    LoginStartRequest,
    ModifyOrderRequest,
    PingReply,
    Request,
)
from ordo_shared.models import OrderRecord, WireModel
from ordod import __version__, access
from ordod.audit import AuditLog
from ordod.auth import ANONYMOUS, Principal, TokenAuthenticator
from ordod.brokers.base import LoginAnswer, LoginInput
from ordod.config import Role
from ordod.health import HealthMonitor
from ordod.idempotency import IdempotencyStore
from ordod.kill_switch import GLOBAL, KillSwitch
from ordod.metrics import OrdoMetrics
from ordod.orchestrator import Orchestrator
from ordod.order_actions import OrderActions
from ordod.rate_limit import OrderRateLimiter
from ordod.session_manager import SessionManager
from ordod.tracking import TrackingStore

Handler = Callable[[Any, Principal], Awaitable[WireModel]]


class OrdoService:
    def __init__(
        self,
        authenticator: TokenAuthenticator,
        orchestrator: Orchestrator,
        kill_switch: KillSwitch,
        idempotency: IdempotencyStore,
        health: HealthMonitor,
        audit: AuditLog,
        actions: OrderActions,
        tracking: TrackingStore,
        brokers: list[str],
        sessions: SessionManager,
        rate_limiter: OrderRateLimiter | None = None,
        metrics: OrdoMetrics | None = None,
    ) -> None:
        self._auth = authenticator
        self._rate_limiter = rate_limiter
        self._metrics = metrics
        self._orchestrator = orchestrator
        self._kill_switch = kill_switch
        self._idempotency = idempotency
        self._health = health
        self._audit = audit
        self._actions = actions
        self._tracking = tracking
        self._brokers = frozenset(brokers)
        self._sessions = sessions
        self._handlers: dict[str, Handler] = {
            "ping": self._ping,
            "place_order": orchestrator.place_order,
            "get_order": self._get_order,
            "list_orders": self._list_orders,
            "health": self._health_op,
            "kill_switch": self._kill_switch_op,
            "audit_replay": self._audit_replay,
            "cancel_order": self._cancel_order,
            "modify_order": self._modify_order,
            "login_start": self._login_start,
            "login_complete": self._login_complete,
        }

    @property
    def ops(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def principal(self, token: str | None, op: str) -> Principal:
        """Who holds this token, if they may use ``op`` at all (``UNAUTHORIZED``, ``FORBIDDEN``).
        The HTTP door asks this before it reads a body."""
        if op in OPEN_OPS:
            return ANONYMOUS
        principal = self._auth.authenticate(token)
        self._authorize(principal, access.op_role(op), op)
        return principal

    async def call(self, request: Request) -> WireModel:
        """Run one decoded request. Raises ``OrdoError`` subclasses for refusals."""
        try:
            principal = self.principal(request.token, request.op)
            self._authorize(principal, access.required_role(request), access.describe(request))
            if request.op == "place_order" and self._rate_limiter is not None:
                self._rate_limiter.take(principal.name)
        except OrdoError as exc:
            # Refused before the pipeline (which counts its own): the operator sees 401/403/429 too.
            if request.op == "place_order" and self._metrics is not None:
                self._metrics.order_refused(exc.code)
            raise
        return await self._handlers[request.op](request, principal)

    def _authorize(self, principal: Principal, needed: Role, action: str) -> None:
        try:
            access.check(principal, needed, action)
        except Forbidden:
            self._audit.record("access.denied", data={"principal": principal.name, "role": principal.role,
                                                      "action": action, "needed": needed})
            raise

    async def _ping(self, request: Request, principal: Principal) -> PingReply:
        return PingReply(version=__version__, time=datetime.now(UTC).isoformat())

    async def _get_order(self, request: GetOrderRequest, principal: Principal) -> GetOrderReply:
        record = await self._idempotency.get(order_ref=request.order_ref, key=request.idempotency_key)
        if record is None:
            what = f"order_ref {request.order_ref!r}" if request.order_ref else "that idempotency_key"
            raise NotFound(f"no order with {what}")
        return GetOrderReply(order=(await self._with_tracking([record]))[0])

    async def _list_orders(self, request: ListOrdersRequest, principal: Principal) -> ListOrdersReply:
        return ListOrdersReply(orders=await self._with_tracking(await self._idempotency.recent(request.limit)))

    async def _with_tracking(self, records: list[OrderRecord]) -> list[OrderRecord]:
        views = await self._tracking.views_for([r.order_ref for r in records])
        return [r.model_copy(update={"tracking": views.get(r.order_ref, [])}) for r in records]

    async def _health_op(self, request: Request, principal: Principal) -> HealthReply:
        return HealthReply(health=self._health.snapshot())

    async def _kill_switch_op(self, request: KillSwitchRequest, principal: Principal) -> KillSwitchReply:
        if request.scope != GLOBAL and request.scope not in self._brokers:
            raise ValidationFailed(f"scope: unknown broker {request.scope!r}", field="scope")
        if request.active is None:
            return KillSwitchReply(kill_switch=self._kill_switch.state)
        if not request.active:
            state = await self._kill_switch.turn_off(request.scope, principal.name, request.confirm)
            return KillSwitchReply(kill_switch=state)
        state = await self._kill_switch.turn_on(request.scope, request.reason, principal.name)
        if not request.flatten:
            return KillSwitchReply(kill_switch=state)
        report = await self._actions.flatten(request.scope)
        self._audit.record("kill_switch.flattened", data={
            "scope": request.scope, "principal": principal.name, "orders": len(report),
            "cancelled": sum(1 for r in report if r.status == "success"),
            "results": [r.model_dump(mode="json") for r in report]})
        return KillSwitchReply(kill_switch=state, flatten=report)

    async def _cancel_order(self, request: CancelOrderRequest, principal: Principal) -> WireModel:
        return await self._actions.cancel(request, principal)

    async def _modify_order(self, request: ModifyOrderRequest, principal: Principal) -> WireModel:
        return await self._actions.modify(request, principal)

    async def _audit_replay(self, request: AuditReplayRequest, principal: Principal) -> AuditReplayReply:
        page = await self._audit.replay_page(request.since, request.limit)
        return AuditReplayReply(events=page.events, last_seq=self._audit.last_seq,
                                first_available_seq=page.first_available_seq, pruned=page.pruned)

    async def _login_start(self, request: LoginStartRequest, principal: Principal) -> LoginStartReply:
        given = LoginInput(username=request.username, password=request.password)
        challenge = await self._sessions.login_start(request.broker_id, given, principal.name)
        return LoginStartReply(broker_id=request.broker_id, step=challenge.step, prompt=challenge.prompt,
                               login_url=challenge.login_url, expires_in_s=challenge.expires_in_s)

    async def _login_complete(self, request: LoginCompleteRequest, principal: Principal) -> LoginCompleteReply:
        answer = LoginAnswer(
            auth_code=request.auth_code.get_secret_value() if request.auth_code else None,
            otp=request.otp.get_secret_value() if request.otp else None,
            state=request.state,
        )
        info = await self._sessions.login_complete(request.broker_id, answer, principal.name)
        return LoginCompleteReply(broker_id=request.broker_id, session=info.state,
                                  session_expires_at=info.expires_at)
