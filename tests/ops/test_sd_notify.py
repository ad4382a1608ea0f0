"""The daemon speaks systemd's notify protocol; a real unix datagram socket stands in for systemd."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq.asyncio

from ordod.sd_notify import SdNotifier, watchdog_interval_s
from tests.harness import RawClient
from tests.processes import DaemonProcess, daemon_config, write_config


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET: one message per datagram, KEY=VALUE lines."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + address[1:].encode() if address.startswith("@") else address)
        self.sock.setblocking(False)

    def pending(self) -> list[dict[str, str]]:
        """Everything received so far, without waiting."""
        out: list[dict[str, str]] = []
        while True:
            try:
                raw = self.sock.recv(4096)
            except BlockingIOError:
                return out
            out.append(dict(line.split("=", 1) for line in raw.decode().splitlines()))

    async def next(self, timeout_s: float = 15.0) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            raw = await loop.sock_recv(self.sock, 4096)
        return dict(line.split("=", 1) for line in raw.decode().splitlines())

    async def until(self, key: str, timeout_s: float = 15.0) -> tuple[dict[str, str], list[dict[str, str]]]:
        """The first message carrying ``key``, and every message before it."""
        before: list[dict[str, str]] = []
        while True:
            message = await self.next(timeout_s)
            if key in message:
                return message, before
            before.append(message)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def systemd() -> Iterator[FakeSystemd]:
    fake = FakeSystemd(f"@ordo-test-{secrets.token_hex(6)}")  # abstract: no path-length limit
    yield fake
    fake.close()


async def test_ready_status_and_stopping_arrive_as_separate_datagrams(systemd: FakeSystemd) -> None:
    notifier = SdNotifier(systemd.address)
    notifier.ready("ok; 0 in flight")
    notifier.status("ok; 1 in flight")
    notifier.stopping("stopping: 1 orders in flight")
    notifier.close()
    assert systemd.pending() == [
        {"READY": "1", "STATUS": "ok; 0 in flight"},
        {"STATUS": "ok; 1 in flight"},
        {"STOPPING": "1", "STATUS": "stopping: 1 orders in flight"},
    ]


async def test_a_filesystem_socket_path_works_too() -> None:
    short_dir = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp")  # unix socket paths: 108 bytes at most
    path = short_dir / f"ordo-notify-{secrets.token_hex(4)}.sock"
    fake = FakeSystemd(str(path))
    try:
        notifier = SdNotifier.from_environment({"NOTIFY_SOCKET": str(path)})
        notifier.watchdog()
        notifier.close()
        assert fake.pending() == [{"WATCHDOG": "1"}]
    finally:
        fake.close()
        path.unlink()


async def test_unchanged_status_is_not_resent_and_newlines_cannot_inject_keys(systemd: FakeSystemd) -> None:
    notifier = SdNotifier(systemd.address)
    notifier.status("same")
    notifier.status("same")
    notifier.status("two\nREADY=1")
    notifier.close()
    assert systemd.pending() == [{"STATUS": "same"}, {"STATUS": "two READY=1"}]


def test_outside_systemd_the_notifier_does_nothing() -> None:
    notifier = SdNotifier.from_environment({})
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False
    assert notifier.watchdog_s is None


def test_a_vanished_notify_socket_is_logged_not_raised() -> None:
    notifier = SdNotifier(f"@ordo-nobody-listens-{secrets.token_hex(6)}")
    assert notifier.notify("READY=1") is False
    notifier.close()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "10000000"}, 10.0),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid())}, 0.5),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_comes_from_watchdog_usec_for_this_pid_only(
    environ: dict[str, str], expected: float | None
) -> None:
    assert watchdog_interval_s(environ) == expected


async def test_watchdog_pings_at_half_the_timeout_and_stop_while_the_loop_is_blocked(systemd: FakeSystemd) -> None:
    notifier = SdNotifier(systemd.address, watchdog_s=0.2)
    pinger = asyncio.create_task(notifier.run_watchdog())
    try:
        for _ in range(3):
            assert await systemd.next(timeout_s=2) == {"WATCHDOG": "1"}
        systemd.pending()
        time.sleep(0.5)  # noqa: ASYNC251 - deliberately a stuck event loop, as a blocking call in the daemon
        # Read before the loop gets control back: nothing could have been sent meanwhile,
        # so systemd's watchdog would fire and restart the unit.
        assert systemd.pending() == []
        assert await systemd.next(timeout_s=2) == {"WATCHDOG": "1"}  # pings resume with the loop
    finally:
        pinger.cancel()
        await asyncio.gather(pinger, return_exceptions=True)
        notifier.close()


async def test_ordod_is_ready_only_when_serving_pings_the_watchdog_and_says_stopping(
    tmp_path: Path, systemd: FakeSystemd
) -> None:
    state_dir = tmp_path / "state"
    config = write_config(tmp_path / "ordod.toml", daemon_config(state_dir))
    env = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "400000"}
    daemon = await DaemonProcess(config, env=env).spawn()
    try:
        ready, before = await systemd.until("READY")
        assert before and before[0]["STATUS"].startswith("starting")
        rep = ready["STATUS"].rsplit("rep ", 1)[1]
        # READY means serving: the socket answers at once and the database exists.
        ctx = zmq.asyncio.Context()
        client = RawClient(ctx, rep, token=None)
        pong = await client.call("ping", timeout_s=2)
        client.close()
        ctx.term()
        assert pong["ok"] is True
        assert (state_dir / "ordo.db").exists()
        assert "ok; 0 in flight; kill switch off; breakers all closed" in ready["STATUS"]

        pings = 0
        while pings < 3:
            pings += (await systemd.next(timeout_s=5)).get("WATCHDOG") == "1"

        daemon.send(signal.SIGTERM)
        stopping, _ = await systemd.until("STOPPING")
        assert stopping["STATUS"].startswith("stopping")
        assert await daemon.wait() == 0
    finally:
        await daemon.close()
