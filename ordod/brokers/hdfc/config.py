"""The HDFC InvestRight config table (``adapter = "hdfc"``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ordod.brokers.common.config import RealBrokerTable, SecretRef


class HdfcConfig(RealBrokerTable):
    adapter: Literal["hdfc"]
    base_url: str = Field(default="https://developer.hdfcsec.com", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    """The host; paths (``/oapi/v1/...``) are added to it."""
    api_key: SecretRef
    """Sent as the ``api_key`` query parameter on every call."""
    api_secret: SecretRef
    """Exchanged with the request token for the access token at login."""
    username: str = Field(default="", max_length=64)
    """The InvestRight login id; ``login_start`` may give it instead."""
    password: SecretRef | None = None
    """The login password; when unset, ``login_start`` must carry it. Ordo never stores it."""
    user_agent: str = Field(default="Mozilla/5.0 (X11; Linux x86_64) Ordo/0.1", min_length=1, max_length=256)
    """InvestRight rejects calls without a User-Agent."""
    amo: bool = False
    """Send every order as an after-market order."""
    security_master_max_age_h: float = Field(default=24.0, gt=0, le=24 * 7, strict=False)
    """The cached security master is downloaded again once it is this old."""
    login_timeout_s: float = Field(default=300.0, gt=0, le=3600, strict=False)
    """How long a started login waits for its OTP."""
