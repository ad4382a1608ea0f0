"""Prometheus metrics for the operator's dashboards, in a registry the daemon owns.

Never the process-wide default registry: two daemons in one test process, or a library that
registers its own metrics, can never mix counts with ours.

Hot-path cost is kept to an increment where the pipeline already holds the value (an order's
status, a broker result, an attempt's latency). Everything that mirrors state (audit seq,
orders in flight, kill switch, breaker states) is read only when Prometheus scrapes, through
``StateCollector``, so it costs nothing between scrapes and can never drift from the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from ordo_shared.errors import ErrorCode
from ordo_shared.models import BreakerState, BrokerResult, PlaceOrderReply

# Broker round trips are HTTP calls to India-hosted APIs: a millisecond to tens of seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BREAKER_STATES: tuple[BreakerState, ...] = ("closed", "half_open", "open", "isolated")
_CONFLICTS = frozenset({ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT, ErrorCode.IDEMPOTENCY_KEY_REUSED})


@dataclass(frozen=True)
class DaemonState:
    """The state gauges, sampled at scrape time."""

    audit_last_seq: int
    audit_first_available_seq: int
    orders_in_flight: int
    kill_switch_active: bool
    isolated: frozenset[str] = frozenset()
    breakers: dict[str, BreakerState] = field(default_factory=dict)
    started_at: float = 0.0


class StateCollector(Collector):
    """Gauges read from the live daemon when scraped, never updated on the hot path."""

    def __init__(self, read: Callable[[], DaemonState]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        state = self._read()
        yield _gauge("ordo_audit_last_seq", "Highest audit seq handed out.", state.audit_last_seq)
        yield _gauge("ordo_audit_first_available_seq",
                     "Lowest audit seq still in the database (older ones are archived).",
                     state.audit_first_available_seq)
        yield _gauge("ordo_orders_in_flight", "Orders reserved and not yet answered.", state.orders_in_flight)
        yield _gauge("ordo_kill_switch_active", "1 while the global kill switch is on.", int(state.kill_switch_active))
        isolated = GaugeMetricFamily("ordo_broker_isolated", "1 while a broker is isolated by the kill switch.",
                                     labels=["broker"])
        for broker_id in state.breakers:
            isolated.add_metric([broker_id], 1.0 if broker_id in state.isolated else 0.0)
        yield isolated
        yield _gauge("ordo_start_time_seconds", "When this daemon started (Unix time).", state.started_at)
        breaker = GaugeMetricFamily("ordo_breaker_state", "1 for the state each broker's circuit breaker is in.",
                                    labels=["broker", "state"])
        for broker_id, current in state.breakers.items():
            for candidate in BREAKER_STATES:
                breaker.add_metric([broker_id, candidate], 1.0 if candidate == current else 0.0)
        yield breaker


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class OrdoMetrics:
    """Every metric the daemon exports. Components receive this object; none creates its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        # labels() hashes and locks on every call; the hot hooks look their child up here instead.
        # Label values come from small fixed sets (brokers, statuses, codes), so this stays small.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.orders = Counter("ordo_orders", "Orders answered, by overall status (replays not counted).",
                              ["status"], registry=r)
        self.order_refusals = Counter("ordo_order_refusals",
                                      "place_order requests refused with a request-level error, by code.",
                                      ["code"], registry=r)
        self.order_seconds = Histogram("ordo_order_duration_seconds",
                                       "place_order from receipt to durable answer (replays not counted).",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.broker_results = Counter("ordo_broker_results", "Per-broker order outcomes.",
                                      ["broker", "status", "error_code"], registry=r)
        self.broker_call_seconds = Histogram("ordo_broker_call_duration_seconds",
                                             "One adapter call (one attempt), by outcome ('ok' or the error code).",
                                             ["broker", "outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.broker_retries = Counter("ordo_broker_retries", "Attempts at a broker beyond an order's first.",
                                      ["broker"], registry=r)
        self.breaker_transitions = Counter("ordo_breaker_transitions", "Circuit breaker state changes.",
                                           ["broker", "from_state", "to_state"], registry=r)
        self.rate_limiter_wait_seconds = Histogram("ordo_rate_limiter_wait_seconds",
                                                   "Time an order waited for its broker's client-side rate limiter.",
                                                   ["broker"], buckets=LATENCY_BUCKETS, registry=r)
        self.idempotency_replays = Counter("ordo_idempotency_replays",
                                           "Repeated keys answered from the store without calling a broker.",
                                           registry=r)
        self.idempotency_conflicts = Counter("ordo_idempotency_conflicts",
                                             "Keys refused: still in flight, or reused for another order.",
                                             ["code"], registry=r)
        self.kill_switch_changes = Counter("ordo_kill_switch_changes",
                                           "Kill switch flips, by scope ('global' or a broker) and new state.",
                                           ["scope", "active"], registry=r)
        self.config_reloads = Counter("ordo_config_reloads", "SIGHUP reloads, by result.", ["result"], registry=r)
        self.audit_events_archived = Counter("ordo_audit_events_archived",
                                             "Audit events exported to archive files and removed from the database.",
                                             registry=r)

    def watch(self, read: Callable[[], DaemonState]) -> None:
        """Export the daemon's live state; call once, when the daemon's parts exist."""
        self.registry.register(StateCollector(read))

    # Hooks the pipeline calls. Each is one or two increments.

    def order_answered(self, reply: PlaceOrderReply, seconds: float) -> None:
        if reply.replayed:
            self.idempotency_replays.inc()
            return
        self._child(self.orders, reply.status).inc()
        self.order_seconds.observe(seconds)

    def order_refused(self, code: ErrorCode) -> None:
        self.order_refusals.labels(code.value).inc()
        if code in _CONFLICTS:
            self.idempotency_conflicts.labels(code.value).inc()

    def broker_result(self, result: BrokerResult) -> None:
        self._child(self.broker_results, result.broker_id, result.status, result.error_code or "").inc()
        if result.attempts > 1:
            self.broker_retries.labels(result.broker_id).inc(result.attempts - 1)

    def broker_call(self, broker_id: str, seconds: float, error_code: str | None) -> None:
        self._child(self.broker_call_seconds, broker_id, error_code or "ok").observe(seconds)

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def breaker_changed(self, broker_id: str, old: BreakerState, new: BreakerState) -> None:
        self.breaker_transitions.labels(broker_id, old, new).inc()

    def rate_limiter_waited(self, broker_id: str, seconds: float) -> None:
        """Each call the broker adapters' client-side rate limiter admitted, with its wait."""
        self.rate_limiter_wait_seconds.labels(broker_id).observe(seconds)


# The aiohttp side: the lead mounts this on the daemon's HTTP app.

METRICS_PATH = "/metrics"
REGISTRY_KEY = web.AppKey("ordo_metrics_registry", CollectorRegistry)


async def metrics_handler(request: web.Request) -> web.Response:
    """Prometheus' text format, or OpenMetrics when the scraper asks for it."""
    registry = request.app[REGISTRY_KEY]
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encode(registry), headers={"Content-Type": content_type})


def register_metrics_route(app: web.Application, registry: CollectorRegistry) -> None:
    """Serve ``GET /metrics`` from ``registry`` on ``app`` (before the app is started)."""
    app[REGISTRY_KEY] = registry
    app.router.add_get(METRICS_PATH, metrics_handler)
