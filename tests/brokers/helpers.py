"""Builds real adapters pointed at the fake brokers."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from pydantic import SecretStr

from ordo_shared.models import OrderSpec
from ordod.breaker import CircuitBreaker
from ordod.brokers.base import BrokerAdapter, BrokerOrder
from ordod.brokers.common.ratelimit import Sleep
from ordod.brokers.common.token_store import token_store_for
from ordod.brokers.errors import BrokerError
from ordod.brokers.fyers.adapter import FyersAdapter
from ordod.brokers.fyers.config import FyersConfig
from ordod.brokers.hdfc.adapter import HdfcAdapter
from ordod.brokers.hdfc.config import HdfcConfig
from ordod.clock import Clock, ManualClock, SystemClock
from ordod.config import Config
from ordod.config_base import BreakerConfig, RetryConfig
from ordod.gateway import BrokerGateway
from ordod.retry import Backoff
from tests.fakes import fyers as fake_fyers
from tests.fakes import hdfc as fake_hdfc
from tests.harness import RawClient, make_config


def order(key: str = "k-1", **spec: Any) -> BrokerOrder:
    fields: dict[str, Any] = {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 1, "order_type": "LIMIT", "price": 500.5}
    fields.update(spec)
    return BrokerOrder(order_ref=f"ORD-{key}", idempotency_key=key, spec=OrderSpec(**fields))


def fyers_config(base_url: str = "http://127.0.0.1:9/api/v3", **overrides: Any) -> FyersConfig:
    data: dict[str, Any] = {
        "adapter": "fyers", "base_url": base_url, "app_id": fake_fyers.APP_ID,
        "app_secret": {"env": "FYERS_APP_SECRET"}, "redirect_uri": "http://127.0.0.1:1/fyers/callback",
    }
    data.update(overrides)
    return FyersConfig.model_validate(data)


def fyers_adapter(fake: fake_fyers.FakeFyers, state_dir: Path, clock: Clock | None = None,
                  call_timeout_s: float = 2.0, sleep: Sleep = asyncio.sleep, **overrides: Any) -> FyersAdapter:
    config = fyers_config(**{"base_url": fake.base_url, "redirect_uri": fake.redirect_uri, **overrides})
    store = token_store_for("fyers", None, state_dir)
    return FyersAdapter("fyers", config, SecretStr(fake_fyers.APP_SECRET), store, clock or SystemClock(),
                        call_timeout_s, sleep)


def hdfc_config(base_url: str = "http://127.0.0.1:9", **overrides: Any) -> HdfcConfig:
    data: dict[str, Any] = {
        "adapter": "hdfc", "base_url": base_url, "api_key": {"env": "HDFC_API_KEY"},
        "api_secret": {"env": "HDFC_API_SECRET"}, "username": fake_hdfc.USERNAME,
        "user_agent": "Mozilla/5.0 (OrdoTests)",
    }
    data.update(overrides)
    return HdfcConfig.model_validate(data)


def hdfc_adapter(fake: fake_hdfc.FakeHdfc, state_dir: Path, clock: Clock | None = None,
                 call_timeout_s: float = 2.0, password: str | None = fake_hdfc.PASSWORD,
                 **overrides: Any) -> HdfcAdapter:
    config = hdfc_config(**{"base_url": fake.url, **overrides})
    return HdfcAdapter(
        "hdfc", config, api_key=SecretStr(fake_hdfc.API_KEY), api_secret=SecretStr(fake_hdfc.API_SECRET),
        password=SecretStr(password) if password is not None else None,
        store=token_store_for("hdfc", None, state_dir), state_dir=state_dir, clock=clock or SystemClock(),
        call_timeout_s=call_timeout_s,
    )


def wall_clock() -> ManualClock:
    """A hand-moved clock starting now, so tokens the fakes issue (real exp) are valid on it."""
    return ManualClock(start=time.time())


class RecordingSleep:
    """A sleep in virtual time: records each wait, moves the hand clock (if any) and returns at once."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.waits: list[float] = []
        self._clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self._clock is not None:
            self._clock.advance(seconds)


def gateway(adapter: BrokerAdapter, sleep: RecordingSleep | None = None, clock: Clock | None = None,
            **retry: Any) -> BrokerGateway:
    settings: dict[str, Any] = {"max_attempts": 3, "initial_backoff_ms": 1, "max_backoff_ms": 5,
                                "call_timeout_s": 0.5, "lookup_delay_ms": 0}
    settings.update(retry)
    clock = clock or SystemClock()
    return BrokerGateway(
        adapter, CircuitBreaker(adapter.broker_id, BreakerConfig(failure_threshold=100), clock),
        RetryConfig(**settings), Backoff(0.001, 0.005, random.Random(7)), clock, sleep or RecordingSleep(),
    )


def assert_mapped(error: BaseException, error_type: type, broker_code: str, raw_message: str,
                  secrets: list[str]) -> None:
    """The broker's refusal became the right typed error, kept the broker's own code and
    message for diagnosis, and carries no secret."""
    assert type(error) is error_type
    assert isinstance(error, BrokerError)
    assert error.broker_code == broker_code
    assert error.broker_message
    if raw_message:
        assert error.broker_message == raw_message
    shown = f"{error} {error.broker_message}"
    assert not [s for s in secrets if s in shown]


@asynccontextmanager
async def fake_brokers() -> AsyncIterator[tuple[fake_fyers.FakeFyers, fake_hdfc.FakeHdfc]]:
    """Both fake brokers, running."""
    fyers, hdfc = fake_fyers.FakeFyers(), fake_hdfc.FakeHdfc()
    await fyers.start()
    await hdfc.start()
    try:
        yield fyers, hdfc
    finally:
        await fyers.close()
        await hdfc.close()


def real_brokers_config(state_dir: Path, secrets_dir: Path, fyers: fake_fyers.FakeFyers, hdfc: fake_hdfc.FakeHdfc,
                        tracking: dict[str, Any] | None = None, **retry: Any) -> Config:
    """A daemon config with ``adapter = "fyers"`` and ``"hdfc"`` on the fakes, secrets in files.
    ``tracking`` replaces the slow default (status polls would otherwise notice a dead session
    too, and these tests want the order to be what notices it)."""
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for name, value in {"fyers_secret": fake_fyers.APP_SECRET, "hdfc_key": fake_hdfc.API_KEY,
                        "hdfc_secret": fake_hdfc.API_SECRET, "hdfc_password": fake_hdfc.PASSWORD}.items():
        (secrets_dir / name).write_text(value + "\n")
    return make_config(
        state_dir,
        brokers={
            "fyers": {"adapter": "fyers", "base_url": fyers.base_url, "app_id": fake_fyers.APP_ID,
                      "app_secret": {"file": str(secrets_dir / "fyers_secret")}, "redirect_uri": fyers.redirect_uri},
            "hdfc": {"adapter": "hdfc", "base_url": hdfc.url, "username": fake_hdfc.USERNAME,
                     "api_key": {"file": str(secrets_dir / "hdfc_key")},
                     "api_secret": {"file": str(secrets_dir / "hdfc_secret")},
                     "password": {"file": str(secrets_dir / "hdfc_password")}},
        },
        retry={"initial_backoff_ms": 1, "max_backoff_ms": 5, "lookup_delay_ms": 0, **retry},
        tracking=tracking or {"poll_interval_s": 600, "fast_poll_s": 600},
    )


async def login_both(client: RawClient) -> None:
    """The daily login at both fakes, over the wire: Fyers' browser redirect, HDFC's OTP."""
    started = await client.call("login_start", broker_id="fyers")
    assert started["ok"] and started["step"] == "open_url", started
    # The browser part: Fyers redirects to the registered URI with the auth code.
    async with aiohttp.ClientSession() as browser, browser.get(started["login_url"], allow_redirects=False) as page:
        redirect = {k: v[0] for k, v in parse_qs(urlsplit(page.headers["Location"]).query).items()}
    done = await client.call("login_complete", broker_id="fyers", auth_code=redirect["auth_code"],
                             state=redirect["state"])
    assert done["ok"] and done["session"] == "valid", done

    started = await client.call("login_start", broker_id="hdfc")
    assert (started["ok"], started["step"], started["login_url"]) == (True, "enter_otp", None), started
    done = await client.call("login_complete", broker_id="hdfc", otp=fake_hdfc.OTP)
    assert done["ok"] and done["session"] == "valid" and done["session_expires_at"], done
