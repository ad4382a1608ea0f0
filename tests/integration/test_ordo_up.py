"""``make run`` is ``ordo up``: a daemon on paper brokers with the TUI attached, in a real
terminal (tmux). Quitting the TUI stops the daemon it started."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.processes import loopback_endpoint, write_config

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by `make test`")


def screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def wait_for_screen(session: str, text: str, timeout_s: float = 20.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shown = screen(session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on screen:\n{screen(session)}")


def test_ordo_up_starts_daemon_and_tui_and_quitting_stops_both(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "ordod.toml"
    write_config(config, {"daemon": {"state_dir": str(state), "rep_endpoint": loopback_endpoint(),
                                     "pub_endpoint": loopback_endpoint(), "http_listen": ""}})
    ordo = Path(sys.executable).parent / "ordo"
    session = f"ordo-up-{uuid.uuid4().hex[:12]}"
    done = tmp_path / "exit-code"
    command = f"{ordo} up --state-dir {state} --daemon-config {config}; echo $? > {done}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30", command], check=True)
    try:
        shown = wait_for_screen(session, "CONNECTED")
        shown = wait_for_screen(session, "valid")  # broker health arrived (sessions valid)
        assert "fyers" in shown and "hdfc" in shown
        pid = int((state / "ordod.lock").read_text())
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], check=True)
        deadline = time.monotonic() + 20
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done.read_text().strip() == "0"
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), \
            "the daemon started by ordo up is still running"
        assert "ordod stopped" in (state / "ordod.log").read_text()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
