"""Real ``ordod`` processes for tests that must kill, signal or restart a daemon."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import zmq


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def write_config(path: Path, tables: dict[str, dict[str, Any]]) -> None:
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))


class DaemonProcess:
    """``python -m ordod`` on a state directory, with fixed ports so it can be restarted."""

    def __init__(self, root: Path, brokers: dict[str, dict[str, Any]] | None = None,
                 extra: dict[str, dict[str, Any]] | None = None) -> None:
        self.root = root
        self.state_dir = root / "state"
        self.rep = f"tcp://127.0.0.1:{free_port()}"
        self.pub = f"tcp://127.0.0.1:{free_port()}"
        self.config_path = root / "ordod.toml"
        tables: dict[str, dict[str, Any]] = {
            "daemon": {"state_dir": str(self.state_dir), "rep_endpoint": self.rep, "pub_endpoint": self.pub,
                       "http_listen": "", "shutdown_grace_s": 10.0},
            "retry": {"initial_backoff_ms": 1, "max_backoff_ms": 5},
        }
        for broker_id, values in (brokers or {"fyers": {}, "hdfc": {}}).items():
            tables[f"brokers.{broker_id}"] = values
        tables.update(extra or {})
        write_config(self.config_path, tables)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "ordod.log"

    @property
    def token(self) -> str:
        return (self.state_dir / "token").read_text().strip()

    def start(self, timeout_s: float = 20.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ordod", "--config", str(self.config_path)],
                stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        ctx = zmq.Context.instance()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"ordod exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            sock = ctx.socket(zmq.REQ)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.rep)
            sock.send(b'{"v":1,"op":"ping"}')
            ready = sock.poll(200)
            sock.close()
            if ready:
                return
        raise TimeoutError(f"ordod did not answer ping within {timeout_s} s:\n{self.log_path.read_text()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout_s: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def paper_journal(self, broker_id: str) -> list[dict[str, Any]]:
        path = self.state_dir / "paper" / f"{broker_id}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
