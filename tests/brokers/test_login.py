"""The daily login for both brokers, through the session manager and the real adapters:
Fyers by auth code (captured on the redirect route), HDFC by password and OTP."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from ordo_shared.errors import BadRequest, LoginFailed, NotFound
from ordod.brokers.base import LoginAnswer, LoginInput
from ordod.brokers.fyers.adapter import FyersAdapter
from ordod.brokers.fyers.redirect import register_routes
from ordod.brokers.hdfc.adapter import HdfcAdapter
from ordod.session_manager import SessionManager
from tests.brokers.helpers import fyers_adapter, hdfc_adapter
from tests.fakes import fyers as fy
from tests.fakes import hdfc as hd


def everything_stored_under(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


class Recorder:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def changed(self, broker_id: str, old: str, new: str) -> None:
        self.changes.append((broker_id, old, new))

    def event(self, broker_id: str, event: str, data: dict[str, Any]) -> None:
        self.events.append((broker_id, event, data))


class RedirectSite:
    """A small aiohttp app on 127.0.0.1 port 0 with the Fyers redirect route, as the daemon's
    HTTP server mounts it."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, sessions_ref: list[SessionManager]) -> None:
        async def complete(broker_id: str, answer: LoginAnswer, actor: str) -> Any:
            return await sessions_ref[0].login_complete(broker_id, answer, actor)

        register_routes(self.app, complete, {"/fyers/callback": "fyers"})
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/fyers/callback"

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def fyers_login(tmp_path: Path) -> AsyncIterator[tuple[FyersAdapter, fy.FakeFyers, SessionManager, Recorder]]:
    sessions_ref: list[SessionManager] = []
    site = RedirectSite()
    await site.start(sessions_ref)
    fake = fy.FakeFyers(redirect_uri=site.url)
    await fake.start()
    adapter = fyers_adapter(fake, tmp_path)
    await adapter.start()
    recorder = Recorder()
    sessions_ref.append(SessionManager({"fyers": adapter}, recorder.changed, recorder.event))
    yield adapter, fake, sessions_ref[0], recorder
    await adapter.close()
    await fake.close()
    await site.close()


async def test_fyers_login_completes_on_the_captured_redirect(fyers_login: Any, tmp_path: Path) -> None:
    adapter, fake, sessions, recorder = fyers_login
    assert adapter.session().state == "login_required"
    challenge = await sessions.login_start("fyers", LoginInput(), "desk")
    assert challenge.step == "open_url" and challenge.login_url is not None
    url = urlsplit(challenge.login_url)
    assert url.path == "/api/v3/generate-authcode"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == fy.APP_ID and query["redirect_uri"] == fake.redirect_uri
    assert query["response_type"] == "code" and len(query["state"]) >= 16

    # The user's browser: it follows Fyers' redirect to our route.
    async with aiohttp.ClientSession() as browser, browser.get(challenge.login_url) as page:
        text = await page.text()
        assert page.status == 200, text
        assert page.headers["Cache-Control"] == "no-store"
    assert "Logged in to Fyers" in text

    assert adapter.session().state == "valid" and adapter.session().expires_at is not None
    (exchange,) = fake.calls("POST", "/validate-authcode")
    assert exchange.body["grant_type"] == "authorization_code"
    assert exchange.body["appIdHash"] == hashlib.sha256(f"{fy.APP_ID}:{fy.APP_SECRET}".encode()).hexdigest()
    assert "Authorization" not in exchange.headers
    assert recorder.changes == [("fyers", "login_required", "valid")]
    assert [e[1] for e in recorder.events] == ["login_started", "login_completed"]

    token_file = tmp_path / "sessions" / "fyers.token"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = adapter.sessions.token()
    assert token.encode() not in token_file.read_bytes()
    assert token not in repr(recorder.events)

    restarted = fyers_adapter(fake, tmp_path)  # the next start picks the stored session up
    await restarted.start()
    try:
        assert restarted.session().state == "valid"
        assert (await restarted.verify_session()).state == "valid"
    finally:
        await restarted.close()


async def test_a_redirect_with_a_foreign_state_is_refused(fyers_login: Any) -> None:
    adapter, fake, sessions, recorder = fyers_login
    challenge = await sessions.login_start("fyers", LoginInput(), "desk")
    forged = challenge.login_url.replace("state=", "state=forged")
    async with aiohttp.ClientSession() as browser, browser.get(forged) as page:
        assert page.status == 400
        assert "does not match" in await page.text()
    assert fake.calls("POST", "/validate-authcode") == []
    assert adapter.session().state == "login_required"
    assert recorder.events[-1][1] == "login_failed"


async def test_a_redirect_without_state_or_code_is_refused(fyers_login: Any) -> None:
    _, fake, _, _ = fyers_login
    async with aiohttp.ClientSession() as browser:
        for query in ("?auth_code=abc", "?state=x", "?s=error&message=user+cancelled"):
            async with browser.get(fake.redirect_uri + query) as page:
                assert page.status == 400
    assert fake.calls("POST", "/validate-authcode") == []


async def test_fyers_auth_code_typed_in_by_hand_completes_the_login(fyers_login: Any) -> None:
    adapter, _, sessions, _ = fyers_login
    challenge = await sessions.login_start("fyers", LoginInput(), "desk")
    async with aiohttp.ClientSession() as browser, browser.get(challenge.login_url, allow_redirects=False) as page:
        location = page.headers["Location"]
    code = parse_qs(urlsplit(location).query)["auth_code"][0]
    info = await sessions.login_complete("fyers", LoginAnswer(auth_code=code), "desk")
    assert info.state == adapter.session().state == "valid"


async def test_a_wrong_auth_code_fails_the_login_and_leaves_the_session_as_it_was(fyers_login: Any) -> None:
    adapter, _, sessions, recorder = fyers_login
    with pytest.raises(LoginFailed, match="Invalid auth code") as caught:
        await sessions.login_complete("fyers", LoginAnswer(auth_code="not-a-code"), "desk")
    assert "not-a-code" not in caught.value.message
    assert adapter.session().state == "login_required"
    broker_id, event, data = recorder.events[-1]
    assert (broker_id, event, data["code"], data["step"]) == ("fyers", "login_failed", "LOGIN_FAILED",
                                                              "login_complete")


async def test_login_for_an_unknown_broker_is_not_found(fyers_login: Any) -> None:
    _, _, sessions, _ = fyers_login
    with pytest.raises(NotFound):
        await sessions.login_start("nope", LoginInput(), "desk")


@pytest.fixture
async def hdfc_login(fake_hdfc: hd.FakeHdfc, tmp_path: Path) -> AsyncIterator[tuple[HdfcAdapter, SessionManager,
                                                                                      Recorder]]:
    adapter = hdfc_adapter(fake_hdfc, tmp_path)
    await adapter.start()
    recorder = Recorder()
    yield adapter, SessionManager({"hdfc": adapter}, recorder.changed, recorder.event), recorder
    await adapter.close()


async def test_hdfc_login_runs_the_documented_steps(hdfc_login: Any, fake_hdfc: hd.FakeHdfc, tmp_path: Path) -> None:
    adapter, sessions, recorder = hdfc_login
    challenge = await sessions.login_start("hdfc", LoginInput(), "desk")
    assert challenge.step == "enter_otp"
    assert challenge.prompt == "Please enter OTP received on registered Email/Mobile"
    assert adapter.session().state == "login_required"
    info = await sessions.login_complete("hdfc", LoginAnswer(otp=hd.OTP), "desk")
    assert info.state == "valid" and info.expires_at is not None

    steps = [(r.method, r.path) for r in fake_hdfc.requests if r.path != "/oapi/v1/security-master"]
    assert steps == [("GET", "/oapi/v1/login"), ("POST", "/oapi/v1/login/validate"),
                     ("POST", "/oapi/v1/twofa/validate"), ("GET", "/oapi/v1/authorise"),
                     ("POST", "/oapi/v1/access-token"), ("GET", "/oapi/v1/user/margins")]
    login, validate, twofa, authorise, access, _ = [r for r in fake_hdfc.requests
                                                    if r.path != "/oapi/v1/security-master"]
    assert all(r.query["api_key"] == hd.API_KEY and r.headers["User-Agent"] == "Mozilla/5.0 (OrdoTests)"
               for r in (login, validate, twofa, authorise, access))
    token_id = validate.query["token_id"]
    assert validate.body == {"username": hd.USERNAME, "password": hd.PASSWORD}
    assert twofa.query["token_id"] == token_id and twofa.body == {"answer": hd.OTP}
    assert authorise.query["consent"] == "true" and authorise.query["request_token"]
    assert access.body == {"apiSecret": hd.API_SECRET}
    assert recorder.changes == [("hdfc", "login_required", "valid")]

    stored = everything_stored_under(tmp_path)
    for secret in (hd.PASSWORD, hd.OTP, adapter.sessions.token()):
        assert secret.encode() not in stored
        assert secret not in repr(recorder.events)


async def test_a_wrong_otp_fails_and_the_right_one_still_works(hdfc_login: Any) -> None:
    _, sessions, _ = hdfc_login
    await sessions.login_start("hdfc", LoginInput(), "desk")
    with pytest.raises(LoginFailed, match="Invalid OTP") as caught:
        await sessions.login_complete("hdfc", LoginAnswer(otp="000000"), "desk")
    assert "000000" not in caught.value.message
    assert (await sessions.login_complete("hdfc", LoginAnswer(otp=hd.OTP), "desk")).state == "valid"


async def test_a_password_given_to_login_start_is_used_and_a_missing_one_refused(
    fake_hdfc: hd.FakeHdfc, tmp_path: Path,
) -> None:
    adapter = hdfc_adapter(fake_hdfc, tmp_path, password=None, username="")
    await adapter.start()
    try:
        sessions = SessionManager({"hdfc": adapter})
        with pytest.raises(BadRequest, match="username and password"):
            await sessions.login_start("hdfc", LoginInput(), "desk")
        with pytest.raises(LoginFailed, match="Invalid username or password"):
            await sessions.login_start("hdfc", LoginInput(hd.USERNAME, SecretStr("wrong")), "desk")
        challenge = await sessions.login_start("hdfc", LoginInput(hd.USERNAME, SecretStr(hd.PASSWORD)), "desk")
        assert challenge.step == "enter_otp"
    finally:
        await adapter.close()


async def test_an_otp_without_a_started_login_is_refused(hdfc_login: Any) -> None:
    _, sessions, _ = hdfc_login
    with pytest.raises(LoginFailed, match="no HDFC login is in progress"):
        await sessions.login_complete("hdfc", LoginAnswer(otp=hd.OTP), "desk")


async def test_session_checks_announce_a_session_the_broker_ended(fyers: FyersAdapter,
                                                                   fake_fyers: fy.FakeFyers) -> None:
    recorder = Recorder()
    sessions = SessionManager({"fyers": fyers}, recorder.changed)
    await sessions.verify_all()
    assert recorder.changes == []
    fake_fyers.revoke_all()
    await sessions.verify_all()
    assert recorder.changes == [("fyers", "valid", "login_required")]
    problems = await sessions.ensure_valid(["fyers"])
    assert problems["fyers"] == "session login_required: log in to fyers again"
