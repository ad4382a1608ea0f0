"""The order pipeline, step by step, as in the seed's workflow:

received -> idempotency key -> kill switch -> sessions -> pre-trade limits ->
parallel fan-out (breaker, retries) -> durable result -> audit -> one unified answer.
"""

from __future__ import annotations

import itertools
import logging
import secrets

from ordo_shared.errors import KillSwitchActive, OrdoError, ShuttingDown, StorageUnavailable
from ordo_shared.messages import PlaceOrderRequest
from ordo_shared.models import BrokerResult, PlaceOrderReply
from ordod.audit import AuditLog
from ordod.auth import Principal
from ordod.brokers.base import BrokerOrder
from ordod.clock import Clock
from ordod.gateway import BrokerGateway
from ordod.idempotency import IdempotencyStore, Replayed, unified_reply
from ordod.kill_switch import KillSwitch
from ordod.metrics import OrdoMetrics
from ordod.parallel import all_results
from ordod.session_manager import SessionManager
from ordod.validator import PreTradeValidator

log = logging.getLogger("ordod.orders")

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
        self._ref_base = secrets.randbits(24)
        self._ref_counter = itertools.count()
        self.accepting = True

    def new_order_ref(self) -> str:
        # Sortable by time, unique without coordination: the millisecond, then a counter from a
        # random start. Random bits alone repeat (birthday) a few times an hour at thousands of
        # orders a second; the counter cannot repeat within a process, and needs no syscall.
        suffix = (self._ref_base + next(self._ref_counter)) & 0xFFFFFF
        return f"ORD-{int(self._clock.time() * 1000):x}-{suffix:06x}"

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

        try:
            outcome = await self.idempotency.reserve(key, order, targets, order_ref, principal.name,
                                                     self._clock.time())
        except OrdoError as exc:
            self._rejected(order_ref, key, exc, principal)
            raise
        if isinstance(outcome, Replayed):
            # Under this request's ref, so that its order.received has an outcome event.
            self.audit.record("order.replayed", order_ref=order_ref,
                              data={"idempotency_key": key, "principal": principal.name,
                                    "original_order_ref": outcome.reply.order_ref})
            return outcome.reply

        try:
            if self.kill_switch.active:
                raise KillSwitchActive(f"kill switch is active: {self.kill_switch.state.reason or 'no reason given'}")
            if all(self.kill_switch.blocks(b) for b in targets):
                raise KillSwitchActive(f"every target broker is isolated by the kill switch: {', '.join(targets)}")
            session_problems = await self.sessions.ensure_valid(targets)
            self.validator.check_limits(order)
        except OrdoError as exc:
            await self.idempotency.release(key, order_ref)
            self._rejected(order_ref, key, exc, principal)
            raise

        broker_order = BrokerOrder(order_ref=order_ref, idempotency_key=key, spec=order)
        results = await all_results(
            self._route(broker_id, broker_order, session_problems.get(broker_id)) for broker_id in targets
        )
        reply = unified_reply(order_ref, key, results)
        try:
            await self.idempotency.complete(key, order, reply, self._clock.time())
        except StorageUnavailable as exc:
            # The brokers have acted; the key stays locked in flight so no retry can place it
            # twice. Say exactly what happened, since this is the one ok:false after sending.
            summary = ", ".join(f"{r.broker_id}={r.status}:{r.order_id or r.error_code}" for r in results)
            log.critical("order outcome not stored order_ref=%s %s: %s", order_ref, summary, exc.message)
            raise StorageUnavailable(
                f"brokers WERE called ({summary}) but the outcome could not be stored: {exc.message}; "
                f"do not place this order again, check the brokers"
            ) from None
        self.audit.record("order.completed", order_ref=order_ref,
                          data={"status": reply.status, "http_status": reply.http_status,
                                "principal": principal.name})
        # Debug only: the audit log already holds every order, durably and with more detail, and a
        # line per order costs ~30 us of blocking write on the loop and floods journald (whose
        # default rate limit would then drop the warnings that matter).
        if log.isEnabledFor(logging.DEBUG):
            log.debug("order order_ref=%s status=%s brokers=%s", order_ref, reply.status,
                      ",".join(f"{r.broker_id}:{r.status}" for r in results))
        return reply

    def _rejected(self, order_ref: str, key: str, exc: OrdoError, principal: Principal) -> None:
        self.audit.record("order.rejected", order_ref=order_ref,
                          data={"idempotency_key": key, "principal": principal.name, "code": exc.code.value,
                                "message": exc.message})

    async def _route(self, broker_id: str, order: BrokerOrder, session_problem: str | None) -> BrokerResult:
        if session_problem is not None:
            result = BrokerResult(broker_id=broker_id, status="error", error_code="SESSION_EXPIRED",
                                  message=session_problem)
        else:
            result = await self.gateways[broker_id].place(order, halted=lambda: self.kill_switch.blocks(broker_id))
            if result.error_code == "SESSION_EXPIRED":
                self.sessions.note(broker_id, "login_required")
        self.audit.record("broker.result", order_ref=order.order_ref, broker_id=broker_id,
                          data=result.model_dump(mode="json", exclude={"broker_id"}))
        self._metrics.broker_result(result)
        return result
