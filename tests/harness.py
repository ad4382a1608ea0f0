"""Builds whole daemons in-process on a temporary directory, and raw pyzmq clients that
talk to them exactly as a user's script would."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from ordod.brokers.paper.adapter import PaperBroker
from ordod.config import Config, config_from_mapping
from ordod.daemon import Daemon

ORDER: dict[str, Any] = {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 1, "order_type": "LIMIT", "price": 500.5}


def make_config(state_dir: Path, *, http: bool = False, **overrides: Any) -> Config:
    """A config on ephemeral ports with fast paper brokers; ``overrides`` are TOML-like tables.
    ``http=True`` also serves the HTTP API on 127.0.0.1, on an ephemeral port."""
    data: dict[str, Any] = {
        "daemon": {"state_dir": str(state_dir), "rep_endpoint": "tcp://127.0.0.1:*",
                   "pub_endpoint": "tcp://127.0.0.1:*", "http_listen": "127.0.0.1:0" if http else "",
                   "health_interval_s": 0.5, "shutdown_grace_s": 5.0},
        "brokers": {"fyers": {"latency_ms": 0}, "hdfc": {"latency_ms": 0}},
        "retry": {"initial_backoff_ms": 1, "max_backoff_ms": 5},
        "kill_switch": {"min_hold_s": 0},
        "tracking": {"poll_interval_s": 0.2, "fast_poll_s": 0.05},
    }
    return config_from_mapping(merge_tables(data, overrides))


def merge_tables(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with each table of ``overrides`` merged over the table of its name, one level
    down too (``brokers={"hdfc": {...}}`` changes hdfc's keys and keeps fyers)."""
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            merged = dict(data[section])
            for key, value in values.items():
                # A broker table naming its adapter replaces the paper default whole.
                if isinstance(value, dict) and isinstance(merged.get(key), dict) and "adapter" not in value:
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
            data[section] = merged
        else:
            data[section] = values
    return data


def named_tokens(directory: Path, roles: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``[auth.tokens]`` tables for these names and roles, each token in its own 0600 file
    under ``directory``; returns the tables and the tokens by name."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tables: dict[str, Any] = {}
    tokens: dict[str, str] = {}
    for name, role in roles.items():
        tokens[name] = secrets.token_urlsafe(24)
        path = directory / f"{name}.token"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(tokens[name] + "\n")
        tables[name] = {"role": role, "token_file": str(path)}
    return tables, tokens


class RawClient:
    """A REQ socket and nothing else: what a script in any language would do."""

    def __init__(self, ctx: zmq.asyncio.Context, endpoint: str, token: str | None) -> None:
        self.socket = ctx.socket(zmq.REQ)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)
        self.token = token

    async def send_raw(self, *frames: bytes, timeout_s: float = 10.0) -> dict[str, Any]:
        await self.socket.send_multipart(list(frames))
        if not await self.socket.poll(int(timeout_s * 1000)):
            raise TimeoutError("no reply")
        reply: dict[str, Any] = json.loads(await self.socket.recv())
        return reply

    async def call(self, op: str, timeout_s: float = 10.0, token: bool = True, **fields: Any) -> dict[str, Any]:
        request: dict[str, Any] = {"v": 1, "op": op, "id": op, **fields}
        if token and self.token:
            request["token"] = self.token
        return await self.send_raw(json.dumps(request).encode(), timeout_s=timeout_s)

    async def place(self, key: str, order: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return await self.call("place_order", idempotency_key=key, order=order or ORDER, **kw)

    def close(self) -> None:
        self.socket.close(linger=0)


class RunningDaemon:
    def __init__(self, daemon: Daemon, ctx: zmq.asyncio.Context) -> None:
        self.daemon = daemon
        self.ctx = ctx
        self._clients: list[RawClient] = []

    @property
    def token(self) -> str:
        return self.daemon.config.token_file.read_text().strip()

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP API (the config must enable it: ``make_config(..., http=True)``)."""
        assert self.daemon.http_port is not None, "HTTP is off in this config"
        return f"http://127.0.0.1:{self.daemon.http_port}"

    def client(self, token: str | None = "default") -> RawClient:
        client = RawClient(self.ctx, self.daemon.rep_endpoint, self.token if token == "default" else token)
        self._clients.append(client)
        return client

    def paper(self, broker_id: str) -> PaperBroker:
        adapter = self.daemon.adapters[broker_id]
        assert isinstance(adapter, PaperBroker)
        return adapter

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()


@asynccontextmanager
async def running_daemon(
    config: Config, prepare: Callable[[Daemon], None] | None = None
) -> AsyncIterator[RunningDaemon]:
    daemon = Daemon(config)
    if prepare is not None:
        prepare(daemon)
    await daemon.start()
    ctx = zmq.asyncio.Context()
    running = RunningDaemon(daemon, ctx)
    try:
        yield running
    finally:
        running.close_clients()
        ctx.term()
        await daemon.stop()
