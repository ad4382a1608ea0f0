"""Builds the adapter a broker's config table asks for."""

from __future__ import annotations

from ordod.brokers.base import BrokerAdapter
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import Clock
from ordod.config import BrokerConfig, Config


def build_adapter(broker_id: str, broker: BrokerConfig, config: Config, clock: Clock) -> BrokerAdapter:
    if broker.adapter == "paper":
        knobs = PaperKnobs(latency_ms=broker.latency_ms, reject_code=broker.reject_code, fail_rate=broker.fail_rate,
                           fill_after_ms=broker.fill_after_ms, late_reject=broker.late_reject)
        journal = config.daemon.state_dir / "paper" / f"{broker_id}.jsonl"
        return PaperBroker(broker_id, knobs, clock, journal=journal)
    raise ValueError(f"brokers.{broker_id}.adapter: unknown adapter {broker.adapter!r}")
