"""Real ``python -m ordod`` processes on a temporary state directory, for what only a
process can show: signals, exit codes, the state-directory lock, systemd notifications.

stderr is drained continuously by a task (a full pipe would stall the daemon) and kept, so a
test can wait for a log line and a failure can show what the daemon said.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

STARTED = re.compile(r"ordod started rep=(\S+) pub=(\S+)")


def daemon_toml(state_dir: Path, *, latency_ms: float = 0, grace_s: float = 5.0, extra: str = "") -> str:
    """A config on ephemeral loopback ports with two paper brokers; ``extra`` is appended TOML."""
    return f"""
[daemon]
state_dir = "{state_dir}"
rep_endpoint = "tcp://127.0.0.1:*"
pub_endpoint = "tcp://127.0.0.1:*"
http_listen = ""
health_interval_s = 0.5
shutdown_grace_s = {grace_s}

[brokers.fyers]
latency_ms = {latency_ms}

[brokers.hdfc]
latency_ms = {latency_ms}

[retry]
initial_backoff_ms = 1
max_backoff_ms = 5
{extra}
"""


def write_config(path: Path, state_dir: Path, **kwargs: object) -> Path:
    path.write_text(daemon_toml(state_dir, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return path


class DaemonProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._new_line = asyncio.Event()
        self._reader = asyncio.create_task(self._drain())
        self.rep = ""
        self.pub = ""

    @classmethod
    async def spawn(cls, *args: str, env: Mapping[str, str] | None = None) -> DaemonProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ordod", *args,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        return cls(proc)

    @classmethod
    async def start(cls, config: Path, env: Mapping[str, str] | None = None) -> DaemonProcess:
        """Spawn and wait until it serves; its endpoints are parsed from the start line."""
        daemon = await cls.spawn("--config", str(config), env=env)
        match = STARTED.search(await daemon.wait_for("ordod started"))
        assert match is not None
        daemon.rep, daemon.pub = match.group(1), match.group(2)
        return daemon

    async def _drain(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._new_line.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, text: str, timeout_s: float = 15.0) -> str:
        """The first stderr line containing ``text``, waiting for it if need be."""
        async with asyncio.timeout(timeout_s):
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if text in line:
                        return line
                seen = len(self.lines)
                if self._reader.done():
                    raise AssertionError(f"ordod exited without logging {text!r}:\n{self.output}")
                self._new_line.clear()
                await self._new_line.wait()

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait(self, timeout_s: float = 20.0) -> int:
        async with asyncio.timeout(timeout_s):
            code = await self.proc.wait()
            await self._reader
        return code

    async def stop(self) -> int:
        """SIGTERM and wait; kills it if it does not go (the test then fails on the code)."""
        if self.proc.returncode is None:
            self.send(signal.SIGTERM)
        try:
            return await self.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise
