"""A link with fixed answers, for snapshot tests: no clock, no randomness, no sockets.
It answers like the daemon's wire contract (the same pydantic models), so the desk cannot
tell it apart from ordod; tests push events into it as the PUB stream would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from ordo_shared.messages import AuditReplayReply, LoginCompleteReply, LoginStartReply
from ordo_shared.models import (
    BrokerHealth,
    BrokerResult,
    Event,
    HealthSnapshot,
    KillSwitchState,
    OrderRecord,
    OrderSpec,
    PlaceOrderReply,
)

T0 = datetime(2025, 1, 2, 9, 15, 0, tzinfo=UTC)
ENDPOINT = "tcp://127.0.0.1:7750"


def broker(broker_id: str, breaker: str = "closed", latency: float = 4.2, error_rate: float = 0.0,
           last_error: str | None = None) -> BrokerHealth:
    return BrokerHealth.model_validate({
        "broker_id": broker_id, "adapter": "paper", "enabled": True, "session": "valid", "breaker": breaker,
        "last_latency_ms": latency, "error_rate": error_rate, "last_error": last_error,
    })


def order(ref: str, key: str, minute: int, results: list[BrokerResult], side: str = "BUY") -> OrderRecord:
    spec = OrderSpec.model_validate({"symbol": "NSE:SBIN-EQ", "side": side, "qty": 10, "order_type": "LIMIT",
                                     "price": 500.5, "brokers": [r.broker_id for r in results]})
    placed = sum(r.status == "success" for r in results)
    status = "success" if placed == len(results) else ("partial_success" if placed else "failed")
    return OrderRecord(order_ref=ref, idempotency_key=key, state="completed", created_at=T0 + timedelta(minutes=minute),
                       completed_at=T0 + timedelta(minutes=minute, seconds=1), order=spec, status=status,
                       results=results)


def ok(broker_id: str, n: int) -> BrokerResult:
    return BrokerResult(broker_id=broker_id, status="success", order_id=f"{broker_id.upper()}-{n:08d}", attempts=1,
                        latency_ms=3.5)


def failed(broker_id: str, code: str, attempts: int = 3) -> BrokerResult:
    return BrokerResult(broker_id=broker_id, status="error", error_code=code, attempts=attempts, latency_ms=41.0,
                        message=f"{code} (paper)")


def audit_event(seq: int, type: str, order_ref: str | None = None, broker_id: str | None = None,
                **data: object) -> Event:
    return Event(seq=seq, ts=T0 + timedelta(seconds=seq), type=type, order_ref=order_ref, broker_id=broker_id,
                 data=dict(data))


class ScriptedLink:
    def __init__(self) -> None:
        self.brokers = [broker("fyers"), broker("hdfc")]
        self.kill_switch = KillSwitchState(active=False)
        self.orders = [order("ORD-0001", "k-1", 1, [ok("fyers", 1), ok("hdfc", 1)]),
                       order("ORD-0002", "k-2", 2, [ok("fyers", 2), ok("hdfc", 2)], side="SELL")]
        self.audit = [audit_event(1, "daemon.started", recovered_orders=0, kill_switch=False),
                      audit_event(2, "order.received", "ORD-0001", order={"side": "BUY", "qty": 10,
                                  "symbol": "NSE:SBIN-EQ", "order_type": "LIMIT"}, brokers=["fyers", "hdfc"],
                                  principal="default"),
                      audit_event(3, "broker.result", "ORD-0001", "fyers", status="success", order_id="FYERS-00000001"),
                      audit_event(4, "broker.result", "ORD-0001", "hdfc", status="success", order_id="HDFC-00000001"),
                      audit_event(5, "order.completed", "ORD-0001", status="success", http_status=200)]
        self.reply: PlaceOrderReply | None = None
        self.placed: list[tuple[str, OrderSpec]] = []
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

    async def set_kill_switch(self, active: bool, reason: str) -> KillSwitchState:
        self.kill_switch = KillSwitchState(active=active, reason=reason, set_by="default", set_at=T0)
        return self.kill_switch

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
