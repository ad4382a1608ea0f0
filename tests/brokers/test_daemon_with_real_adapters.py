"""The whole daemon with ``adapter = "fyers"`` and ``adapter = "hdfc"`` pointing at the fake
brokers, driven over ZeroMQ like a script: log in over the wire, place, lose the session
mid-day, and find every step in health and the audit log (with no secret anywhere)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ordod.brokers.base import LoginAnswer, SessionInfo
from ordod.brokers.fyers.redirect import redirect_paths, register_routes
from ordod.config import Config, ConfigError
from ordod.daemon import Daemon
from tests.brokers.helpers import fake_brokers, login_both, real_brokers_config
from tests.fakes import fyers as fy
from tests.fakes import hdfc as hd
from tests.harness import ORDER, make_config, running_daemon


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[fy.FakeFyers, hd.FakeHdfc]]:
    async with fake_brokers() as both:
        yield both


def sessions(health: dict[str, Any]) -> dict[str, str]:
    return {b["broker_id"]: b["session"] for b in health["health"]["brokers"]}


async def test_daemon_logs_in_over_the_wire_places_at_both_real_brokers_and_survives_a_mid_day_expiry(
    state_dir: Path, tmp_path: Path, fakes: tuple[fy.FakeFyers, hd.FakeHdfc],
) -> None:
    fyers, hdfc = fakes
    config = real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)
    async with running_daemon(config) as d:
        client = d.client()
        health = await client.call("health")
        assert sessions(health) == {"fyers": "login_required", "hdfc": "login_required"}
        assert {b["adapter"] for b in health["health"]["brokers"]} == {"fyers", "hdfc"}

        before_login = await client.place("k-before-login")
        assert before_login["status"] == "failed"
        assert {r["error_code"] for r in before_login["results"]} == {"SESSION_EXPIRED"}
        assert fyers.orders == [] and hdfc.orders == []

        await login_both(client)
        assert sessions(await client.call("health")) == {"fyers": "valid", "hdfc": "valid"}

        placed = await client.place("k-real")
        assert placed["status"] == "success", placed
        by_broker = {r["broker_id"]: r for r in placed["results"]}
        assert by_broker["fyers"]["order_id"] == fyers.orders[0].id
        assert by_broker["fyers"]["broker_code"] == "1101"
        assert by_broker["hdfc"]["order_id"] == hdfc.orders[0].order_id
        assert fyers.orders[0].body["symbol"] == ORDER["symbol"] and fyers.orders[0].body["limitPrice"] == 500.5
        assert hdfc.orders[0].body["security_id"] == "SBINEQNR"

        fyers.revoke_all()  # Fyers ends the session mid-day
        mid_day = await client.place("k-mid-day")
        by_broker = {r["broker_id"]: r for r in mid_day["results"]}
        assert mid_day["status"] == "partial_success"
        assert (by_broker["fyers"]["error_code"], by_broker["fyers"]["broker_code"]) == ("SESSION_EXPIRED", "-8")
        assert by_broker["hdfc"]["status"] == "success"
        assert sessions(await client.call("health")) == {"fyers": "login_required", "hdfc": "valid"}

        replay = await client.place("k-mid-day")  # the same key never reaches a broker again
        assert replay["replayed"] is True
        events = (await client.call("audit_replay", since=0, limit=1000))["events"]
        secrets = [hd.PASSWORD, hd.OTP, fy.APP_SECRET, hd.API_KEY, hd.API_SECRET, *fyers.tokens, *hdfc.tokens]

    assert len(fyers.orders) == 1 and len(hdfc.orders) == 2
    changes = [(e["broker_id"], e["data"]["old"], e["data"]["new"]) for e in events if e["type"] == "session.changed"]
    assert ("fyers", "valid", "login_required") in changes
    assert ("fyers", "login_required", "valid") in changes and ("hdfc", "login_required", "valid") in changes
    logins = [(e["broker_id"], e["type"]) for e in events if e["type"].startswith("session.login")]
    assert logins == [("fyers", "session.login_started"), ("fyers", "session.login_completed"),
                      ("hdfc", "session.login_started"), ("hdfc", "session.login_completed")]
    dump = json.dumps(events)
    assert not [s for s in secrets if s in dump]


async def test_wire_login_errors_are_typed(state_dir: Path, tmp_path: Path,
                                           fakes: tuple[fy.FakeFyers, hd.FakeHdfc]) -> None:
    fyers, hdfc = fakes
    async with running_daemon(real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)) as d:
        client = d.client()
        both = await client.call("login_complete", broker_id="hdfc", otp="1", auth_code="2")
        unknown = await client.call("login_start", broker_id="nobody")
        no_login = await client.call("login_complete", broker_id="hdfc", otp=hd.OTP)
        await client.call("login_start", broker_id="hdfc")
        wrong_otp = await client.call("login_complete", broker_id="hdfc", otp="999999")
        anonymous = await d.client(token=None).call("login_start", broker_id="hdfc")
    assert both["error"]["code"] == "VALIDATION_ERROR"
    assert unknown["error"]["code"] == "NOT_FOUND"
    assert (no_login["error"]["code"], no_login["error"]["http_status"]) == ("LOGIN_FAILED", 502)
    assert wrong_otp["error"]["code"] == "LOGIN_FAILED" and "999999" not in wrong_otp["error"]["message"]
    assert anonymous["error"]["code"] == "UNAUTHORIZED"


async def test_paper_brokers_need_no_login(config: Config) -> None:
    async with running_daemon(config) as d:
        reply = await d.client().call("login_start", broker_id="fyers")
    assert reply["error"]["code"] == "BAD_REQUEST" and "needs no login" in reply["error"]["message"]


async def test_an_unreadable_broker_secret_stops_the_daemon_at_start(state_dir: Path, tmp_path: Path,
                                                                   fakes: tuple[fy.FakeFyers, hd.FakeHdfc]) -> None:
    fyers, hdfc = fakes
    config = real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)
    (tmp_path / "secrets" / "fyers_secret").unlink()
    with pytest.raises(ConfigError, match=r"brokers\.fyers\.app_secret: cannot read"):
        await Daemon(config).start()


async def test_the_daemons_sessions_complete_a_fyers_login_captured_on_the_redirect_route(
    state_dir: Path, tmp_path: Path, fakes: tuple[fy.FakeFyers, hd.FakeHdfc],
) -> None:
    fyers, hdfc = fakes
    listener = socket.create_server(("127.0.0.1", 0))  # the HTTP server's port, known before the config
    fyers.redirect_uri = f"http://127.0.0.1:{listener.getsockname()[1]}/fyers/callback"
    config = real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)
    daemon_ref: list[Daemon] = []

    async def complete(broker_id: str, answer: LoginAnswer, actor: str) -> SessionInfo:
        return await daemon_ref[0].sessions.login_complete(broker_id, answer, actor)

    # What the daemon's HTTP server does at start: routes first, then serve.
    app = web.Application()
    register_routes(app, complete, redirect_paths(config.brokers))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    try:
        async with running_daemon(config, prepare=daemon_ref.append) as d:
            client = d.client()
            started = await client.call("login_start", broker_id="fyers")
            async with aiohttp.ClientSession() as browser, browser.get(started["login_url"]) as page:
                assert page.status == 200, await page.text()
            health = await client.call("health")
            events = (await client.call("audit_replay", since=0, limit=100))["events"]
    finally:
        await runner.cleanup()
    assert sessions(health)["fyers"] == "valid"
    completed = [e for e in events if e["type"] == "session.login_completed"]
    assert completed and completed[0]["data"]["by"] == "fyers-redirect"


def test_only_local_http_redirects_are_captured() -> None:
    base = {"adapter": "fyers", "app_id": fy.APP_ID, "app_secret": {"env": "X"}}
    config = make_config(Path("/nonexistent"), brokers={
        "fyers": {**base, "redirect_uri": "http://127.0.0.1:7752/fyers/callback"},
        "fyers2": {**base, "redirect_uri": "https://example.com/fyers/callback"},
        "fyers3": {**base, "redirect_uri": "http://localhost:7752/fyers3"},
    })
    assert redirect_paths(config.brokers) == {"/fyers/callback": "fyers", "/fyers3": "fyers3"}
    clash = make_config(Path("/nonexistent"), brokers={
        "a": {**base, "redirect_uri": "http://127.0.0.1:7752/cb"},
        "b": {**base, "redirect_uri": "http://127.0.0.1:7752/cb"},
    })
    with pytest.raises(ConfigError, match=r"already the redirect of brokers\.a"):
        redirect_paths(clash.brokers)
