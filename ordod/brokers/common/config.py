"""Config sections shared by the real broker adapters. Secrets are never inline: a
``SecretRef`` names a file, an environment variable or a systemd credential."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from ordod.config_base import BrokerTable, Section


class SecretRef(Section):
    """Where a secret lives; exactly one of the three. TOML: ``app_secret = { env = "FYERS_SECRET" }``."""

    file: Path | None = Field(default=None, strict=False)
    """A file holding the secret (surrounding whitespace is ignored)."""
    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """An environment variable holding the secret."""
    credential: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,255}$")
    """A systemd credential: the file of that name in $CREDENTIALS_DIRECTORY (LoadCredential=)."""

    @model_validator(mode="before")
    @classmethod
    def _a_reference_not_a_secret(cls, data: Any) -> Any:
        if isinstance(data, str):
            # The message must not echo the value: it may be the secret itself.
            raise ValueError("must be a reference ({ file = ... }, { env = ... } or { credential = ... }), "
                             "never the secret itself")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [name for name in ("file", "env", "credential") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of file, env or credential")
        return self

    def describe(self) -> str:
        """Where the secret comes from, for messages (never the secret)."""
        if self.file is not None:
            return f"file {self.file}"
        if self.env is not None:
            return f"environment variable {self.env}"
        return f"systemd credential {self.credential}"


class RateLimitConfig(Section):
    """Client-side limits, so Ordo itself never trips the broker's. Each limit allows at
    most that many calls in any window of that length; 0 turns a limit off."""

    orders_per_second: int = Field(default=10, ge=0, le=10_000)
    """Order calls (place, modify, cancel) in any one second."""
    requests_per_second: int = Field(default=10, ge=0, le=10_000)
    """All calls, orders included, in any one second."""
    requests_per_minute: int = Field(default=200, ge=0, le=1_000_000)
    """All calls, orders included, in any one minute."""
    max_wait_s: float = Field(default=2.0, ge=0, le=60, strict=False)
    """How long a call may wait for its turn; past that it fails with RATE_LIMIT_EXCEEDED
    without being sent."""
    background_share: float = Field(default=0.5, gt=0, le=1, strict=False)
    """The most of each request limit that background calls (order-status polls, session
    checks) may use; they never wait, so orders always find room."""


class RealBrokerTable(BrokerTable):
    """Settings every HTTP broker adapter has."""

    base_url: str = Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    """Where the broker's API lives (a fake server's URL in tests)."""
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60, strict=False)
    """Longest TCP/TLS connect; a call that cannot connect certainly did not reach the broker."""
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    funds_check: bool = False
    """Check the broker's available funds before each priced order; an order whose notional
    exceeds them gets INSUFFICIENT_FUNDS without being sent."""
    funds_cache_s: float = Field(default=5.0, ge=0, le=3600, strict=False)
    """How long a funds reading is reused."""
    expiry_margin_s: float = Field(default=1800.0, ge=0, le=86_400, strict=False)
    """A session expiring within this long shows as ``expiring``."""
    token_key: SecretRef | None = None
    """Key that encrypts the stored session token (a Fernet key, or at least 32 bytes of
    key material). Default: a key file generated in the state directory."""
