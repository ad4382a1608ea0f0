"""The process around a daemon: signals, systemd notifications, reloads, one shutdown path.

SIGTERM / SIGINT  stop taking orders (SHUTTING_DOWN), let in-flight ones finish within
                  ``daemon.shutdown_grace_s``, flush the audit log, close the database.
SIGHUP            re-read the config file and apply what is safe at run time (ordod.reload);
                  a file that does not validate is refused and the running config kept.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from ordod.config import Config, ConfigError
from ordod.daemon import Daemon
from ordod.sd_notify import SdNotifier

log = logging.getLogger("ordod")

LoadConfig = Callable[[], Awaitable[Config]]
STATUS_PERIOD_S = 2.0


class Lifecycle:
    def __init__(self, daemon: Daemon, notifier: SdNotifier, load_config: LoadConfig) -> None:
        self.daemon = daemon
        self.notifier = notifier
        self._load_config = load_config
        self._stop = asyncio.Event()
        self._reloading: asyncio.Lock = asyncio.Lock()
        self._ready = False
        self._side_tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._spawn_reload)
        self.notifier.status("starting: opening the database and binding sockets")
        try:
            await self.daemon.start()
            # Only now: sockets bound, database open, recovery done.
            self.notifier.ready(self.daemon.status_line())
            self._ready = True
            self._spawn(self.notifier.run_watchdog())
            self._spawn(self.notifier.run_status(self.daemon.status_line, STATUS_PERIOD_S))
            await self._stop.wait()
            log.info("signal received; shutting down")
            in_flight = self.daemon.idempotency.in_flight_count()
            self.notifier.stopping(f"stopping: {in_flight} orders in flight, new orders refused")
            async with self._reloading:  # a reload under way finishes before the database closes
                await self.daemon.stop()
        finally:
            for task in self._side_tasks:
                task.cancel()
            await asyncio.gather(*self._side_tasks, return_exceptions=True)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            self.notifier.close()

    def request_stop(self) -> None:
        self._stop.set()

    async def reload(self) -> None:
        """Re-read the config; reloads never overlap, and none runs once stopping began."""
        if not self._ready:
            log.warning("SIGHUP before the daemon finished starting; ignored")
            return
        async with self._reloading:
            if self._stop.is_set():
                return
            self.notifier.reloading()
            try:
                try:
                    new = await self._load_config()
                except ConfigError as exc:
                    await self.daemon.reload_failed(str(exc))
                else:
                    await self.daemon.reload(new)
            except Exception:  # e.g. the audit write failed: the daemon keeps running either way
                log.exception("config reload did not complete")
            self.notifier.reloaded(self.daemon.status_line())

    def _spawn_reload(self) -> None:
        self._spawn(self.reload())

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
