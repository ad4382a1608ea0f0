"""``ordo login`` against a daemon on the fake brokers: the OTP or the pasted redirect address
is read from standard input (as from a script), the session turns valid, and no answer ever
appears in what ordo prints."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.brokers.helpers import fake_brokers, real_brokers_config
from tests.cli.runner import against, ordo
from tests.fakes import fyers as fy
from tests.fakes import hdfc as hd
from tests.harness import running_daemon


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[fy.FakeFyers, hd.FakeHdfc]]:
    async with fake_brokers() as both:
        yield both


async def test_hdfc_login_reads_the_otp_and_never_prints_it(
    state_dir: Path, tmp_path: Path, fakes: tuple[fy.FakeFyers, hd.FakeHdfc], monkeypatch: pytest.MonkeyPatch
) -> None:
    fyers, hdfc = fakes
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{hd.OTP}\n"))
    async with running_daemon(real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)) as d:
        run = await ordo(*against(d), "login", "hdfc")
        health = await d.client().call("health")
    assert run.code == 0, run.stderr
    assert "hdfc: session valid" in run.stdout and "OTP" in run.stderr
    assert hd.OTP not in run.stdout + run.stderr
    assert {b["broker_id"]: b["session"] for b in health["health"]["brokers"]}["hdfc"] == "valid"


async def test_fyers_login_takes_the_pasted_redirect_address(
    state_dir: Path, tmp_path: Path, fakes: tuple[fy.FakeFyers, hd.FakeHdfc], monkeypatch: pytest.MonkeyPatch
) -> None:
    fyers, hdfc = fakes
    fyers.auth_codes.add("code-from-the-browser")  # what the fake's login page would hand out
    pasted = "http://127.0.0.1:9/fyers/callback?s=ok&code=200&auth_code=code-from-the-browser"
    monkeypatch.setattr("sys.stdin", io.StringIO(pasted + "\n"))
    async with running_daemon(real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)) as d:
        run = await ordo(*against(d), "login", "fyers")
    assert run.code == 0, run.stderr
    assert "open in a browser: http" in run.stderr and "fyers: session valid" in run.stdout
    assert "code-from-the-browser" not in run.stdout + run.stderr


async def test_an_address_without_an_auth_code_is_a_usage_error(
    state_dir: Path, tmp_path: Path, fakes: tuple[fy.FakeFyers, hd.FakeHdfc], monkeypatch: pytest.MonkeyPatch
) -> None:
    fyers, hdfc = fakes
    monkeypatch.setattr("sys.stdin", io.StringIO("https://example.test/callback?s=error\n"))
    async with running_daemon(real_brokers_config(state_dir, tmp_path / "secrets", fyers, hdfc)) as d:
        run = await ordo(*against(d), "login", "fyers")
    assert run.code == 64 and "auth_code" in run.stderr
