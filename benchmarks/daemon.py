"""Runs ``python -m ordod`` as a separate process, exactly as an operator would: a generated TOML
config, a fresh state directory, fixed loopback ports, SIGTERM to stop. Also measures what only
the parent can see: the time from launch to the first ``ping`` answer, and the daemon's RSS."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import zmq

TOKEN = "bench-token-not-a-secret-0123456789abcdef"  # noqa: S105 - a throwaway daemon's, on loopback


def free_port() -> int:
    """A port the kernel just had free on 127.0.0.1 (bench traffic never leaves loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# systemd/ordod.service runs the daemon at this nice value: on the desk server its threads get
# the CPU before anything else there (a trader's scripts, backups, these benchmark clients).
PRODUCTION_NICE = -5


def _at_production_priority(cmd: list[str]) -> list[str]:
    """``cmd`` under coreutils' ``nice``, so the daemon and every thread it starts run at the
    unit's priority (lowering it needs root or CAP_SYS_NICE; without them ``nice`` says so and
    runs the command at the default). Not preexec_fn: unsafe in a parent that has threads."""
    nice = shutil.which("nice")
    return [nice, "-n", str(PRODUCTION_NICE), *cmd] if nice else cmd


@dataclass(frozen=True)
class DaemonSpec:
    """What differs between the daemons a run needs: the paper brokers' latencies."""

    broker_latency_ms: dict[str, float]
    health_interval_s: float = 0.5
    profile_to: Path | None = None  # write a pyinstrument profile of the whole daemon here
    quiet_tracking: bool = True  # look up open orders every 10 minutes instead of every 2 s


def config_toml(state_dir: Path, rep: str, pub: str, spec: DaemonSpec) -> str:
    lines = [
        "[daemon]",
        f"state_dir = {json.dumps(str(state_dir))}",
        f"rep_endpoint = {json.dumps(rep)}",
        f"pub_endpoint = {json.dumps(pub)}",
        'http_listen = ""',
        f"health_interval_s = {spec.health_interval_s}",
        "shutdown_grace_s = 10.0",
        "",
        "[limits]",
        "max_qty = 100000",
        "",
        "[kill_switch]",
        "min_hold_s = 0  # the benchmark flips it every few milliseconds",
        "",
    ]
    if spec.quiet_tracking:
        lines += [
            "[tracking]",
            "# Paper LIMIT orders stay open for ever: polling 100,000 of them is a workload of its own.",
            "poll_interval_s = 600",
            "fast_poll_s = 600",
            "fast_window_s = 0",
            "",
        ]
    for broker_id, latency in spec.broker_latency_ms.items():
        lines += [f"[brokers.{broker_id}]", 'adapter = "paper"', f"latency_ms = {latency}", ""]
    return "\n".join(lines)


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()]


class DaemonProcess:
    def __init__(self, workdir: Path, spec: DaemonSpec) -> None:
        self.workdir = workdir
        self.spec = spec
        self.state_dir = workdir / "state"
        self.rep = f"tcp://127.0.0.1:{free_port()}"
        self.pub = f"tcp://127.0.0.1:{free_port()}"
        self.config_path = workdir / "ordod.toml"
        self.log_path = workdir / "ordod.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None, "daemon not started"
        return self._proc.pid

    def start(self, timeout_s: float = 30.0) -> float:
        """Launch the daemon; return seconds from launch to its first ``ping`` answer."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        token_file = self.state_dir / "token"
        if not token_file.exists():
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(TOKEN + "\n")
        self.config_path.write_text(config_toml(self.state_dir, self.rep, self.pub, self.spec))
        cmd = [sys.executable, "-m", "ordod", "--config", str(self.config_path)]
        if self.spec.profile_to is not None:
            cmd = [sys.executable, "-m", "pyinstrument", "-o", str(self.spec.profile_to),
                   "-m", "ordod", "--config", str(self.config_path)]
        ctx = zmq.Context.instance()
        probe = ctx.socket(zmq.REQ)
        probe.setsockopt(zmq.LINGER, 0)
        # Retry the connection every millisecond, so the measured start is not rounded up to
        # libzmq's default 100 ms reconnect interval.
        probe.setsockopt(zmq.RECONNECT_IVL, 1)
        probe.connect(self.rep)
        try:
            with self.log_path.open("ab") as log:
                started = time.perf_counter()
                self._proc = subprocess.Popen(_at_production_priority(cmd), stdout=log, stderr=log,
                                              stdin=subprocess.DEVNULL)
            probe.send(b'{"v":1,"op":"ping","id":"start"}')
            deadline = started + timeout_s
            while not probe.poll(10):
                if self._proc.poll() is not None:
                    raise RuntimeError(f"ordod exited with {self._proc.returncode}; see {self.log_path}")
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"ordod did not answer ping within {timeout_s} s; see {self.log_path}")
            reply = json.loads(probe.recv())
            elapsed = time.perf_counter() - started
        finally:
            probe.close(linger=0)
        if not reply.get("ok"):
            raise RuntimeError(f"ping refused: {reply}")
        return elapsed

    def nice(self) -> int:
        """The nice value the daemon really runs at (PRODUCTION_NICE if this user may set it)."""
        return os.getpriority(os.PRIO_PROCESS, self.pid)

    def rss_mb(self) -> dict[str, float]:
        """Resident memory now and at its peak (Linux /proc), in MiB, of the daemon and its
        database writer processes together (peaks summed: an upper bound)."""
        fields = {"VmRSS": 0.0, "VmHWM": 0.0}
        writers = 0.0
        for pid in (self.pid, *_children(self.pid)):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in fields:
                    fields[name] += int(value.split()[0]) / 1024
                    if name == "VmRSS" and pid != self.pid:
                        writers += int(value.split()[0]) / 1024
        return {"rss_mb": round(fields["VmRSS"], 1), "peak_rss_mb": round(fields["VmHWM"], 1),
                "writer_processes_rss_mb": round(writers, 1)}

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            code = self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            raise RuntimeError(f"ordod did not stop within {timeout_s} s; see {self.log_path}") from None
        if code != 0:
            raise RuntimeError(f"ordod exited with {code}; see {self.log_path}")
