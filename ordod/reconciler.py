"""Finding out what the brokers really hold when Ordo does not know.

Two cases: orders a previous process left mid-flight (found at start-up), and broker
outcomes recorded as OUTCOME_UNKNOWN (a lookup after an ambiguous failure was impossible).
Each broker is asked by the order's tag: found means success with the broker's order id; a
definite "no such order" means it never arrived; anything else stays OUTCOME_UNKNOWN, which
a retry of the key is answered with (never a second order), and is asked again later.
"""

from __future__ import annotations

import asyncio
import logging

from ordo_shared.models import BrokerResult, OrderSpec
from ordod.audit import AuditLog
from ordod.brokers.base import BrokerOrder
from ordod.brokers.errors import BrokerError, OrderRejected
from ordod.clock import Clock
from ordod.gateway import BrokerGateway
from ordod.idempotency import IdempotencyStore, unified_reply

log = logging.getLogger("ordod.reconciler")

UNKNOWN_MESSAGE = ("the broker may hold this order and cannot be asked right now; Ordo keeps asking. "
                   "Check the broker before placing it again")


def unknown_result(broker_id: str) -> BrokerResult:
    return BrokerResult(broker_id=broker_id, status="error", error_code="OUTCOME_UNKNOWN", message=UNKNOWN_MESSAGE)


class Reconciler:
    def __init__(
        self,
        idempotency: IdempotencyStore,
        gateways: dict[str, BrokerGateway],
        audit: AuditLog,
        clock: Clock,
        interval_s: float,
    ) -> None:
        self._idempotency = idempotency
        self._gateways = gateways
        self._audit = audit
        self._clock = clock
        self._interval_s = interval_s

    async def recover_in_flight(self) -> int:
        """At start-up: settle every order the previous process did not finish."""
        records = await self._idempotency.in_flight()
        for record in records:
            results = []
            for broker_id in record.brokers:
                learnt = await self.ask(record.order_ref, record.idempotency_key, record.order, broker_id)
                results.append(learnt or unknown_result(broker_id))
            reply = unified_reply(record.order_ref, record.idempotency_key, results)
            await self._idempotency.complete(record.idempotency_key, record.order, reply, self._clock.time())
            self._audit.record("order.recovered", order_ref=record.order_ref,
                               data={"status": reply.status, "results": [r.model_dump(mode="json") for r in results]})
            log.warning("recovered order order_ref=%s status=%s", record.order_ref, reply.status)
        return len(records)

    async def resolve_unknown(self) -> int:
        """Ask again about every unknown outcome; returns how many became known."""
        resolved = 0
        for item in await self._idempotency.unresolved():
            learnt = await self.ask(item.order_ref, item.idempotency_key, item.order, item.broker_id)
            if learnt is None:
                continue
            reply = await self._idempotency.resolve(item.order_ref, learnt, self._clock.time())
            self._audit.record("order.reconciled", order_ref=item.order_ref, broker_id=item.broker_id,
                               data={"result": learnt.model_dump(mode="json", exclude={"broker_id"}),
                                     "status": reply.status})
            resolved += 1
        return resolved

    async def ask(self, order_ref: str, key: str, order: OrderSpec, broker_id: str) -> BrokerResult | None:
        """What the broker holds for this order, or None while that cannot be known."""
        gateway = self._gateways.get(broker_id)
        if gateway is None:
            return None
        try:
            order_id = await gateway.adapter.find_order_by_tag(BrokerOrder(order_ref, key, order))
        except OrderRejected as exc:  # the broker has it, rejected: a definite outcome
            return BrokerResult(broker_id=broker_id, status="error", error_code=exc.code.value,
                                message=f"found at the broker by reconciliation, rejected: {exc.message}",
                                broker_code=exc.broker_code, broker_message=exc.broker_message)
        except BrokerError as exc:
            log.info("reconcile lookup failed order_ref=%s broker=%s code=%s", order_ref, broker_id, exc.code.value)
            return None
        if order_id is not None:
            return BrokerResult(broker_id=broker_id, status="success", order_id=order_id,
                                message="found at the broker by reconciliation")
        return BrokerResult(broker_id=broker_id, status="error", error_code="BROKER_UNAVAILABLE",
                            message="the broker has no such order: it was never placed")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.resolve_unknown()
            except Exception:
                log.exception("reconciliation pass failed")
