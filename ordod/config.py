"""The daemon's configuration: a TOML file validated by strict, frozen pydantic models.

Every field has a default, so ``ordod`` with no file runs two paper brokers; a real broker's
table (``adapter = "fyers"`` or ``"hdfc"``) must name its app and where its secrets live. A
wrong key or value stops the daemon at start with a message naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from ordo_shared.client_config import default_state_dir
from ordo_shared.models import BrokerId
from ordod.brokers.fyers.config import FyersConfig
from ordod.brokers.hdfc.config import HdfcConfig
from ordod.brokers.paper.config import PaperConfig
from ordod.config_base import BreakerConfig, ConfigError, RetryConfig, Section
from ordod.credentials import credential_file

TOKEN_CREDENTIAL = "ordod_token"  # noqa: S105 - the credential's name, not a secret

__all__ = ["BreakerConfig", "BrokerConfig", "Config", "ConfigError", "CurveConfig", "RateLimitConfig", "RetryConfig",
           "Role", "Section", "TokenConfig"]

Role = Literal["viewer", "trader", "admin"]
"""viewer reads; trader also places orders and may turn the kill switch on; admin does everything."""
TokenName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
# Names the daemon uses itself: the token file of [auth] and the caller of open ops.
RESERVED_TOKEN_NAMES = frozenset({"default", "anonymous"})


class DaemonConfig(Section):
    state_dir: Path = Field(default_factory=default_state_dir, strict=False)
    """SQLite database and the auth token file live here."""
    rep_endpoint: str = "tcp://127.0.0.1:7750"
    """ZeroMQ endpoint that REQ clients connect to."""
    pub_endpoint: str = "tcp://127.0.0.1:7751"
    """ZeroMQ endpoint that publishes audit and health events."""
    http_listen: str = "127.0.0.1:7752"
    """host:port of the HTTP API; "" disables it."""
    health_interval_s: float = Field(default=2.0, gt=0, le=60, strict=False)
    """A health snapshot goes out at least this often (and at once on any change)."""
    shutdown_grace_s: float = Field(default=10.0, ge=0, le=300, strict=False)
    """How long SIGTERM waits for in-flight orders before closing the database."""
    db_busy_timeout_ms: int = Field(default=2000, ge=0, le=60_000)
    """How long a write waits for a lock held elsewhere before the order is refused."""
    reconcile_interval_s: float = Field(default=5.0, gt=0, le=3600, strict=False)
    """How often brokers are asked again about orders whose outcome is unknown."""
    idempotency_ttl_h: float = Field(default=24.0, gt=0, le=24 * 30, strict=False)
    """How long an idempotency key stays bound to its order."""
    session_check_interval_s: float = Field(default=60.0, gt=0, le=3600, strict=False)
    """How often each broker session is proven with a round trip (the health probe), and
    expiry changes (valid -> expiring -> expired) are announced."""
    allow_remote: bool = False
    """Bind endpoints on addresses other than loopback (tcp://0.0.0.0, a LAN address, an
    interface name). Off by default: a daemon that places orders is not exposed by accident.
    With ZeroMQ on a network, also configure [auth.curve]."""


class RateLimitConfig(Section):
    orders_per_s: float = Field(default=0.0, ge=0, le=1_000_000, strict=False)
    """Sustained place_order requests per second for one token (a token bucket); 0 = no limit."""
    burst: int = Field(default=10, ge=1, le=1_000_000)
    """How many orders a token may send at once after a quiet spell."""


class TokenConfig(Section):
    """One named token. The token itself is never in the config: give the file that holds it
    (created 0600 with a random token if missing) or its SHA-256 in hex."""

    role: Role
    token_file: Path | None = Field(default=None, strict=False)
    token_sha256: Sha256Hex | None = None
    """hex SHA-256 of the token's UTF-8 bytes: printf %s "$TOKEN" | sha256sum"""
    rate_limit: RateLimitConfig | None = None
    """Overrides [auth.rate_limit] for this token."""

    @model_validator(mode="after")
    def _exactly_one_source(self) -> TokenConfig:
        if (self.token_file is None) == (self.token_sha256 is None):
            raise ValueError("give exactly one of token_file or token_sha256")
        return self


class CurveConfig(Section):
    """ZeroMQ CURVE: encryption, and clients authenticated by public key (docs/SECURITY.md)."""

    server_secret_key_file: Path = Field(strict=False)
    """The daemon's secret certificate, as written by zmq.auth.create_certificates."""
    client_public_keys_dir: Path = Field(strict=False)
    """Public certificates of the clients allowed to connect; any other key is refused."""


class AuthConfig(Section):
    token_file: Path | None = Field(default=None, strict=False)
    """The admin token named "default". Default: <state_dir>/token; created 0600 with a random
    token if missing."""
    tokens: dict[TokenName, TokenConfig] = Field(default_factory=dict)
    """More tokens, by name: [auth.tokens.<name>] with role and token_file or token_sha256."""
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    """Per-token order rate limit for every token without its own."""
    curve: CurveConfig | None = None
    """When set, both ZeroMQ sockets require CURVE from their clients."""

    @model_validator(mode="after")
    def _no_reserved_names(self) -> AuthConfig:
        if reserved := sorted(RESERVED_TOKEN_NAMES & set(self.tokens)):
            raise ValueError(f"token name {reserved[0]!r} is reserved")
        return self


class KillSwitchConfig(Section):
    min_hold_s: float = Field(default=60.0, ge=0, le=86_400, strict=False)
    """After going on, the switch refuses to go off for this long."""


class TrackingConfig(Section):
    poll_interval_s: float = Field(default=2.0, gt=0, le=600, strict=False)
    """How often open orders are looked up at their brokers."""
    fast_poll_s: float = Field(default=0.5, gt=0, le=600, strict=False)
    """The interval right after placement, when fills and late rejections are most likely."""
    fast_window_s: float = Field(default=10.0, ge=0, le=3600, strict=False)
    """How long after placement the fast interval applies."""
    max_polls_per_s: float = Field(default=20.0, gt=0, le=10_000, strict=False)
    """Status lookups per broker per second at most: tracking never crowds out orders, however
    many rest at a broker (the longest-unpolled go first). Newly accepted orders are picked up
    within poll_interval_s."""


class LimitsConfig(Section):
    max_qty: int = Field(default=100_000, ge=1)
    """Largest quantity in one order."""
    max_notional: float = Field(default=50_000_000.0, gt=0, strict=False)
    """Largest qty x price of one priced order (LIMIT and SL; MARKET orders carry no price)."""


class AuditConfig(Section):
    retention_days: float = Field(default=0.0, ge=0, le=3650, strict=False)
    """Events older than this are exported to gzip JSON-lines files, then removed from the
    database; 0 keeps every event in the database forever."""
    archive_dir: Path | None = Field(default=None, strict=False)
    """Where the exported files go. Default: <state_dir>/audit-archive."""
    sweep_interval_s: float = Field(default=3600.0, gt=0, le=86_400, strict=False)
    """How often the retention sweep runs (it also runs once at start)."""


def _adapter_of(table: Any) -> Any:
    """Which adapter a broker table is for; a table that names none is a paper broker."""
    if isinstance(table, dict):
        return table.get("adapter", "paper")
    return getattr(table, "adapter", "paper")


ADAPTER_KINDS = ("paper", "fyers", "hdfc")

# One table shape per adapter: the keys of one adapter are errors in another's table.
BrokerConfig = Annotated[
    Annotated[PaperConfig, Tag("paper")] | Annotated[FyersConfig, Tag("fyers")] | Annotated[HdfcConfig, Tag("hdfc")],
    Discriminator(_adapter_of, custom_error_type="unknown_adapter",
                  custom_error_message="adapter must be one of: " + ", ".join(ADAPTER_KINDS)),
]


def _default_brokers() -> dict[str, BrokerConfig]:
    return {"fyers": PaperConfig(), "hdfc": PaperConfig()}


class Config(Section):
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    brokers: dict[BrokerId, BrokerConfig] = Field(default_factory=_default_brokers)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    kill_switch: KillSwitchConfig = Field(default_factory=KillSwitchConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @field_validator("brokers")
    @classmethod
    def _at_least_one_broker(cls, brokers: dict[str, BrokerConfig]) -> dict[str, BrokerConfig]:
        if not any(b.enabled for b in brokers.values()):
            raise ValueError("at least one broker must be enabled")
        return brokers

    @property
    def token_file(self) -> Path:
        """[auth] token_file; else the systemd credential ``ordod_token`` when the unit passes
        one (LoadCredential=); else <state_dir>/token, created on first start."""
        return self.auth.token_file or credential_file(TOKEN_CREDENTIAL) or self.daemon.state_dir / "token"

    @property
    def audit_archive_dir(self) -> Path:
        return self.audit.archive_dir or self.daemon.state_dir / "audit-archive"

    def breaker_for(self, broker_id: str) -> BreakerConfig:
        """The [breaker] defaults with this broker's own keys on top."""
        override = self.brokers[broker_id].breaker
        return self.breaker if override is None else self.breaker.model_copy(
            update=override.model_dump(exclude_unset=True))

    def retry_for(self, broker_id: str) -> RetryConfig:
        """The [retry] defaults with this broker's own keys on top."""
        override = self.brokers[broker_id].retry
        return self.retry if override is None else self.retry.model_copy(update=override.model_dump(exclude_unset=True))

    def with_state_dir(self, state_dir: Path) -> Config:
        return self.model_copy(update={"daemon": self.daemon.model_copy(update={"state_dir": state_dir})})


def config_from_mapping(data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = list(err["loc"])
            if len(loc) > 2 and loc[0] == "brokers" and loc[2] in ADAPTER_KINDS:
                del loc[2]  # the union's tag: the table is already named by its adapter key
            if err["type"] == "unknown_adapter":
                loc.append("adapter")
            key = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(f"{key}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def load_config(path: Path | None, state_dir: Path | None = None) -> Config:
    """Read and validate the TOML file; ``None`` means built-in defaults."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config {path} is not valid TOML: {exc}") from None
    config = config_from_mapping(data)
    return config.with_state_dir(state_dir) if state_dir is not None else config
