"""Real ``python -m ordod`` processes on a temporary state directory, for what only a process
can show: kill -9 and a restart on the same state directory, signals, exit codes, the
state-directory lock, systemd notifications.

The daemon's output (stderr, stdout with it) is read as it comes (a full pipe would stall the
daemon) and kept, so a test can wait for a log line and a failure can show what the daemon said.
The daemon's database writer processes inherit that pipe: the output ends only once they are
gone too, which is how the helper knows it leaves no process behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.harness import merge_tables

STARTED = re.compile(r"ordod started rep=(\S+) pub=(\S+)")
EPHEMERAL = "tcp://127.0.0.1:*"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback_endpoint() -> str:
    """A tcp endpoint on a port that is free now; unlike ``*``, a restarted daemon binds it again."""
    return f"tcp://127.0.0.1:{free_port()}"


def daemon_config(state_dir: Path, **tables: dict[str, Any]) -> dict[str, Any]:
    """A config on ephemeral loopback ports with two paper brokers that answer at once; each of
    ``tables`` is merged over the default table of its name (see ``merge_tables``)."""
    defaults: dict[str, Any] = {
        "daemon": {"state_dir": str(state_dir), "rep_endpoint": EPHEMERAL, "pub_endpoint": EPHEMERAL,
                   "http_listen": "", "health_interval_s": 0.5, "shutdown_grace_s": 5.0},
        "brokers": {"fyers": {"latency_ms": 0}, "hdfc": {"latency_ms": 0}},
        "retry": {"initial_backoff_ms": 1, "max_backoff_ms": 5},
    }
    return merge_tables(defaults, tables)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def toml_text(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """``tables`` as TOML; a table made only of tables (``brokers``) becomes ``[brokers.<id>]`` tables."""
    lines: list[str] = []
    for name, values in tables.items():
        nested = bool(values) and all(isinstance(v, dict) for v in values.values())
        for header, body in [(f"{name}.{k}", v) for k, v in values.items()] if nested else [(name, values)]:
            lines += [f"[{header}]", *(f"{key} = {toml_value(value)}" for key, value in body.items()), ""]
    return "\n".join(lines)


def write_config(path: Path, tables: Mapping[str, Mapping[str, Any]]) -> Path:
    path.write_text(toml_text(tables), encoding="utf-8")
    return path


class _Run(asyncio.SubprocessProtocol):
    """One run of the process: its output line by line, the moment it exits, and the moment
    its output ends (it and every process holding its pipe are gone)."""

    def __init__(self, on_line: Callable[[str | None], None]) -> None:
        self.on_line = on_line
        self.transport: asyncio.SubprocessTransport | None = None
        self.exited = asyncio.Event()
        self.ended = asyncio.Event()
        self._partial = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self.on_line(line.decode(errors="replace"))

    def process_exited(self) -> None:
        self.exited.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._partial:
            self.on_line(self._partial.decode(errors="replace"))
        self.ended.set()
        self.on_line(None)  # no more lines: wakes whoever waits for one

    @property
    def returncode(self) -> int | None:
        assert self.transport is not None
        return self.transport.get_returncode()

    async def finished(self) -> int:
        """The exit code, once the output has ended too; the transport is closed then."""
        await self.ended.wait()
        assert self.transport is not None
        self.transport.close()
        code = self.transport.get_returncode()
        assert code is not None
        return code


class DaemonProcess:
    """``python -m ordod --config <config> [flags]``, run once, or again after it ended (a
    restart on the same state directory). Every run's output is kept in ``lines``."""

    def __init__(self, config: Path, *flags: str, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.args = ("--config", str(config), *flags)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.lines: list[str] = []
        self.rep = ""
        self.pub = ""
        self._runs: list[_Run] = []
        self._first_line = 0  # where the current run's lines begin
        self._new_line = asyncio.Event()

    @classmethod
    def on_fixed_ports(cls, root: Path, **tables: dict[str, Any]) -> DaemonProcess:
        """On ``root/state``, at endpoints that stay the same across restarts, so a client that
        knew the crashed daemon finds the restarted one."""
        config = daemon_config(root / "state", **tables)
        config["daemon"] |= {"rep_endpoint": loopback_endpoint(), "pub_endpoint": loopback_endpoint()}
        return cls(write_config(root / "ordod.toml", config))

    @property
    def state_dir(self) -> Path:
        return Path(tomllib.loads(self.config.read_text(encoding="utf-8"))["daemon"]["state_dir"])

    @property
    def token(self) -> str:
        return (self.state_dir / "token").read_text().strip()

    def paper_journal(self, broker_id: str) -> list[dict[str, Any]]:
        path = self.state_dir / "paper" / f"{broker_id}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def returncode(self) -> int | None:
        """The current run's exit code; None while it runs."""
        return self._run.returncode

    @property
    def _run(self) -> _Run:
        assert self._runs, "the daemon was never spawned"
        return self._runs[-1]

    def _line(self, line: str | None) -> None:
        if line is not None:
            self.lines.append(line)
        self._new_line.set()

    async def spawn(self) -> DaemonProcess:
        """Run it, without waiting for anything."""
        assert not self._runs or self.returncode is not None, "the previous run is still going"
        self._first_line = len(self.lines)
        _, run = await asyncio.get_running_loop().subprocess_exec(
            lambda: _Run(self._line), sys.executable, "-m", "ordod", *self.args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env,
        )
        self._runs.append(run)
        return self

    async def start(self, timeout_s: float = 20.0) -> DaemonProcess:
        """Run it and wait until it serves; its endpoints are read from its start line."""
        await self.spawn()
        match = STARTED.search(await self.wait_for("ordod started", timeout_s))
        assert match is not None
        self.rep, self.pub = match.group(1), match.group(2)
        return self

    async def wait_for(self, text: str, timeout_s: float = 15.0) -> str:
        """The current run's first line containing ``text``, waiting for it if need be."""
        seen = self._first_line
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    for line in self.lines[seen:]:
                        if text in line:
                            return line
                    seen = len(self.lines)
                    if self._run.ended.is_set():
                        raise AssertionError(f"ordod exited without logging {text!r}:\n{self.output}")
                    self._new_line.clear()
                    await self._new_line.wait()
        except TimeoutError:
            raise TimeoutError(f"ordod did not log {text!r} within {timeout_s} s:\n{self.output}") from None

    def send(self, sig: signal.Signals) -> None:
        assert self._run.transport is not None
        self._run.transport.send_signal(sig)

    async def wait(self, timeout_s: float = 20.0) -> int:
        """The current run's exit code, once its output has ended (its writer processes are gone)."""
        async with asyncio.timeout(timeout_s):
            return await self._run.finished()

    async def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; kills it if it does not go (the test then fails on the timeout)."""
        if self.returncode is None:
            self.send(signal.SIGTERM)
        try:
            return await self.wait(timeout_s)
        except TimeoutError:
            await self.close()
            raise

    async def kill9(self) -> None:
        """A crash: SIGKILL, and back once the daemon is reaped. Its writer processes may still be
        finishing their last commits, as after a real crash (a restart must cope with that)."""
        self.send(signal.SIGKILL)
        async with asyncio.timeout(10):
            await self._run.exited.wait()

    async def close(self) -> None:
        """SIGKILL whatever still runs, and wait until every run's output has ended: no process,
        pipe or transport is left behind. It can be started again afterwards."""
        for run in self._runs:
            if run.returncode is None:
                assert run.transport is not None
                run.transport.kill()
        async with asyncio.timeout(20):
            for run in self._runs:
                await run.finished()
