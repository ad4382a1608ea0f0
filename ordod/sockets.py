"""The one place that creates ZeroMQ sockets and checks where the daemon listens, so every
socket gets the same hygiene (explicit linger, bounded message size, a close on shutdown) and
the same safety rules:

- nothing binds on an address other than loopback unless ``daemon.allow_remote`` says so
  (ZeroMQ and HTTP alike);
- ``ipc://`` sockets live in a directory only the daemon's user can enter (0700);
- with ``[auth.curve]``, every socket is a CURVE server and pyzmq's authenticator admits only
  the client public keys in the configured directory.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
import zmq.auth
from zmq.auth.asyncio import AsyncioAuthenticator

from ordo_shared import MAX_MESSAGE_BYTES
from ordod.config import ConfigError, CurveConfig

# A frame larger than this is dropped by libzmq before we ever see it (the peer is
# disconnected); frames between MAX_MESSAGE_BYTES and this get a PAYLOAD_TOO_LARGE reply.
HARD_FRAME_LIMIT = 16 * MAX_MESSAGE_BYTES
LINGER_MS = 500
_LOCAL_TRANSPORTS = ("ipc://", "inproc://")

AnySocket = zmq.Socket[Any] | zmq.asyncio.Socket


class UnsafeEndpoint(ConfigError):
    """An endpoint the daemon refuses to bind without an explicit setting."""


def is_loopback_host(host: str) -> bool:
    """True only for loopback IP literals and "localhost": a DNS name or an interface name
    could mean any address, so it counts as remote."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_zmq_endpoint(endpoint: str, allow_remote: bool) -> None:
    """Raise ``UnsafeEndpoint`` for a bind the configuration did not explicitly allow."""
    if endpoint.startswith(_LOCAL_TRANSPORTS) or allow_remote:
        return
    if endpoint.startswith("tcp://"):
        host = endpoint[len("tcp://"):].rpartition(":")[0]
        if is_loopback_host(host):
            return
    raise UnsafeEndpoint(f"refusing to bind {endpoint!r}: not a loopback address; set daemon.allow_remote = true "
                         "to listen on a network (and see docs/SECURITY.md for CURVE)")


def parse_http_listen(listen: str, allow_remote: bool) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) of daemon.http_listen, checked like ZeroMQ's."""
    host, sep, port_text = listen.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not sep or not 0 <= port <= 65535:
        raise ConfigError(f"daemon.http_listen: {listen!r} is not host:port")
    host = host.strip("[]")
    if not (allow_remote or (host and is_loopback_host(host))):
        raise UnsafeEndpoint(f"refusing to listen on {listen!r}: not a loopback address; set "
                             "daemon.allow_remote = true to serve HTTP on a network")
    return host, port


def prepare_ipc_directory(endpoint: str) -> None:
    """Create the socket's directory 0700, or refuse one that others can enter: the socket
    file has no token of its own, so the directory is its access control."""
    path = endpoint[len("ipc://"):]
    if not path or path == "*" or path.startswith("@"):
        # Abstract (@) sockets have no file permissions at all; "*" lands in a shared temp dir.
        raise UnsafeEndpoint(f"{endpoint!r}: give an ipc:// socket an explicit path in a private directory")
    directory = Path(path).parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = directory.stat()
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise UnsafeEndpoint(f"{endpoint!r}: directory {directory} must belong to this user with mode 0700 "
                             f"(it has {stat.S_IMODE(info.st_mode):04o})")


def bound_endpoint(sock: AnySocket) -> str:
    """The endpoint actually bound: "tcp://127.0.0.1:*" binds an ephemeral port."""
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


@dataclass(frozen=True)
class CurveServer:
    public_key: bytes
    secret_key: bytes


def load_curve_server(config: CurveConfig) -> CurveServer:
    path = config.server_secret_key_file
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"auth.curve.server_secret_key_file: cannot load {path}: {exc}") from None
    if secret is None:
        raise ConfigError(f"auth.curve.server_secret_key_file: {path} holds no secret key (give the "
                          ".key_secret file)")
    if mode & 0o077:
        raise ConfigError(f"auth.curve.server_secret_key_file: {path} has mode {mode:04o}; it must not be "
                          "readable by group or others (chmod 600)")
    if not config.client_public_keys_dir.is_dir():
        raise ConfigError(f"auth.curve.client_public_keys_dir: {config.client_public_keys_dir} is not a directory")
    return CurveServer(public, secret)


class SocketFactory:
    def __init__(self, context: zmq.asyncio.Context | None = None, *, allow_remote: bool = False) -> None:
        self.context = context or zmq.asyncio.Context()
        self.allow_remote = allow_remote
        self._sockets: list[AnySocket] = []
        self._curve: CurveServer | None = None
        self._authenticator: AsyncioAuthenticator | None = None

    def enable_curve(self, config: CurveConfig) -> None:
        """Every socket bound from now on requires CURVE; the authenticator (which must run
        before the first bind, or libzmq admits any key) checks client keys."""
        self._curve = load_curve_server(config)
        self._authenticator = AsyncioAuthenticator(self.context)
        self._authenticator.start()
        self._authenticator.configure_curve(domain="*", location=str(config.client_public_keys_dir))

    def router(self, endpoint: str) -> zmq.asyncio.Socket:
        sock = self.context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.MAXMSGSIZE, HARD_FRAME_LIMIT)
        # Unroutable replies (client gone) are dropped instead of raising.
        sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        self._bind(sock, endpoint)
        return sock

    def publisher(self, endpoint: str) -> zmq.Socket[bytes]:
        # A plain (non-asyncio) socket: PUB never blocks, it drops for slow subscribers.
        sock: zmq.Socket[bytes] = zmq.Context.shadow(self.context.underlying).socket(zmq.PUB)
        sock.setsockopt(zmq.SNDHWM, 100_000)
        self._bind(sock, endpoint)
        return sock

    def _bind(self, sock: AnySocket, endpoint: str) -> None:
        self._sockets.append(sock)  # closed by close_all even if the bind below fails
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        check_zmq_endpoint(endpoint, self.allow_remote)
        if endpoint.startswith("ipc://"):
            prepare_ipc_directory(endpoint)
        if self._curve is not None:
            sock.curve_server = True
            sock.curve_publickey = self._curve.public_key
            sock.curve_secretkey = self._curve.secret_key
        sock.bind(endpoint)

    def close_all(self) -> None:
        for sock in reversed(self._sockets):
            sock.close(linger=LINGER_MS)
        self._sockets.clear()
        if self._authenticator is not None:
            self._authenticator.stop()
            self._authenticator = None
        self.context.term()
