"""The daily broker login from the desk (ctrl+l), against a whole daemon whose brokers are
the fake Fyers and HDFC servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from ordo_tui.app import OrdoApp
from ordo_tui.link import LoginAnswer
from ordo_tui.screens.login import LoginScreen, answer_from
from tests.brokers.helpers import fake_brokers, real_brokers_config
from tests.fakes import hdfc as hd
from tests.harness import RunningDaemon, running_daemon
from tests.tui.helpers import desk_on, wait_until


def step_text(screen: LoginScreen) -> str:
    return str(screen.query_one("#login-step", Static).content)


@asynccontextmanager
async def login_dialog(state_dir: Path,
                       tmp_path: Path) -> AsyncIterator[tuple[RunningDaemon, OrdoApp, Pilot[int], LoginScreen]]:
    """The desk on a daemon whose brokers are the fakes, with the login dialog open."""
    async with fake_brokers() as (fyers, hdfc):
        config = real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)
        async with running_daemon(config) as d, desk_on(d) as (app, pilot):
            await pilot.press("ctrl+l")
            screen = app.screen
            assert isinstance(screen, LoginScreen)
            yield d, app, pilot, screen


async def test_the_desk_logs_in_to_hdfc_with_the_otp_and_to_fyers_with_the_auth_code(
    state_dir: Path, tmp_path: Path,
) -> None:
    async with login_dialog(state_dir, tmp_path) as (d, app, pilot, screen):
        assert [b.broker_id for b in screen.brokers] == ["fyers", "hdfc"]

        screen.query_one("#login-broker", Select).value = "hdfc"
        await pilot.click("#login-start")
        await wait_until(pilot, lambda: "OTP" in step_text(screen), "HDFC asking for the OTP")
        code = screen.query_one("#login-code", Input)
        assert code.password is True  # an OTP is not shown on screen
        code.insert_text_at_cursor(hd.OTP)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "session valid" in step_text(screen), "HDFC's session valid")
        assert code.value == ""
        assert d.daemon.adapters["hdfc"].session().state == "valid"

        screen.query_one("#login-broker", Select).value = "fyers"
        await pilot.click("#login-start")
        await wait_until(pilot, lambda: "generate-authcode" in step_text(screen), "Fyers' login URL")
        login_url = step_text(screen).split("\n\n")[1]
        async with aiohttp.ClientSession() as browser, browser.get(login_url, allow_redirects=False) as page:
            landed_on = page.headers["Location"]  # where the browser lands after logging in
        screen.query_one("#login-code", Input).insert_text_at_cursor(landed_on)
        await pilot.click("#login-complete")
        await wait_until(pilot, lambda: "session valid" in step_text(screen), "Fyers' session valid")
        assert d.daemon.adapters["fyers"].session().state == "valid"

        await pilot.click("#login-close")
        await wait_until(pilot, lambda: not isinstance(app.screen, LoginScreen), "the dialog closing")
        await wait_until(pilot, lambda: app.desk.health.snapshot is not None and {
            b.broker_id: b.session for b in app.desk.health.snapshot.brokers} == {"fyers": "valid",
                                                                                  "hdfc": "valid"},
            "both sessions valid in the health panel")


async def test_a_wrong_otp_is_reported_and_the_dialog_stays_for_another_try(state_dir: Path, tmp_path: Path) -> None:
    async with login_dialog(state_dir, tmp_path) as (_, app, pilot, screen):
        screen.query_one("#login-broker", Select).value = "hdfc"
        await pilot.press("enter")  # the start button has the focus
        await wait_until(pilot, lambda: not screen.query_one("#login-complete", Button).disabled, "the OTP field")
        screen.query_one("#login-code", Input).insert_text_at_cursor("000000")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "not done" in step_text(screen), "the refusal")
        assert "LOGIN_FAILED" in step_text(screen) and "Invalid OTP" in step_text(screen)
        assert isinstance(app.screen, LoginScreen)
        screen.query_one("#login-code", Input).insert_text_at_cursor(hd.OTP)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "session valid" in step_text(screen), "the second try working")


def test_what_the_trader_types_becomes_the_right_answer() -> None:
    assert answer_from(" 113402 ", "enter_otp", None) == LoginAnswer(otp="113402")
    assert answer_from("abc123", "open_url", "st") == LoginAnswer(auth_code="abc123", state="st")
    landed = "http://127.0.0.1:7752/fyers/callback?s=ok&code=200&auth_code=XYZ&state=S1"
    assert answer_from(landed, "open_url", "other") == LoginAnswer(auth_code="XYZ", state="S1")
    assert urlsplit(landed).path == "/fyers/callback"
