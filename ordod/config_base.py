"""The pieces of the configuration that both ``ordod.config`` and the broker folders'
``config.py`` build on. Kept apart so a broker's config module can use them without
importing the whole configuration (which imports every broker's config in turn)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BreakerConfig(Section):
    failure_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive counted failures that open the breaker."""
    reset_timeout_s: float = Field(default=30.0, gt=0, le=3600, strict=False)
    """Open to half-open after this long; then one health probe decides."""


class RetryConfig(Section):
    max_attempts: int = Field(default=3, ge=1, le=20)
    initial_backoff_ms: float = Field(default=50.0, ge=0, le=60_000, strict=False)
    max_backoff_ms: float = Field(default=1000.0, ge=0, le=300_000, strict=False)
    call_timeout_s: float = Field(default=10.0, gt=0, le=120, strict=False)
    """Longest single broker call before it counts as a timeout."""
    order_deadline_s: float = Field(default=30.0, gt=0, le=600, strict=False)
    """Longest time one order may spend at one broker, all attempts, waits and lookups
    included; no new attempt starts once it has passed."""
    lookup_delay_ms: float = Field(default=250.0, ge=0, le=10_000, strict=False)
    """After an ambiguous failure, wait this long before looking the order up by its tag,
    so an order the broker is still booking is found rather than placed again."""


class BrokerTable(Section):
    """Settings every broker table has, whatever its adapter."""

    enabled: bool = True
    breaker: BreakerConfig | None = None
    """Overrides the [breaker] defaults for this broker."""
    retry: RetryConfig | None = None
    """Overrides the [retry] defaults for this broker."""
