"""Cancel and modify: routed to every broker that holds an order, answered in the same
per-broker shape and status codes as ``place_order``; and the kill switch's flatten.

Cancels are always allowed, even under the kill switch (it stops new risk, not the removal
of risk); a modify that increases quantity is refused while the switch blocks a broker.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from ordo_shared.errors import KillSwitchActive, NotFound, ValidationFailed
from ordo_shared.messages import CancelOrderRequest, ModifyOrderRequest
from ordo_shared.models import (
    PRICED_TYPES,
    TERMINAL_STATES,
    TRIGGERED_TYPES,
    BrokerResult,
    FlattenResult,
    OrderActionReply,
    OrderSpec,
)
from ordod.action_store import ActionStore, action_fingerprint
from ordod.audit import AuditLog
from ordod.auth import Principal
from ordod.brokers.base import OrderChange
from ordod.clock import Clock
from ordod.gateway import BrokerGateway
from ordod.idempotency import IdempotencyStore, unified_reply
from ordod.kill_switch import GLOBAL, KillSwitch
from ordod.tracking import OrderTracker, TrackedOrder
from ordod.validator import PreTradeValidator

log = logging.getLogger("ordod.actions")


def new_terms(view: TrackedOrder, req: ModifyOrderRequest) -> OrderChange:
    """The order's terms after the modify: unset fields keep their value; prices follow the type."""
    order_type = req.order_type or view.view.order_type
    price = req.price if req.price is not None else view.view.price
    trigger = req.trigger_price if req.trigger_price is not None else view.view.trigger_price
    if order_type not in PRICED_TYPES:
        price = None
    if order_type not in TRIGGERED_TYPES:
        trigger = None
    if order_type in PRICED_TYPES and price is None:
        raise ValidationFailed(f"price: required for {order_type} orders", field="price")
    if order_type in TRIGGERED_TYPES and trigger is None:
        raise ValidationFailed(f"trigger_price: required for {order_type} orders", field="trigger_price")
    return OrderChange(order_type=order_type, qty=req.qty or view.view.qty, price=price,  # type: ignore[arg-type]
                       trigger_price=trigger)



# Cancels a flatten has in flight at one broker at a time.
FLATTEN_IN_FLIGHT_PER_BROKER = 4

class OrderActions:
    def __init__(self, store: ActionStore, orders: IdempotencyStore, tracker: OrderTracker,
                 gateways: dict[str, BrokerGateway], kill_switch: KillSwitch, validator: PreTradeValidator,
                 audit: AuditLog, clock: Clock) -> None:
        self._store = store
        self._orders = orders
        self._tracker = tracker
        self._gateways = gateways
        self._kill_switch = kill_switch
        self._validator = validator
        self._audit = audit
        self._clock = clock

    async def cancel(self, req: CancelOrderRequest, principal: Principal) -> OrderActionReply:
        fields = {"action": "cancel", "order_ref": req.order_ref, "brokers": req.brokers}
        key = req.idempotency_key or f"auto-{secrets.token_hex(12)}"
        fp = action_fingerprint(fields)
        replay = await self._store.begin(key, fp, self._clock.time())
        if replay is not None:
            return replay
        try:
            held = await self._targets(req.order_ref, req.brokers)
        except Exception:
            self._store.abandon(key)
            raise
        self._audit.record("order.cancel_requested", order_ref=req.order_ref,
                           data={"principal": principal.name, "brokers": [t.broker_id for t in held]})
        results = await asyncio.gather(*(self._cancel_one(t) for t in held))
        return await self._finish("cancel", key, fp, req.order_ref, list(results), principal)

    async def modify(self, req: ModifyOrderRequest, principal: Principal) -> OrderActionReply:
        fields = req.model_dump(mode="json", include={"order_ref", "qty", "price", "trigger_price", "order_type",
                                                      "brokers"})
        key = req.idempotency_key or f"auto-{secrets.token_hex(12)}"
        fp = action_fingerprint({"action": "modify", **fields})
        replay = await self._store.begin(key, fp, self._clock.time())
        if replay is not None:
            return replay
        try:
            held = await self._targets(req.order_ref, req.brokers)
            record = await self._orders.get(order_ref=req.order_ref)
            assert record is not None  # _targets found tracking rows for it
            changes = {t.broker_id: new_terms(t, req) for t in held}
            for tracked in held:
                change = changes[tracked.broker_id]
                if change.qty > tracked.view.qty and self._kill_switch.blocks(tracked.broker_id):
                    raise KillSwitchActive(
                        f"kill switch is active: a modify may not increase quantity at {tracked.broker_id}")
                self._validator.check_limits(_as_spec(record.order, change))
        except Exception:
            self._store.abandon(key)
            raise
        self._audit.record("order.modify_requested", order_ref=req.order_ref,
                           data={"principal": principal.name, **fields})
        results = await asyncio.gather(*(self._modify_one(t, changes[t.broker_id]) for t in held))
        return await self._finish("modify", key, fp, req.order_ref, list(results), principal)

    async def flatten(self, scope: str) -> list[FlattenResult]:
        """Cancel every open order Ordo knows at every broker in scope."""
        open_orders = [t for t in await self._tracker.store.open_orders() if scope in (GLOBAL, t.broker_id)]
        # A few cancels in flight per broker, not all at once: hundreds fired together outrun
        # the broker's order rate limit, and the client-side limiter refuses every call whose
        # turn is further off than its bound. In turns, each waits for its slot and all go out.
        turns = {b: asyncio.Semaphore(FLATTEN_IN_FLIGHT_PER_BROKER) for b in {t.broker_id for t in open_orders}}

        async def in_turn(tracked: TrackedOrder) -> BrokerResult:
            async with turns[tracked.broker_id]:
                return await self._cancel_one(tracked)

        results = await asyncio.gather(*(in_turn(t) for t in open_orders))
        report = [
            FlattenResult(order_ref=t.order_ref, broker_id=t.broker_id, order_id=t.view.order_id,
                          status="success" if r.status == "success" else "error", error_code=r.error_code,
                          message=r.message)
            for t, r in zip(open_orders, results, strict=True)
        ]
        for tracked in open_orders:
            self._tracker.poke(tracked.order_ref)
        return report

    async def _targets(self, order_ref: str, brokers: list[str] | None) -> list[TrackedOrder]:
        held = await self._tracker.store.for_order(order_ref)
        if not held:
            if await self._orders.get(order_ref=order_ref) is None:
                raise NotFound(f"no order with order_ref {order_ref!r}")
            raise NotFound(f"order {order_ref} was not accepted by any broker, so there is nothing to change")
        if brokers is not None:
            unknown = sorted(set(brokers) - {t.broker_id for t in held})
            if unknown:
                raise ValidationFailed(f"brokers: {', '.join(unknown)} do not hold order {order_ref}",
                                       field="brokers")
            held = [t for t in held if t.broker_id in brokers]
        return held

    async def _cancel_one(self, tracked: TrackedOrder) -> BrokerResult:
        if tracked.view.state in TERMINAL_STATES:
            return _not_open(tracked)
        gateway = self._gateways[tracked.broker_id]
        result = await gateway.amend(tracked.view.order_id, lambda: gateway.adapter.cancel_order(tracked.view.order_id))
        self._audit.record("broker.cancel_result", order_ref=tracked.order_ref, broker_id=tracked.broker_id,
                           data=result.model_dump(mode="json", exclude={"broker_id"}))
        return result

    async def _modify_one(self, tracked: TrackedOrder, change: OrderChange) -> BrokerResult:
        if tracked.view.state in TERMINAL_STATES:
            return _not_open(tracked)
        gateway = self._gateways[tracked.broker_id]
        order_id = tracked.view.order_id
        result = await gateway.amend(order_id, lambda: gateway.adapter.modify_order(order_id, change))
        if result.status == "success":
            await self._tracker.store.record_change(tracked.order_ref, tracked.broker_id, change, self._clock.time())
        self._audit.record("broker.modify_result", order_ref=tracked.order_ref, broker_id=tracked.broker_id,
                           data=result.model_dump(mode="json", exclude={"broker_id"}))
        return result

    async def _finish(self, action: str, key: str, fp: str, order_ref: str,
                      results: list[BrokerResult], principal: Principal) -> OrderActionReply:
        base = unified_reply(order_ref, key, results)
        reply = OrderActionReply.model_validate({**base.model_dump(), "action": action}, strict=False)
        await self._store.finish(key, fp, reply, self._clock.time())
        self._audit.record(f"order.{action}_completed", order_ref=order_ref,
                           data={"status": reply.status, "http_status": reply.http_status,
                                 "principal": principal.name})
        self._tracker.poke(order_ref)
        return reply


def _not_open(tracked: TrackedOrder) -> BrokerResult:
    return BrokerResult(broker_id=tracked.broker_id, status="error", order_id=tracked.view.order_id,
                        error_code="ORDER_REJECTED", message=f"order is already {tracked.view.state} at the broker")


def _as_spec(order: OrderSpec, change: OrderChange) -> OrderSpec:
    return order.model_copy(update={"qty": change.qty, "price": change.price, "order_type": change.order_type,
                                    "trigger_price": change.trigger_price})
