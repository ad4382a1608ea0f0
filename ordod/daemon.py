"""Assembles a whole daemon from its config, with no global state, so tests can build one
in-process on a temporary directory. Resources open in one place and close in reverse."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ordo_shared.models import BreakerState, Event, Isolation, SessionState
from ordod.action_store import ActionStore
from ordod.audit import AuditLog, AuditRecord, SqliteAuditStore
from ordod.audit_retention import AuditRetention
from ordod.breaker import CircuitBreaker
from ordod.brokers.base import BrokerAdapter
from ordod.brokers.common.adapter import HttpBrokerAdapter
from ordod.brokers.fyers.redirect import redirect_paths, register_routes
from ordod.brokers.registry import build_adapter
from ordod.clock import Clock, SystemClock
from ordod.config import Config
from ordod.deadlines import Deadlines
from ordod.fanout import EventFanout
from ordod.gateway import BrokerGateway
from ordod.health import HealthMonitor
from ordod.http import HttpServer, RouteRegistrar, build_app
from ordod.idempotency import SqliteIdempotencyStore
from ordod.kill_switch import GLOBAL, KillSwitch, SqliteKillSwitchStore
from ordod.metrics import DaemonState, OrdoMetrics, register_metrics_route
from ordod.orchestrator import Orchestrator
from ordod.order_actions import OrderActions
from ordod.publisher import EventPublisher
from ordod.rate_limit import OrderRateLimiter
from ordod.reconciler import Reconciler
from ordod.reload import ReloadPlan, plan_reload
from ordod.retry import Backoff
from ordod.service import OrdoService
from ordod.session_manager import SessionManager
from ordod.sockets import SocketFactory, bound_endpoint, check_zmq_endpoint, parse_http_listen
from ordod.state_lock import StateLock
from ordod.storage.database import CONTROL_SCHEMA, Database
from ordod.tokens import load_authenticator, rate_limits
from ordod.tracking import OrderTracker, TrackingStore
from ordod.validator import PreTradeValidator
from ordod.zmq_server import ZmqServer

log = logging.getLogger("ordod")

# After the receive loop stops: how long requests that arrived during the drain get to answer.
_LAST_REPLIES_S = 1.0
MAINTENANCE_INTERVAL_S = 300.0


@dataclass
class Daemon:
    config: Config
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)
    adapters: dict[str, BrokerAdapter] = field(default_factory=dict)
    http_routes: list[RouteRegistrar] = field(default_factory=list)
    """Extra HTTP routes other modules add: each is called with the app before it starts."""
    metrics: OrdoMetrics = field(default_factory=OrdoMetrics)
    """Owns the Prometheus registry; the HTTP door serves ``metrics.registry`` at /metrics."""

    def __post_init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = StateLock(self.config.daemon.state_dir)
        self._sockets: SocketFactory | None = None
        self.db: Database | None = None
        self.control_db: Database | None = None
        self.http: HttpServer | None = None
        self.http_port: int | None = None
        """The HTTP API's bound port (daemon.http_listen may ask for port 0); None if disabled."""
        self.events = EventFanout()
        """Every published event, in-process (the HTTP event stream reads it)."""
        self.stopped = asyncio.Event()

    async def start(self) -> None:
        cfg = self.config
        state_dir = cfg.daemon.state_dir
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock.acquire()
        try:
            await self._start_parts()
        except BaseException:
            await self.stop()
            raise

    async def _start_parts(self) -> None:
        cfg, clock = self.config, self.clock
        # Refuse an unsafe endpoint before anything is opened (binding checks again).
        check_zmq_endpoint(cfg.daemon.rep_endpoint, cfg.daemon.allow_remote)
        check_zmq_endpoint(cfg.daemon.pub_endpoint, cfg.daemon.allow_remote)
        http_address = parse_http_listen(cfg.daemon.http_listen, cfg.daemon.allow_remote) \
            if cfg.daemon.http_listen else None
        fyers_redirects = redirect_paths(cfg.brokers)
        self.authenticator = load_authenticator(cfg)

        self.db = await Database.open(cfg.daemon.state_dir / "ordo.db", cfg.daemon.db_busy_timeout_ms)
        self.control_db = await Database.open(cfg.daemon.state_dir / "control.db", cfg.daemon.db_busy_timeout_ms,
                                              schema=CONTROL_SCHEMA)
        self._sockets = SocketFactory(allow_remote=cfg.daemon.allow_remote)
        if cfg.auth.curve is not None:
            self._sockets.enable_curve(cfg.auth.curve)
        pub_socket = self._sockets.publisher(cfg.daemon.pub_endpoint)
        self.pub_endpoint = bound_endpoint(pub_socket)
        self.publisher = EventPublisher(pub_socket)
        self.audit = AuditLog(self.db, SqliteAuditStore(self.db), clock, self._publish)
        await self.audit.start()
        self.kill_switch = KillSwitch(SqliteKillSwitchStore(self.control_db, legacy=self.db), clock,
                                      cfg.kill_switch.min_hold_s)
        await self.kill_switch.start()
        self.idempotency = SqliteIdempotencyStore(self.db, cfg.daemon.idempotency_ttl_h * 3600)
        await self.idempotency.start(clock.time())

        for broker_id, broker_cfg in cfg.brokers.items():
            if broker_id not in self.adapters:
                self.adapters[broker_id] = build_adapter(broker_id, broker_cfg, cfg, clock)
        for broker_id, adapter in self.adapters.items():
            if isinstance(adapter, HttpBrokerAdapter):
                adapter.limiter.on_wait = partial(self.metrics.rate_limiter_waited, broker_id)
            await adapter.start()
        deadlines = Deadlines()  # one ticker for every broker call in flight
        self.gateways = {
            broker_id: BrokerGateway(
                adapter,
                CircuitBreaker(broker_id, cfg.breaker_for(broker_id), clock, self._breaker_changed),
                cfg.retry_for(broker_id),
                self._backoff(broker_id),
                clock,
                metrics=self.metrics,
                deadlines=deadlines,
            )
            for broker_id, adapter in self.adapters.items()
        }
        self.sessions = SessionManager(self.adapters, self._session_changed, self._session_event)
        enabled = [b for b, c in cfg.brokers.items() if c.enabled]
        self.validator = PreTradeValidator(cfg.limits, enabled, list(cfg.brokers))
        self.orchestrator = Orchestrator(
            self.idempotency, self.kill_switch, self.sessions, self.validator, self.gateways, self.audit, clock,
            metrics=self.metrics,
        )
        self.health = HealthMonitor(
            self.gateways, {b: c.enabled for b, c in cfg.brokers.items()}, self.sessions, self.kill_switch,
            self.idempotency, self.audit, clock, self._publish, cfg.daemon.health_interval_s,
        )
        self.kill_switch.on_change(self._kill_switch_changed)
        self._started_at = clock.time()
        self.metrics.watch(self._metric_state)
        self.retention = AuditRetention(self.db, self.audit, cfg.audit_archive_dir, lambda: self.config.audit,
                                        clock, self.metrics)

        self.reconciler = Reconciler(self.idempotency, self.gateways, self.audit, clock,
                                     cfg.daemon.reconcile_interval_s)
        recovered = await self.reconciler.recover_in_flight()
        self.tracker = OrderTracker(TrackingStore(self.db), self.gateways, self.audit, clock, cfg.tracking)
        self.actions = OrderActions(
            ActionStore(self.db, cfg.daemon.idempotency_ttl_h * 3600), self.idempotency, self.tracker,
            self.gateways, self.kill_switch, self.validator, self.audit, clock,
        )
        self.service = OrdoService(
            self.authenticator, self.orchestrator, self.kill_switch, self.idempotency, self.health, self.audit,
            self.actions, self.tracker.store, list(cfg.brokers), self.sessions,
            OrderRateLimiter(rate_limits(cfg), cfg.auth.rate_limit, clock), self.metrics,
        )
        rep_socket = self._sockets.router(cfg.daemon.rep_endpoint)
        self.rep_endpoint = bound_endpoint(rep_socket)
        self.zmq = ZmqServer(rep_socket, self.service)
        if http_address is not None:
            # Prometheus' /metrics, and a Fyers login redirect to this machine, are served here too.
            metrics = partial(register_metrics_route, registry=self.metrics.registry)
            capture = partial(register_routes, complete=self.sessions.login_complete, paths=fyers_redirects)
            app = build_app(self.service, self.events, [metrics, capture, *self.http_routes])
            http = HttpServer(app, *http_address, shutdown_timeout_s=cfg.daemon.shutdown_grace_s)
            await http.start()
            self.http, self.http_port = http, http.port
        self.audit.record("daemon.started", data={"recovered_orders": recovered,
                                                   "kill_switch": self.kill_switch.active,
                                                   "brokers": list(self.adapters)})
        await self.audit.flush()
        self._tasks = [
            asyncio.create_task(self.zmq.run(), name="zmq-server"),
            asyncio.create_task(self.health.run(), name="health"),
            asyncio.create_task(self.reconciler.run(), name="reconciler"),
            asyncio.create_task(self.tracker.run(), name="tracker"),
            asyncio.create_task(self._maintain(), name="maintenance"),
            asyncio.create_task(self.sessions.run(cfg.daemon.session_check_interval_s), name="sessions"),
            asyncio.create_task(self.retention.run(), name="audit-retention"),
        ]
        log.info("ordod started rep=%s pub=%s http=%s state_dir=%s brokers=%s kill_switch=%s",
                 self.rep_endpoint, self.pub_endpoint, self.http_port or "off", cfg.daemon.state_dir,
                 ",".join(self.adapters), "on" if self.kill_switch.active else "off")

    async def stop(self) -> None:
        """Stop taking orders, let in-flight ones finish (bounded), flush, close in reverse."""
        if getattr(self, "orchestrator", None) is not None:
            self.orchestrator.accepting = False
            self.health.stopping = True
            self.health.changed()
        self.events.close()  # ends the HTTP event streams, so the HTTP server can stop
        # Both doors stay open while orders finish, so new orders get SHUTTING_DOWN instead of silence.
        grace = self.config.daemon.shutdown_grace_s
        await asyncio.gather(
            self.zmq.drain(grace) if getattr(self, "zmq", None) is not None else asyncio.sleep(0),
            self.http.stop() if self.http is not None else asyncio.sleep(0),
        )
        self.http = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if getattr(self, "zmq", None) is not None:
            await self.zmq.drain(_LAST_REPLIES_S)  # answers to requests that came in meanwhile
        if getattr(self, "health", None) is not None:
            await self.health.close()
        if getattr(self, "audit", None) is not None and self.db is not None:
            self.audit.record("daemon.stopped")
            try:
                await self.audit.flush()
            except Exception:
                log.exception("final audit flush failed")
        for adapter in self.adapters.values():
            await adapter.close()
        if self.db is not None:
            await self.db.close()
            self.db = None
        if self.control_db is not None:
            await self.control_db.close()
            self.control_db = None
        if self._sockets is not None:
            self._sockets.close_all()
            self._sockets = None
        self._lock.release()
        self.stopped.set()
        log.info("ordod stopped")

    def _publish(self, event: Event | AuditRecord) -> None:
        self.publisher.publish(event)
        if self.events.subscribers:  # the HTTP event stream, when someone is listening
            self.events.publish(event.event() if isinstance(event, AuditRecord) else event)

    async def _maintain(self) -> None:
        """Housekeeping that keeps a long-running daemon's memory flat."""
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL_S)
            try:
                purged = await self.idempotency.purge_expired(self.clock.time())
                if purged:
                    log.info("expired idempotency keys purged count=%d", purged)
            except Exception:
                log.exception("maintenance pass failed")

    async def reload(self, new: Config) -> ReloadPlan:
        """Apply what can change safely at run time (see ordod.reload) and audit it."""
        plan = plan_reload(self.config, new)
        cfg = self.config = plan.effective
        self.validator.limits = cfg.limits
        for broker_id, gateway in self.gateways.items():
            gateway.breaker.config = cfg.breaker_for(broker_id)
            gateway.retry = cfg.retry_for(broker_id)
            gateway.backoff = self._backoff(broker_id)
        self.audit.record("config.reloaded", data={
            "applied": {key: {"old": old, "new": value} for key, (old, value) in plan.applied.items()},
            "restart_required": plan.restart_required,
        })
        await self.audit.flush()
        self.metrics.config_reloads.labels("applied").inc()
        log.info("config reloaded applied=%s restart_required=%s",
                 ",".join(plan.applied) or "-", ",".join(plan.restart_required) or "-")
        return plan

    async def reload_failed(self, error: str) -> None:
        self.audit.record("config.reload_failed", data={"error": error})
        await self.audit.flush()
        self.metrics.config_reloads.labels("failed").inc()
        log.error("config reload failed; keeping the running config: %s", error)

    def status_line(self) -> str:
        """One line for systemd's STATUS= (shown by `systemctl status ordod`)."""
        snap = self.health.snapshot()
        not_closed = [f"{b.broker_id}:{b.breaker}" for b in snap.brokers if b.breaker != "closed"]
        return (f"{snap.status}; {snap.in_flight_orders} in flight; kill switch "
                f"{'ON' if snap.kill_switch.active else 'off'}; breakers "
                f"{', '.join(not_closed) or 'all closed'}; audit seq {snap.audit_seq}; rep {self.rep_endpoint}")

    def _backoff(self, broker_id: str) -> Backoff:
        retry = self.config.retry_for(broker_id)
        return Backoff(retry.initial_backoff_ms / 1000, retry.max_backoff_ms / 1000, self.rng)

    def _metric_state(self) -> DaemonState:
        return DaemonState(
            audit_last_seq=self.audit.last_seq,
            audit_first_available_seq=self.audit.first_available_seq,
            orders_in_flight=self.idempotency.in_flight_count(),
            kill_switch_active=self.kill_switch.active,
            isolated=frozenset(b for b in self.gateways if self.kill_switch.isolated(b)),
            breakers={broker_id: gw.breaker.state for broker_id, gw in self.gateways.items()},
            started_at=self._started_at,
        )

    def _breaker_changed(self, broker_id: str, old: BreakerState, new: BreakerState) -> None:
        self.audit.record("breaker.changed", broker_id=broker_id, data={"old": old, "new": new})
        self.metrics.breaker_changed(broker_id, old, new)
        self.health.changed()

    def _session_changed(self, broker_id: str, old: SessionState, new: SessionState) -> None:
        self.audit.record("session.changed", broker_id=broker_id, data={"old": old, "new": new})
        self.health.changed()

    def _session_event(self, broker_id: str, event: str, data: dict[str, Any]) -> None:
        self.audit.record(f"session.{event}", broker_id=broker_id, data=data)

    def _kill_switch_changed(self, scope: str, old: Isolation | None, new: Isolation | None, by: str) -> None:
        self.audit.record("kill_switch.changed", broker_id=None if scope == GLOBAL else scope, data={
            "scope": scope, "old": old is not None, "active": new is not None,
            **(new or Isolation()).model_dump(mode="json"), "principal": by})
        self.metrics.kill_switch_changes.labels(scope, str(new is not None).lower()).inc()
        self.health.changed()
