"""systemd's notify protocol, spoken directly: one datagram per message on ``$NOTIFY_SOCKET``.

No libsystemd binding is needed for a few ``KEY=VALUE`` lines, and this way the daemon
decides exactly when it is ready (sockets bound, database open) and proves its event loop
is alive: ``WATCHDOG=1`` is sent by a task on that loop, so a loop stuck in a blocking call
stops the pings and systemd restarts the unit.

Outside systemd (no ``NOTIFY_SOCKET``) every method is a cheap no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("ordod.sd_notify")

# STATUS= is shown by `systemctl status`; keep it one short line.
MAX_STATUS_CHARS = 200


def _address(raw: str) -> str | bytes:
    """A path, or an abstract socket name written with a leading '@' (sent as a NUL byte)."""
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    return raw


def watchdog_interval_s(environ: Mapping[str, str]) -> float | None:
    """The watchdog timeout systemd set for this process, in seconds; None when off.

    ``WATCHDOG_PID`` names the process the watchdog is meant for: a child that inherited
    the environment must not ping on its parent's behalf.
    """
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000


class SdNotifier:
    def __init__(self, address: str | None, watchdog_s: float | None = None) -> None:
        self.address = address
        self.watchdog_s = watchdog_s if address else None
        self._socket: socket.socket | None = None
        self._last_status = ""
        self.sent = 0
        if address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.setblocking(False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SdNotifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_interval_s(env))

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *lines: str) -> bool:
        """Send one message; returns whether it went out. Never raises: systemd being
        unreachable must not take the daemon down with it."""
        if self._socket is None or self.address is None:
            return False
        try:
            self._socket.sendto("\n".join(lines).encode(), _address(self.address))
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)
            return False
        self.sent += 1
        return True

    def ready(self, status: str) -> None:
        self._last_status = _one_line(status)
        self.notify("READY=1", f"STATUS={self._last_status}")

    def status(self, status: str) -> None:
        """Send STATUS= only when it changed, so a periodic caller costs nothing when idle."""
        line = _one_line(status)
        if line != self._last_status:
            self._last_status = line
            self.notify(f"STATUS={line}")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets a newer systemd match this reload to its own `systemctl reload`.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading configuration")

    def reloaded(self, status: str) -> None:
        self._last_status = _one_line(status)
        self.notify("READY=1", f"STATUS={self._last_status}")

    def stopping(self, status: str = "stopping") -> None:
        self._last_status = _one_line(status)
        self.notify("STOPPING=1", f"STATUS={self._last_status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    async def run_watchdog(self) -> None:
        """Ping at half the timeout, from the event loop itself, until cancelled."""
        if self.watchdog_s is None or not self.enabled:
            return
        period = self.watchdog_s / 2
        while True:
            self.watchdog()
            await asyncio.sleep(period)

    async def run_status(self, summary: Callable[[], str], period_s: float) -> None:
        """Keep STATUS= current: sends only when the summary changed."""
        if not self.enabled:
            return
        while True:
            await asyncio.sleep(period_s)
            try:
                self.status(summary())
            except Exception:  # a summary bug must not end the status task silently forever
                log.exception("status summary failed")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_STATUS_CHARS]
