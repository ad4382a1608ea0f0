"""ZeroMQ CURVE: with [auth.curve], both sockets are encrypted and only clients whose public
key is in the allowed directory get through. A refused client gets no reply at all (the
handshake fails), so refusals are checked with a short poll."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.asyncio
import zmq.auth

from ordo_shared.client import CurveKeys, OrdoClient, subscribe
from ordod.config import ConfigError
from ordod.daemon import Daemon
from tests.harness import RunningDaemon, make_config, running_daemon

REFUSED_POLL_MS = 300


@dataclass(frozen=True)
class Keys:
    server_secret: Path
    server_public: Path
    client_secret: Path
    intruder_secret: Path
    allowed_dir: Path


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    """What docs/SECURITY.md tells an operator to do, with zmq.auth.create_certificates."""
    made = tmp_path / "certs"
    made.mkdir()
    server_public, server_secret = zmq.auth.create_certificates(made, "server")
    client_public, client_secret = zmq.auth.create_certificates(made, "trader-desk-1")
    _, intruder_secret = zmq.auth.create_certificates(made, "intruder")
    os.chmod(server_secret, 0o600)
    allowed = tmp_path / "clients"
    allowed.mkdir()
    shutil.copy(client_public, allowed)
    return Keys(Path(server_secret), Path(server_public), Path(client_secret), Path(intruder_secret), allowed)


def curve_config(state_dir: Path, keys: Keys) -> Any:
    return make_config(state_dir, auth={"curve": {"server_secret_key_file": str(keys.server_secret),
                                                  "client_public_keys_dir": str(keys.allowed_dir)}})


def curve_socket(d: RunningDaemon, kind: int, endpoint: str, client_secret: Path | None,
                 server_public: Path) -> zmq.asyncio.Socket:
    sock = d.ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    if client_secret is not None:
        public, secret = zmq.auth.load_certificate(client_secret)
        server_key, _ = zmq.auth.load_certificate(server_public)
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = public, secret, server_key
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE, b"audit.")
    sock.connect(endpoint)
    return sock


async def ask(sock: zmq.asyncio.Socket, request: dict[str, Any], timeout_ms: int) -> dict[str, Any] | None:
    await sock.send(json.dumps(request).encode())
    if not await sock.poll(timeout_ms):
        return None
    reply: dict[str, Any] = json.loads(await sock.recv())
    return reply


async def test_a_client_with_an_allowed_key_is_served_over_curve(state_dir: Path, keys: Keys) -> None:
    async with running_daemon(curve_config(state_dir, keys)) as d:
        sock = curve_socket(d, zmq.REQ, d.daemon.rep_endpoint, keys.client_secret, keys.server_public)
        reply = await ask(sock, {"v": 1, "op": "health", "token": d.token}, timeout_ms=5000)
        sock.close()
    assert reply is not None and reply["ok"] is True


@pytest.mark.parametrize("client", ["intruder", "plaintext", "wrong_server_key"])
async def test_any_other_client_gets_no_reply(state_dir: Path, keys: Keys, client: str) -> None:
    secret = {"intruder": keys.intruder_secret, "plaintext": None, "wrong_server_key": keys.client_secret}[client]
    server_public = keys.intruder_secret if client == "wrong_server_key" else keys.server_public
    async with running_daemon(curve_config(state_dir, keys)) as d:
        sock = curve_socket(d, zmq.REQ, d.daemon.rep_endpoint, secret, server_public)
        refused = await ask(sock, {"v": 1, "op": "ping"}, timeout_ms=REFUSED_POLL_MS)
        sock.close()
        # The daemon is unaffected: an allowed client is still served.
        good = curve_socket(d, zmq.REQ, d.daemon.rep_endpoint, keys.client_secret, keys.server_public)
        served = await ask(good, {"v": 1, "op": "ping"}, timeout_ms=5000)
        good.close()
    assert refused is None
    assert served is not None and served["pong"] is True


async def test_the_event_stream_is_curve_protected_too(state_dir: Path, keys: Keys) -> None:
    async with running_daemon(curve_config(state_dir, keys)) as d:
        allowed = curve_socket(d, zmq.SUB, d.daemon.pub_endpoint, keys.client_secret, keys.server_public)
        intruder = curve_socket(d, zmq.SUB, d.daemon.pub_endpoint, keys.intruder_secret, keys.server_public)
        await asyncio.sleep(0.3)  # slow joiner: let the subscriptions (and handshakes) settle
        await d.daemon.service.call(_kill_switch_request(d.token))
        got = await allowed.poll(5000)
        topic, _ = await allowed.recv_multipart() if got else (b"", b"")
        leaked = await intruder.poll(REFUSED_POLL_MS)
        allowed.close()
        intruder.close()
    assert topic == b"audit.kill_switch.changed"
    assert not leaked


def _kill_switch_request(token: str) -> Any:
    from ordo_shared.messages import KillSwitchRequest

    return KillSwitchRequest(v=1, op="kill_switch", token=token, active=True, reason="curve drill")


async def test_unusable_curve_keys_stop_the_daemon_at_start(state_dir: Path, keys: Keys) -> None:
    public_as_secret = make_config(state_dir, auth={"curve": {"server_secret_key_file": str(keys.server_public),
                                                              "client_public_keys_dir": str(keys.allowed_dir)}})
    with pytest.raises(ConfigError, match="no secret key"):
        await Daemon(public_as_secret).start()
    os.chmod(keys.server_secret, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        await Daemon(curve_config(state_dir, keys)).start()
    os.chmod(keys.server_secret, 0o600)
    no_dir = make_config(state_dir, auth={"curve": {"server_secret_key_file": str(keys.server_secret),
                                                    "client_public_keys_dir": str(keys.allowed_dir / "nope")}})
    with pytest.raises(ConfigError, match="not a directory"):
        await Daemon(no_dir).start()


async def test_ordos_own_client_speaks_curve_with_its_key_files(state_dir: Path, keys: Keys) -> None:
    curve = CurveKeys.from_files(keys.client_secret, keys.server_public)
    async with running_daemon(curve_config(state_dir, keys)) as d:
        events = subscribe(d.daemon.pub_endpoint, ("audit.",), context=d.ctx, curve=curve)
        first = asyncio.ensure_future(anext(events))
        async with OrdoClient(d.daemon.rep_endpoint, d.token, context=d.ctx, curve=curve) as client:
            health = await client.call("health")
            for _ in range(20):  # slow joiner: keep acting until the subscriber sees something
                await client.call("kill_switch", active=True, reason="curve client")
                done, _ = await asyncio.wait({first}, timeout=0.2)
                if done:
                    break
        event = await asyncio.wait_for(first, 5)
        await events.aclose()  # type: ignore[attr-defined]  # an async generator, typed as its protocol
    assert health["ok"] is True
    assert event.type == "kill_switch.changed"


# --- the ordo command and the desk against a CURVE daemon ---------------------------------------


async def test_the_ordo_command_reaches_a_curve_daemon_with_its_key_files(state_dir: Path, keys: Keys) -> None:
    from tests.cli.runner import against, ordo

    async with running_daemon(curve_config(state_dir, keys)) as d:
        run = await ordo(*against(d), "--curve-secret", str(keys.client_secret),
                         "--curve-server-key", str(keys.server_public), "ping")
    assert run.code == 0, run.stderr
    assert "pong" in run.stdout


async def test_the_ordo_command_takes_the_key_files_from_the_environment(
    state_dir: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.runner import against, ordo

    monkeypatch.setenv("ORDO_CURVE_SECRET_FILE", str(keys.client_secret))
    monkeypatch.setenv("ORDO_CURVE_SERVER_KEY_FILE", str(keys.server_public))
    async with running_daemon(curve_config(state_dir, keys)) as d:
        run = await ordo(*against(d), "--timeout", "3", "ping")
    assert run.code == 0, run.stderr


async def test_half_a_curve_setting_is_a_usage_error_that_says_what_is_missing(
    state_dir: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.runner import ordo

    monkeypatch.delenv("ORDO_CURVE_SERVER_KEY_FILE", raising=False)
    run = await ordo("--curve-secret", str(keys.client_secret), "ping")
    assert run.code == 64
    assert "--curve-server-key" in run.stderr


async def test_the_desk_link_talks_to_a_curve_daemon_and_hears_its_events(state_dir: Path, keys: Keys) -> None:
    from ordo_shared.client_config import ClientSettings
    from ordo_tui.link import DaemonLink

    async with running_daemon(curve_config(state_dir, keys)) as d:
        settings = ClientSettings.resolve(endpoint=d.daemon.rep_endpoint, pub_endpoint=d.daemon.pub_endpoint,
                                          token_file=d.daemon.config.token_file,
                                          curve_secret_file=keys.client_secret,
                                          curve_server_key_file=keys.server_public)
        link = DaemonLink(settings)
        try:
            snapshot = await link.health()
            events = link.events()
            first = await asyncio.wait_for(anext(events), 10)
        finally:
            link.close()
    assert snapshot.status and first.type == "health.snapshot"
