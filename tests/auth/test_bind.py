"""Secure by default: nothing listens beyond loopback unless daemon.allow_remote says so, and
ipc:// sockets live in a directory only the daemon's user can enter."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from ordod.config import ConfigError
from ordod.daemon import Daemon
from ordod.sockets import UnsafeEndpoint, check_zmq_endpoint, parse_http_listen
from tests.harness import RawClient, make_config, running_daemon


@pytest.mark.parametrize("endpoint", [
    "tcp://127.0.0.1:7750", "tcp://127.0.0.1:*", "tcp://127.9.8.7:1", "tcp://[::1]:7750", "tcp://localhost:1",
    "ipc:///run/ordo/ordod.sock", "inproc://ordo",
])
def test_loopback_and_local_endpoints_need_no_setting(endpoint: str) -> None:
    check_zmq_endpoint(endpoint, allow_remote=False)


@pytest.mark.parametrize("endpoint", [
    "tcp://0.0.0.0:7750", "tcp://*:7750", "tcp://eth0:7750", "tcp://192.168.1.20:7750", "tcp://[::]:7750",
    "tcp://desk-server.example:7750", "ws://127.0.0.1:7750", "pgm://eth0;239.192.1.1:5555",
])
def test_other_endpoints_are_refused_unless_remote_is_allowed(endpoint: str) -> None:
    with pytest.raises(UnsafeEndpoint, match="allow_remote"):
        check_zmq_endpoint(endpoint, allow_remote=False)
    check_zmq_endpoint(endpoint, allow_remote=True)


@pytest.mark.parametrize(("listen", "expected"), [
    ("127.0.0.1:7752", ("127.0.0.1", 7752)), ("[::1]:0", ("::1", 0)), ("localhost:80", ("localhost", 80)),
])
def test_http_listen_on_loopback(listen: str, expected: tuple[str, int]) -> None:
    assert parse_http_listen(listen, allow_remote=False) == expected


@pytest.mark.parametrize("listen", ["0.0.0.0:7752", ":7752", "[::]:7752", "10.1.2.3:80", "desk:80"])
def test_http_listen_beyond_loopback_is_refused_unless_allowed(listen: str) -> None:
    with pytest.raises(UnsafeEndpoint):
        parse_http_listen(listen, allow_remote=False)
    parse_http_listen(listen, allow_remote=True)


@pytest.mark.parametrize("listen", ["7752", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"])
def test_http_listen_that_is_not_host_port_is_a_config_error(listen: str) -> None:
    with pytest.raises(ConfigError, match="host:port"):
        parse_http_listen(listen, allow_remote=True)


@pytest.mark.parametrize("daemon_table", [
    {"rep_endpoint": "tcp://0.0.0.0:*"},
    {"pub_endpoint": "tcp://*:*"},
    {"http_listen": "0.0.0.0:0"},
])
async def test_daemon_refuses_to_start_on_a_network_address_and_opens_nothing(state_dir: Path,
                                                                              daemon_table: dict[str, str]) -> None:
    config = make_config(state_dir, daemon=daemon_table)
    with pytest.raises(UnsafeEndpoint, match="allow_remote"):
        await Daemon(config).start()
    assert not (state_dir / "ordo.db").exists()
    async with running_daemon(make_config(state_dir)) as d:  # the state directory was released
        assert (await d.client().call("ping"))["ok"] is True


async def test_with_allow_remote_it_binds_every_interface(state_dir: Path) -> None:
    config = make_config(state_dir, daemon={"allow_remote": True, "rep_endpoint": "tcp://0.0.0.0:*",
                                            "http_listen": "0.0.0.0:0"})
    async with running_daemon(config) as d, aiohttp.ClientSession() as session:
        assert d.daemon.rep_endpoint.startswith("tcp://0.0.0.0:")
        port = d.daemon.rep_endpoint.rsplit(":", 1)[1]
        client = RawClient(d.ctx, f"tcp://127.0.0.1:{port}", d.token)
        reply = await client.call("health")
        client.close()
        async with session.get(f"http://127.0.0.1:{d.daemon.http_port}/api/v1/ping") as ping:
            assert ping.status == 200
    assert reply["ok"] is True


def test_ordod_exits_78_with_the_reason_on_an_unsafe_endpoint(tmp_path: Path) -> None:
    config = tmp_path / "ordod.toml"
    config.write_text(f'[daemon]\nstate_dir = "{tmp_path / "state"}"\nrep_endpoint = "tcp://0.0.0.0:7750"\n')
    command = [sys.executable, "-m", "ordod", "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 78
    assert "refusing to bind 'tcp://0.0.0.0:7750'" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """ipc:// paths must fit in sun_path (~107 bytes); pytest's tmp_path may not."""
    path = Path(tempfile.mkdtemp(prefix="ordo-ipc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_ipc_sockets_are_created_in_a_0700_directory(state_dir: Path, short_dir: Path) -> None:
    run = short_dir / "run"
    config = make_config(state_dir, daemon={"rep_endpoint": f"ipc://{run}/rep.sock",
                                            "pub_endpoint": f"ipc://{run}/pub.sock"})
    async with running_daemon(config) as d:
        assert stat.S_IMODE(run.stat().st_mode) == 0o700
        assert d.daemon.rep_endpoint == f"ipc://{run}/rep.sock"
        reply = await d.client().call("health")
    assert reply["ok"] is True


async def test_ipc_in_a_directory_others_can_enter_is_refused(state_dir: Path, short_dir: Path) -> None:
    shared = short_dir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)  # noqa: S103 - the unsafe directory under test
    config = make_config(state_dir, daemon={"rep_endpoint": f"ipc://{shared}/rep.sock"})
    with pytest.raises(UnsafeEndpoint, match="0700"):
        await Daemon(config).start()
    for abstract in ("ipc://@ordo", "ipc://*"):
        with pytest.raises(UnsafeEndpoint, match="explicit path"):
            await Daemon(make_config(state_dir, daemon={"pub_endpoint": abstract})).start()
