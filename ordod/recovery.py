"""What a restart does with orders a previous process left mid-flight.

The reservation was durable, so the key cannot be placed again; the question is only what
the brokers hold. Each broker is asked by the order's tag: found means success with the
broker's order id; a definite "no such order" means it never arrived; anything else stays
OUTCOME_UNKNOWN, which a retry of the key is answered with (never a second order).
"""

from __future__ import annotations

import logging

from ordo_shared.models import BrokerResult
from ordod.audit import AuditLog
from ordod.brokers.base import BrokerOrder
from ordod.brokers.errors import BrokerError, OrderRejected
from ordod.clock import Clock
from ordod.gateway import BrokerGateway
from ordod.idempotency import IdempotencyStore, InFlightRecord
from ordod.orchestrator import unified_reply

log = logging.getLogger("ordod.recovery")


async def recover_in_flight(
    idempotency: IdempotencyStore, gateways: dict[str, BrokerGateway], audit: AuditLog, clock: Clock
) -> int:
    records = await idempotency.in_flight()
    for record in records:
        results = [await _reconcile(record, broker_id, gateways.get(broker_id)) for broker_id in record.brokers]
        reply = unified_reply(record.order_ref, record.idempotency_key, results)
        await idempotency.complete(record.idempotency_key, reply, clock.time())
        audit.record("order.recovered", order_ref=record.order_ref,
                     data={"status": reply.status, "results": [r.model_dump(mode="json") for r in results]})
        log.warning("recovered order order_ref=%s status=%s", record.order_ref, reply.status)
    return len(records)


async def _reconcile(record: InFlightRecord, broker_id: str, gateway: BrokerGateway | None) -> BrokerResult:
    unknown = BrokerResult(
        broker_id=broker_id, status="error", error_code="OUTCOME_UNKNOWN",
        message="ordod stopped while sending this order and cannot tell whether the broker has it; "
                "check the broker before placing it again",
    )
    if gateway is None:
        return unknown
    order = BrokerOrder(record.order_ref, record.idempotency_key, record.order)
    try:
        order_id = await gateway.adapter.find_order_by_tag(order)
    except OrderRejected as exc:
        return BrokerResult(broker_id=broker_id, status="error", error_code=exc.code.value,
                            message=f"found at the broker after a restart, rejected: {exc.message}",
                            broker_code=exc.broker_code, broker_message=exc.broker_message)
    except BrokerError:
        return unknown
    if order_id is not None:
        return BrokerResult(broker_id=broker_id, status="success", order_id=order_id,
                            message="found at the broker after a restart")
    return BrokerResult(broker_id=broker_id, status="error", error_code="BROKER_UNAVAILABLE",
                        message="ordod stopped before the broker received this order; it was not placed")
