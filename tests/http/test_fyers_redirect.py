"""The Fyers login redirect, registered on the daemon's own HTTP server through the route
hook: the browser lands on ordod, and the session is valid with no copy and paste."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.brokers.helpers import fake_brokers, real_brokers_config
from tests.fakes import fyers as fy
from tests.fakes import hdfc as hd
from tests.harness import running_daemon


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[fy.FakeFyers, hd.FakeHdfc]]:
    async with fake_brokers() as both:
        yield both


def free_port() -> int:
    """The redirect URI names the port, so it must be known before the daemon binds it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_fyers_redirect_lands_on_the_daemons_http_server_and_logs_in(
    state_dir: Path, tmp_path: Path, fakes: tuple[fy.FakeFyers, hd.FakeHdfc],
) -> None:
    fyers, hdfc = fakes
    port = free_port()
    fyers.redirect_uri = f"http://127.0.0.1:{port}/fyers/callback"
    config = real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)
    config = config.model_copy(update={"daemon": config.daemon.model_copy(update={"http_listen": f"127.0.0.1:{port}"})})
    async with running_daemon(config) as d:
        client = d.client()
        started = await client.call("login_start", broker_id="fyers")
        async with aiohttp.ClientSession() as browser, browser.get(started["login_url"]) as page:
            landed_on, status, text = str(page.url), page.status, await page.text()
        health = await client.call("health")
    assert landed_on.startswith(f"http://127.0.0.1:{port}/fyers/callback?")
    assert status == 200 and "Logged in to Fyers" in text
    assert {b["broker_id"]: b["session"] for b in health["health"]["brokers"]}["fyers"] == "valid"
