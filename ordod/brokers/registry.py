"""Builds the adapter a broker's config table asks for: secrets are read here, once, from
the references in the config."""

from __future__ import annotations

from collections.abc import Mapping

from ordod.brokers.base import BrokerAdapter
from ordod.brokers.common.credentials import read_secret
from ordod.brokers.common.token_store import token_store_for
from ordod.brokers.fyers.adapter import FyersAdapter
from ordod.brokers.fyers.config import FyersConfig
from ordod.brokers.hdfc.adapter import HdfcAdapter
from ordod.brokers.hdfc.config import HdfcConfig
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.brokers.paper.config import PaperConfig
from ordod.clock import Clock
from ordod.config import BrokerConfig, Config


def build_adapter(
    broker_id: str, broker: BrokerConfig, config: Config, clock: Clock, environ: Mapping[str, str] | None = None
) -> BrokerAdapter:
    state_dir = config.daemon.state_dir
    call_timeout_s = config.retry_for(broker_id).call_timeout_s
    if isinstance(broker, PaperConfig):
        knobs = PaperKnobs(latency_ms=broker.latency_ms, reject_code=broker.reject_code, fail_rate=broker.fail_rate,
                           fill_after_ms=broker.fill_after_ms, late_reject=broker.late_reject)
        return PaperBroker(broker_id, knobs, clock, journal=state_dir / "paper" / f"{broker_id}.jsonl")

    key = read_secret(broker.token_key, f"brokers.{broker_id}.token_key", environ) if broker.token_key else None
    store = token_store_for(broker_id, key, state_dir)
    if isinstance(broker, FyersConfig):
        app_secret = read_secret(broker.app_secret, f"brokers.{broker_id}.app_secret", environ)
        return FyersAdapter(broker_id, broker, app_secret, store, clock, call_timeout_s)
    if isinstance(broker, HdfcConfig):
        return HdfcAdapter(
            broker_id, broker,
            api_key=read_secret(broker.api_key, f"brokers.{broker_id}.api_key", environ),
            api_secret=read_secret(broker.api_secret, f"brokers.{broker_id}.api_secret", environ),
            password=(read_secret(broker.password, f"brokers.{broker_id}.password", environ)
                      if broker.password else None),
            store=store, state_dir=state_dir, clock=clock, call_timeout_s=call_timeout_s,
        )
    raise ValueError(f"brokers.{broker_id}.adapter: unknown adapter {broker.adapter!r}")
