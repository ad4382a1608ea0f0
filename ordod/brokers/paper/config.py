"""The paper broker's config table: knobs that simulate a broker's behaviour."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ordod.config_base import BrokerTable


class PaperConfig(BrokerTable):
    adapter: Literal["paper"] = "paper"
    latency_ms: float = Field(default=5.0, ge=0, le=600_000, strict=False)
    """Simulated round trip."""
    reject_code: str = ""
    """When set, every order is answered with this error code."""
    fail_rate: float = Field(default=0.0, ge=0, le=1, strict=False)
    """Share of calls that fail as BROKER_UNAVAILABLE."""
    fill_after_ms: float = Field(default=0.0, ge=0, le=86_400_000, strict=False)
    """Accepted LIMIT and stop orders fill after this long (0: they rest until cancelled).
    MARKET orders fill at once, as at an exchange."""
    late_reject: str = ""
    """When set, accepted orders are rejected with this message instead of filled: after
    fill_after_ms, a MARKET order at once."""
