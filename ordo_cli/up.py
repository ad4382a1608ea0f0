"""``ordo up`` (what ``make run`` does): a local ordod on paper brokers with the TUI attached.
Quitting the TUI stops the daemon it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ordo_shared.client_config import DEFAULT_PUB, DEFAULT_REP, ClientSettings


def _wait_for_token(token_file: Path, daemon: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SystemExit(f"ordod exited early with status {daemon.returncode}; see {token_file.parent}/ordod.log")
        if token_file.exists() and token_file.stat().st_size > 0:
            return
        time.sleep(0.05)
    raise SystemExit("ordod did not start within 15 s")


def run_local(state_dir: Path, config: Path | None) -> int:
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cmd = [sys.executable, "-m", "ordod", "--state-dir", str(state_dir)]
    if config is not None:
        cmd += ["--config", str(config)]
    with (state_dir / "ordod.log").open("ab") as log_file:
        daemon = subprocess.Popen(cmd, stdout=log_file, stderr=log_file, start_new_session=True)
    try:
        _wait_for_token(state_dir / "token", daemon)
        settings = ClientSettings.resolve(config=config, state_dir=state_dir, endpoint=None)
        if config is None:
            settings = ClientSettings(DEFAULT_REP, DEFAULT_PUB, (state_dir / "token").read_text().strip())
        from ordo_tui.app import run_tui

        return run_tui(settings)
    finally:
        if daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
