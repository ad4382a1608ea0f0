"""The role matrix, over both doors: viewer reads, trader also trades and may turn the kill
switch on, only admin turns it off. A refusal is FORBIDDEN 403, has no effect, and is audited
under the token's name (never the token)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest

from tests.harness import ORDER, RunningDaemon, make_config, named_tokens, running_daemon
from tests.http.client import ApiClient, api_client

ROLES = {"vera": "viewer", "tom": "trader", "ada": "admin"}
RANK = {"anonymous": -1, "viewer": 0, "trader": 1, "admin": 2}

# Every action, and the least role that may take it.
MATRIX: dict[str, str] = {
    "health": "viewer",
    "get_order": "viewer",
    "list_orders": "viewer",
    "audit_replay": "viewer",
    "kill_switch_read": "viewer",
    "place_order": "trader",
    "modify_order": "trader",
    "cancel_order": "trader",
    "kill_switch_on": "trader",
    "kill_switch_isolate": "trader",
    "kill_switch_off": "admin",
}
HTTP_ONLY = {"event_stream": "viewer"}  # the ZeroMQ stream is the PUB socket: no tokens there


class Door(Protocol):
    async def act(self, action: str, order_ref: str, key: str) -> tuple[int, str | None]:
        """(http status, error code or None) of one action."""
        ...


class ZmqDoor:
    def __init__(self, d: RunningDaemon, token: str | None) -> None:
        self.client = d.client(token=token)

    async def act(self, action: str, order_ref: str, key: str) -> tuple[int, str | None]:
        calls: dict[str, tuple[str, dict[str, Any]]] = {
            "health": ("health", {}),
            "get_order": ("get_order", {"order_ref": order_ref}),
            "list_orders": ("list_orders", {}),
            "audit_replay": ("audit_replay", {}),
            "kill_switch_read": ("kill_switch", {}),
            "place_order": ("place_order", {"idempotency_key": key, "order": ORDER}),
            "modify_order": ("modify_order", {"order_ref": order_ref, "price": 501.0}),
            "cancel_order": ("cancel_order", {"order_ref": order_ref}),
            "kill_switch_on": ("kill_switch", {"active": True, "reason": "drill"}),
            "kill_switch_isolate": ("kill_switch", {"active": True, "scope": "hdfc", "reason": "drill"}),
            "kill_switch_off": ("kill_switch", {"active": False, "confirm": True}),
        }
        op, fields = calls[action]
        reply = await self.client.call(op, token=self.client.token is not None, **fields)
        if reply["ok"]:
            return reply.get("http_status", 200), None
        return reply["error"]["http_status"], reply["error"]["code"]


class HttpDoor:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    async def act(self, action: str, order_ref: str, key: str) -> tuple[int, str | None]:
        api = self.api
        if action == "event_stream":
            headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
            async with api.session.get(api.base_url + "/api/v1/audit/stream", headers=headers) as response:
                if response.status == 200:
                    return 200, None
                return response.status, (await response.json())["error"]["code"]
        requests = {
            "health": lambda: api.get("/api/v1/health"),
            "get_order": lambda: api.get(f"/api/v1/orders/{order_ref}"),
            "list_orders": lambda: api.get("/api/v1/orders"),
            "audit_replay": lambda: api.get("/api/v1/audit"),
            "kill_switch_read": lambda: api.get("/api/v1/kill-switch"),
            "place_order": lambda: api.place(key, ORDER),
            "modify_order": lambda: api.request("PATCH", f"/api/v1/orders/{order_ref}", json={"price": 501.0}),
            "cancel_order": lambda: api.request("DELETE", f"/api/v1/orders/{order_ref}"),
            "kill_switch_on": lambda: api.kill_switch(True, "drill"),
            "kill_switch_isolate": lambda: api.kill_switch(True, "drill", scope="hdfc"),
            "kill_switch_off": lambda: api.kill_switch(False),
        }
        reply = await requests[action]()
        return reply.status, reply.code


@asynccontextmanager
async def desk(tmp_path: Path) -> AsyncIterator[tuple[RunningDaemon, dict[str, str], aiohttp.ClientSession]]:
    tables, tokens = named_tokens(tmp_path / "tokens", ROLES)
    config = make_config(tmp_path / "state", http=True, auth={"tokens": tables})
    async with running_daemon(config) as d, aiohttp.ClientSession() as session:
        yield d, tokens, session


@pytest.mark.parametrize("door", ["zmq", "http"])
async def test_each_role_may_do_exactly_what_the_matrix_allows(tmp_path: Path, door: str) -> None:
    async with desk(tmp_path) as (d, tokens, session):
        admin_api = await api_client(session, d, d.token)
        order_ref = (await d.client().place("seed"))["order_ref"]
        matrix = {**MATRIX, **(HTTP_ONLY if door == "http" else {})}
        outcomes: dict[tuple[str, str], tuple[int, str | None]] = {}
        for name, role in [*ROLES.items(), ("anonymous", "anonymous")]:
            token = tokens.get(name)
            actor: Door = ZmqDoor(d, token) if door == "zmq" else HttpDoor(admin_api.as_token(token))
            for action in matrix:
                outcomes[(role, action)] = await actor.act(action, order_ref, key=f"{door}-{name}")
                if action.startswith("kill_switch_") and outcomes[(role, action)][1] is None:
                    await actor.act("kill_switch_off", order_ref, key="")  # may be refused: admin resets
                    await admin_api.kill_switch(False)
                    await admin_api.kill_switch(False, scope="hdfc")
        books = {broker: len(d.paper(broker).book) for broker in ("fyers", "hdfc")}

    for (role, action), (status, code) in outcomes.items():
        if role == "anonymous":
            assert (status, code) == (401, "UNAUTHORIZED"), action
        elif RANK[role] >= RANK[matrix[action]]:
            # Allowed. A cancel or modify of an order already cancelled still answers (502, per broker).
            assert code is None and status in (200, 502), (role, action, status, code)
        else:
            assert (status, code) == (403, "FORBIDDEN"), (role, action)
    # seed + the trader's and the admin's orders; the viewer's never reached a broker.
    assert books == {"fyers": 3, "hdfc": 3}


@pytest.mark.parametrize("door", ["zmq", "http"])
async def test_a_trader_pulls_the_alarm_but_cannot_silence_it(tmp_path: Path, door: str) -> None:
    async with desk(tmp_path) as (d, tokens, session):
        api = await api_client(session, d, tokens["tom"])
        trader: Door = ZmqDoor(d, tokens["tom"]) if door == "zmq" else HttpDoor(api)
        admin: Door = ZmqDoor(d, tokens["ada"]) if door == "zmq" else HttpDoor(api.as_token(tokens["ada"]))
        on = await trader.act("kill_switch_on", "", "")
        off_by_trader = await trader.act("kill_switch_off", "", "")
        still_on = d.daemon.kill_switch.active
        off_by_admin = await admin.act("kill_switch_off", "", "")
        await d.daemon.audit.flush()
        events = (await d.client().call("audit_replay", limit=1000))["events"]
    assert on == (200, None) and off_by_admin == (200, None)
    assert off_by_trader == (403, "FORBIDDEN") and still_on
    changes = [(e["data"]["active"], e["data"]["principal"]) for e in events if e["type"] == "kill_switch.changed"]
    assert changes == [(True, "tom"), (False, "ada")]
    denied = [e["data"] for e in events if e["type"] == "access.denied"]
    assert denied == [{"principal": "tom", "role": "trader", "action": "turning the kill switch off",
                       "needed": "admin"}]
    text = json.dumps(events)
    assert all(token not in text for token in tokens.values())


async def test_audit_names_the_acting_token_for_orders_from_either_door(tmp_path: Path) -> None:
    async with desk(tmp_path) as (d, tokens, session):
        api = await api_client(session, d, tokens["tom"])
        over_http = await api.place("by-tom", ORDER)
        over_zmq = await d.client(token=tokens["ada"]).place("by-ada")
        await d.daemon.audit.flush()
        events = (await d.client().call("audit_replay", limit=1000))["events"]
    by_ref: dict[str, dict[str, str]] = {}
    for event in events:
        if event["type"] in ("order.received", "order.completed"):
            by_ref.setdefault(event["order_ref"], {})[event["type"]] = event["data"]["principal"]
    assert by_ref[over_http.body["order_ref"]] == {"order.received": "tom", "order.completed": "tom"}
    assert by_ref[over_zmq["order_ref"]] == {"order.received": "ada", "order.completed": "ada"}
    assert all(token not in json.dumps(events) for token in tokens.values())
