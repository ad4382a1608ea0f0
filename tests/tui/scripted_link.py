"""A link with fixed answers, for snapshot tests: no clock, no randomness, no sockets.
It answers like the daemon's wire contract (the same pydantic models), so the desk cannot
tell it apart from ordod; tests push events into it as the PUB stream would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from ordo_shared.messages import AuditReplayReply, KillSwitchReply, LoginCompleteReply, LoginStartReply
from ordo_shared.models import (
    BrokerHealth,
    BrokerOrderView,
    BrokerResult,
    Event,
    FlattenResult,
    HealthSnapshot,
    Isolation,
    KillSwitchState,
    OrderActionReply,
    OrderRecord,
    OrderSpec,
    OverallStatus,
    PlaceOrderReply,
)
from ordo_tui.model.kill_switch import GLOBAL, KillSwitchChange
from ordo_tui.model.order_actions import OrderAction

T0 = datetime(2025, 1, 2, 9, 15, 0, tzinfo=UTC)
ENDPOINT = "tcp://127.0.0.1:7750"
# Order refs as ordod makes them (hex milliseconds, then random), so columns are as wide as live.
REF1, REF2, REF3 = "ORD-194264ea8a0-1f2e3d", "ORD-194264eb750-7a1c09", "ORD-194264ec600-c4d2e8"


def broker(broker_id: str, breaker: str = "closed", latency: float = 4.2, error_rate: float = 0.0,
           last_error: str | None = None) -> BrokerHealth:
    return BrokerHealth.model_validate({
        "broker_id": broker_id, "adapter": "paper", "enabled": True, "session": "valid", "breaker": breaker,
        "last_latency_ms": latency, "error_rate": error_rate, "last_error": last_error,
    })


def order(ref: str, key: str, minute: int, results: list[BrokerResult], side: str = "BUY",
          tracking: list[BrokerOrderView] | None = None) -> OrderRecord:
    spec = OrderSpec.model_validate({"symbol": "NSE:SBIN-EQ", "side": side, "qty": 10, "order_type": "LIMIT",
                                     "price": 500.5, "brokers": [r.broker_id for r in results]})
    placed = sum(r.status == "success" for r in results)
    status: OverallStatus = "success" if placed == len(results) else ("partial_success" if placed else "failed")
    return OrderRecord(order_ref=ref, idempotency_key=key, state="completed", created_at=T0 + timedelta(minutes=minute),
                       completed_at=T0 + timedelta(minutes=minute, seconds=1), order=spec, status=status,
                       results=results, tracking=tracking or [])


def ok(broker_id: str, n: int) -> BrokerResult:
    return BrokerResult(broker_id=broker_id, status="success", order_id=f"{broker_id.upper()}-{n:08d}", attempts=1,
                        latency_ms=3.5)


def failed(broker_id: str, code: str, attempts: int = 3) -> BrokerResult:
    return BrokerResult(broker_id=broker_id, status="error", error_code=code, attempts=attempts, latency_ms=41.0,
                        message=f"{code} (paper)")


def tracked(broker_id: str, n: int, state: str, filled_qty: int = 0, average_price: float | None = None,
            message: str = "") -> BrokerOrderView:
    return BrokerOrderView.model_validate({
        "broker_id": broker_id, "order_id": f"{broker_id.upper()}-{n:08d}", "state": state, "order_type": "LIMIT",
        "qty": 10, "price": 500.5, "filled_qty": filled_qty, "average_price": average_price, "message": message,
        "updated_at": T0 + timedelta(minutes=n, seconds=5)}, strict=False)


def audit_event(seq: int, type: str, order_ref: str | None = None, broker_id: str | None = None,
                **data: object) -> Event:
    return Event(seq=seq, ts=T0 + timedelta(seconds=seq), type=type, order_ref=order_ref, broker_id=broker_id,
                 data=dict(data))


class ScriptedLink:
    def __init__(self) -> None:
        self.brokers = [broker("fyers"), broker("hdfc")]
        self.kill_switch = KillSwitchState(active=False)
        self.orders = [order(REF1, "k-1", 1, [ok("fyers", 1), ok("hdfc", 1)],
                             tracking=[tracked("fyers", 1, "filled", 10, 500.5),
                                       tracked("hdfc", 1, "rejected", message="margin shortfall")]),
                       order(REF2, "k-2", 2, [ok("fyers", 2), ok("hdfc", 2)], side="SELL",
                             tracking=[tracked("fyers", 2, "partially_filled", 4, 500.45),
                                       tracked("hdfc", 2, "open")])]
        self.audit = [audit_event(1, "daemon.started", recovered_orders=0, kill_switch=False),
                      audit_event(2, "order.received", REF1, order={"side": "BUY", "qty": 10,
                                  "symbol": "NSE:SBIN-EQ", "order_type": "LIMIT"}, brokers=["fyers", "hdfc"],
                                  principal="default"),
                      audit_event(3, "broker.result", REF1, "fyers", status="success", order_id="FYERS-00000001"),
                      audit_event(4, "broker.result", REF1, "hdfc", status="success", order_id="HDFC-00000001"),
                      audit_event(5, "order.completed", REF1, status="success", http_status=200)]
        self.reply: PlaceOrderReply | None = None
        self.placed: list[tuple[str, OrderSpec]] = []
        self.switched: list[KillSwitchChange] = []
        self.flatten: list[FlattenResult] = []
        self.acted: list[tuple[str, OrderAction]] = []
        self.stream: asyncio.Queue[Event] = asyncio.Queue()

    @property
    def endpoint(self) -> str:
        return ENDPOINT

    async def health(self) -> HealthSnapshot:
        degraded = self.kill_switch.active or any(b.breaker != "closed" for b in self.brokers)
        return HealthSnapshot(version="0.1.0", status="degraded" if degraded else "ok", started_at=T0, uptime_s=60.0,
                              kill_switch=self.kill_switch, brokers=self.brokers, in_flight_orders=0,
                              audit_seq=len(self.audit))

    async def list_orders(self, limit: int) -> list[OrderRecord]:
        return self.orders[-limit:]

    async def place_order(self, idempotency_key: str, order: OrderSpec) -> PlaceOrderReply:
        self.placed.append((idempotency_key, order))
        assert self.reply is not None, "the test did not script an answer"
        return self.reply

    async def get_order(self, order_ref: str) -> OrderRecord:
        return next(o for o in self.orders if o.order_ref == order_ref)

    async def set_kill_switch(self, change: KillSwitchChange) -> KillSwitchReply:
        self.switched.append(change)
        isolated = dict(self.kill_switch.isolated)
        if change.scope != GLOBAL:
            if change.active:
                isolated[change.scope] = Isolation(reason=change.reason, set_by="default", set_at=T0)
            else:
                isolated.pop(change.scope, None)
            self.kill_switch = self.kill_switch.model_copy(update={"isolated": isolated})
        else:
            self.kill_switch = KillSwitchState(active=change.active, reason=change.reason, set_by="default", set_at=T0,
                                               isolated=isolated)
        return KillSwitchReply(kill_switch=self.kill_switch, flatten=self.flatten if change.flatten else None)

    async def act_on_order(self, idempotency_key: str, action: OrderAction) -> OrderActionReply:
        self.acted.append((idempotency_key, action))
        results = [BrokerResult(broker_id=b, status="success", order_id=f"{b.upper()}-1", attempts=1, latency_ms=2.0)
                   for b in action.brokers]
        return OrderActionReply(status="success", http_status=200, order_ref=action.order_ref,
                                idempotency_key=idempotency_key, results=results, action=action.kind)

    async def audit_replay(self, since: int, limit: int) -> AuditReplayReply:
        events = [e for e in self.audit if e.seq is not None and e.seq > since][:limit]
        return AuditReplayReply(events=events, last_seq=len(self.audit))

    async def login_start(self, broker_id: str) -> LoginStartReply:
        return LoginStartReply(broker_id=broker_id, step="enter_otp", prompt="Enter the OTP")

    async def login_complete(self, broker_id: str, answer: object) -> LoginCompleteReply:
        return LoginCompleteReply(broker_id=broker_id, session="valid")

    async def events(self) -> AsyncIterator[Event]:
        while True:
            yield await self.stream.get()

    def close(self) -> None:
        pass
