"""The Fyers config table (``adapter = "fyers"``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ordod.brokers.common.config import RealBrokerTable, SecretRef


class FyersConfig(RealBrokerTable):
    adapter: Literal["fyers"]
    base_url: str = Field(default="https://api-t1.fyers.in/api/v3", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    """The REST base, ``/api/v3`` included."""
    app_id: str = Field(pattern=r"^[A-Z0-9]+-\d+$")
    """The app's client id, e.g. ``ABCD1234-100`` (not a secret: it is in every login URL)."""
    app_secret: SecretRef
    """The app secret, hashed into ``appIdHash`` at login."""
    redirect_uri: str = Field(pattern=r"^https?://\S+$")
    """The redirect URI registered with the app. When it is ``http://127.0.0.1:<port>/<path>``
    the daemon's HTTP server captures the auth code on it."""
    offline_order: bool = False
    """Send every order as an after-market order (``offlineOrder: true``)."""
    login_timeout_s: float = Field(default=600.0, gt=0, le=3600, strict=False)
    """How long a started login waits for its auth code."""
