"""Health: builds the snapshot every broker row of the TUI shows, publishes it at least every
``health_interval_s`` and at once on any change, and runs due half-open breaker probes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from ordo_shared.models import BrokerHealth, Event, HealthSnapshot
from ordod import __version__
from ordod.audit import AuditLog
from ordod.clock import Clock
from ordod.gateway import BrokerGateway
from ordod.idempotency import IdempotencyStore
from ordod.kill_switch import KillSwitch
from ordod.session_manager import SessionManager

log = logging.getLogger("ordod.health")

# How often due breaker probes are looked for; the snapshot interval may be longer.
PROBE_TICK_S = 0.1


class HealthMonitor:
    def __init__(
        self,
        gateways: dict[str, BrokerGateway],
        enabled: dict[str, bool],
        sessions: SessionManager,
        kill_switch: KillSwitch,
        idempotency: IdempotencyStore,
        audit: AuditLog,
        clock: Clock,
        publish: Callable[[Event], None],
        interval_s: float,
    ) -> None:
        self._gateways = gateways
        self._enabled = enabled
        self._sessions = sessions
        self._kill_switch = kill_switch
        self._idempotency = idempotency
        self._audit = audit
        self._clock = clock
        self._publish = publish
        self._interval_s = interval_s
        self._changed = asyncio.Event()
        self._started_at: datetime = clock.now()
        self._started_mono = clock.monotonic()
        self._probes: set[asyncio.Task[bool]] = set()
        self.stopping = False

    def changed(self) -> None:
        """Something the desk should see now (breaker, kill switch, session)."""
        self._changed.set()

    def snapshot(self) -> HealthSnapshot:
        brokers = [self._broker_health(broker_id, gw) for broker_id, gw in self._gateways.items()]
        degraded = self._kill_switch.active or any(b.enabled and b.breaker != "closed" for b in brokers)
        return HealthSnapshot(
            version=__version__,
            status="stopping" if self.stopping else ("degraded" if degraded else "ok"),
            started_at=self._started_at,
            uptime_s=round(self._clock.monotonic() - self._started_mono, 3),
            kill_switch=self._kill_switch.state,
            brokers=brokers,
            in_flight_orders=self._idempotency.in_flight_count(),
            audit_seq=self._audit.last_seq,
        )

    def _broker_health(self, broker_id: str, gateway: BrokerGateway) -> BrokerHealth:
        session = self._sessions.state(broker_id)
        stats = gateway.stats
        return BrokerHealth(
            broker_id=broker_id,
            adapter=gateway.adapter.kind,
            enabled=self._enabled[broker_id],
            session=session.state,
            session_expires_at=session.expires_at,
            breaker="isolated" if self._kill_switch.isolated(broker_id) else gateway.breaker.state,
            last_latency_ms=None if stats.last_latency_ms is None else round(stats.last_latency_ms, 3),
            error_rate=round(stats.error_rate, 4),
            last_error=stats.last_error,
            last_error_at=stats.last_error_at,
        )

    def publish_now(self) -> None:
        snap = self.snapshot()
        self._publish(Event(seq=None, ts=self._clock.now(), type="health.snapshot", data=snap.model_dump(mode="json")))

    def run_due_probes(self) -> None:
        for gateway in self._gateways.values():
            if gateway.breaker.probe_due():
                task = asyncio.create_task(gateway.breaker.probe(gateway.adapter.health_probe))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)

    async def run(self) -> None:
        """Forever: probes every tick, a snapshot every interval or on change."""
        last_sent = float("-inf")
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands
            # as the event fires, and this loop would then outlive the daemon's shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PROBE_TICK_S):
                    await self._changed.wait()
            try:
                self.run_due_probes()
                now = self._clock.monotonic()
                if self._changed.is_set() or now - last_sent >= self._interval_s:
                    self._changed.clear()
                    self.publish_now()
                    last_sent = now
            except Exception:
                log.exception("health tick failed")

    async def close(self) -> None:
        for task in list(self._probes):
            task.cancel()
        await asyncio.gather(*self._probes, return_exceptions=True)
