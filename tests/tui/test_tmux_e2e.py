"""End to end: ``ordo tui`` in a real terminal (tmux) against a real ``ordod`` process.
Keys go in with send-keys, the screen comes back with capture-pane, as a trader would see it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ordo_shared.client import OrdoClient
from ordo_shared.client_config import ClientSettings
from tests.processes import loopback_endpoint, write_config

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (make test installs it)")


def _ordo_command() -> list[str]:
    script = Path(sys.executable).with_name("ordo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ordo_cli.main"]


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Tmux:
    def __init__(self, socket_name: str, env: dict[str, str]) -> None:
        self.base = ["tmux", "-u", "-L", socket_name]
        self.env = env

    def run(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "desk")

    def keys(self, *keys: str, literal: bool = False) -> None:
        for key in keys:
            self.run("send-keys", "-t", "desk", *(["-l"] if literal else []), key)
            # At a typist's pace: keys in one burst can reach the app in one read, as a paste.
            time.sleep(0.2)

    def wait_for(self, text: str, timeout_s: float = 20.0) -> str:
        try:
            _wait(lambda: text in self.screen(), f"{text!r} on screen", timeout_s)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen shows:\n{self.screen()}") from None
        return self.screen()


@pytest.fixture
def ordod(tmp_path: Path) -> Iterator[Path]:
    """A real ordod on two fast paper brokers; yields its config file."""
    config = write_config(tmp_path / "ordod.toml", {
        "daemon": {"state_dir": str(tmp_path / "state"), "rep_endpoint": loopback_endpoint(),
                   "pub_endpoint": loopback_endpoint(), "http_listen": "", "health_interval_s": 0.5},
        "brokers": {"fyers": {"latency_ms": 1}, "hdfc": {"latency_ms": 1}},
    })
    with (tmp_path / "ordod.log").open("wb") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "ordod", "--state-dir", str(tmp_path / "state"),
                                   "--config", str(config)], stdout=log, stderr=log)
    try:
        _wait(lambda: (tmp_path / "state" / "token").exists(), "ordod's token file")
        yield config
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def test_ordo_tui_in_tmux_places_an_order_on_a_real_daemon(ordod: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    tmux = Tmux(f"ordo-e2e-{os.getpid()}", env)
    command = " ".join([*_ordo_command(), "--config", str(ordod), "tui"])
    tmux.run("new-session", "-d", "-s", "desk", "-x", "160", "-y", "48", command)
    try:
        tmux.wait_for("CONNECTED")
        tmux.wait_for("fyers")  # broker health arrived: the form knows where to route
        tmux.keys("NSE:SBIN-EQ", literal=True)
        tmux.keys("Tab", "Tab")  # symbol -> side -> qty
        tmux.keys("7", literal=True)
        tmux.keys("Enter")
        tmux.wait_for("SEND BUY ORDER?")
        assert "fan-out → fyers, hdfc" in tmux.screen()
        tmux.keys("Enter")
        # The blotter row: accepted, tracked at each broker, and filled there (a paper MARKET order fills at once).
        tmux.wait_for("hdfc  filled 7")
        screen = tmux.wait_for("fyers filled 7")
        assert re.search(r"BUY\s+7\s+NSE:SBIN-EQ\s+MARKET\s+-\s+fyers filled 7", screen)
        assert re.search(r"│\s+hdfc  filled 7", screen)  # its second line, under fyers
        assert "SUCCESS" in screen and "BUY 7 NSE:SBIN-EQ MARKET" in screen  # the last-order panel
        assert re.search(r"fyers\s+success\s+FYERS-0+1", screen) and re.search(r"hdfc\s+success\s+HDFC-0+1", screen)
        tmux.keys("C-q")
        _wait(lambda: "desk" not in _sessions(tmux), "the TUI to quit", timeout_s=10)
    finally:
        subprocess.run([*tmux.base, "kill-server"], env=env, capture_output=True, check=False)

    orders = asyncio.run(_orders(ordod))
    assert [(o["order"]["qty"], o["status"]) for o in orders] == [(7, "success")]


async def _orders(config: Path) -> list[dict[str, Any]]:
    settings = ClientSettings.resolve(config=config)
    async with OrdoClient(settings.endpoint, settings.token) as client:
        reply = await client.call("list_orders", limit=10)
    orders: list[dict[str, Any]] = reply["orders"]
    return orders


def _sessions(tmux: Tmux) -> str:
    done = subprocess.run([*tmux.base, "list-sessions"], env=tmux.env, capture_output=True, text=True, check=False)
    return done.stdout
