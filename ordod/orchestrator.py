"""The order pipeline, step by step, as in the seed's workflow:

received -> idempotency key -> kill switch -> sessions -> pre-trade limits ->
parallel fan-out (breaker, retries) -> durable result -> audit -> one unified answer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from ordo_shared.errors import KillSwitchActive, OrdoError, ShuttingDown
from ordo_shared.messages import PlaceOrderRequest
from ordo_shared.models import BrokerResult, OverallStatus, PlaceOrderReply
from ordod.audit import AuditLog
from ordod.auth import Principal
from ordod.brokers.base import BrokerOrder
from ordod.clock import Clock
from ordod.gateway import BrokerGateway
from ordod.idempotency import IdempotencyStore, Replayed
from ordod.kill_switch import KillSwitch
from ordod.metrics import OrdoMetrics
from ordod.session_manager import SessionManager
from ordod.validator import PreTradeValidator

log = logging.getLogger("ordod.orders")

_STATUS_HTTP: dict[OverallStatus, int] = {"success": 200, "partial_success": 207, "failed": 502}


def overall_status(results: list[BrokerResult]) -> OverallStatus:
    placed = sum(1 for r in results if r.status == "success")
    if placed == len(results) and placed > 0:
        return "success"
    return "partial_success" if placed else "failed"


def unified_reply(order_ref: str, key: str, results: list[BrokerResult]) -> PlaceOrderReply:
    status = overall_status(results)
    return PlaceOrderReply(
        status=status, http_status=_STATUS_HTTP[status], order_ref=order_ref, idempotency_key=key, results=results
    )


class Orchestrator:
    def __init__(
        self,
        idempotency: IdempotencyStore,
        kill_switch: KillSwitch,
        sessions: SessionManager,
        validator: PreTradeValidator,
        gateways: dict[str, BrokerGateway],
        audit: AuditLog,
        clock: Clock,
        metrics: OrdoMetrics | None = None,
    ) -> None:
        self.idempotency = idempotency
        self.kill_switch = kill_switch
        self.sessions = sessions
        self.validator = validator
        self.gateways = gateways
        self.audit = audit
        self._clock = clock
        self._metrics = metrics or OrdoMetrics()
        self.accepting = True

    def new_order_ref(self) -> str:
        # Sortable by time, unique without coordination.
        return f"ORD-{int(self._clock.time() * 1000):x}-{secrets.token_hex(3)}"

    async def place_order(self, request: PlaceOrderRequest, principal: Principal) -> PlaceOrderReply:
        started = self._clock.monotonic()
        try:
            reply = await self._place_order(request, principal)
        except OrdoError as exc:
            self._metrics.order_refused(exc.code)
            raise
        self._metrics.order_answered(reply, self._clock.monotonic() - started)
        return reply

    async def _place_order(self, request: PlaceOrderRequest, principal: Principal) -> PlaceOrderReply:
        if not self.accepting:
            raise ShuttingDown("ordod is shutting down and takes no new orders")
        order, key = request.order, request.idempotency_key
        targets = self.validator.target_brokers(order)
        order_ref = self.new_order_ref()
        self.audit.record(
            "order.received",
            order_ref=order_ref,
            data={"idempotency_key": key, "principal": principal.name, "brokers": targets,
                  "order": order.model_dump(mode="json", exclude_none=True)},
        )

        outcome = await self.idempotency.reserve(key, order, targets, order_ref, principal.name, self._clock.time())
        if isinstance(outcome, Replayed):
            self.audit.record("order.replayed", order_ref=outcome.reply.order_ref,
                              data={"idempotency_key": key, "principal": principal.name})
            return outcome.reply

        try:
            if self.kill_switch.active:
                raise KillSwitchActive(f"kill switch is active: {self.kill_switch.state.reason or 'no reason given'}")
            session_problems = await self.sessions.ensure_valid(targets)
            self.validator.check_limits(order)
        except OrdoError as exc:
            await self.idempotency.release(key, order_ref)
            self.audit.record("order.rejected", order_ref=order_ref,
                              data={"idempotency_key": key, "code": exc.code.value, "message": exc.message})
            raise

        broker_order = BrokerOrder(order_ref=order_ref, idempotency_key=key, spec=order)
        results = await asyncio.gather(
            *(self._route(broker_id, broker_order, session_problems.get(broker_id)) for broker_id in targets)
        )
        reply = unified_reply(order_ref, key, list(results))
        await self.idempotency.complete(key, reply, self._clock.time())
        self.audit.record("order.completed", order_ref=order_ref,
                          data={"status": reply.status, "http_status": reply.http_status})
        log.info("order order_ref=%s status=%s brokers=%s", order_ref, reply.status,
                 ",".join(f"{r.broker_id}:{r.status}" for r in results))
        return reply

    async def _route(self, broker_id: str, order: BrokerOrder, session_problem: str | None) -> BrokerResult:
        if session_problem is not None:
            result = BrokerResult(broker_id=broker_id, status="error", error_code="SESSION_EXPIRED",
                                  message=session_problem)
        else:
            result = await self.gateways[broker_id].place(order, halted=lambda: self.kill_switch.active)
            if result.error_code == "SESSION_EXPIRED":
                self.sessions.note(broker_id, "login_required")
        self.audit.record("broker.result", order_ref=order.order_ref, broker_id=broker_id,
                          data=result.model_dump(mode="json", exclude={"broker_id"}))
        self._metrics.broker_result(result)
        return result
