"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document, whose every documented status and
error code the server really returns (and, through the checked client of every HTTP test,
whose schemas every real response satisfies)."""

from __future__ import annotations

import asyncio
import io
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from ordod.http.routes import ENDPOINTS
from tests.harness import ORDER, RunningDaemon, make_config, named_tokens
from tests.http.client import ApiClient, fetch_spec, serving


async def test_document_is_valid_openapi_3_1_and_covers_exactly_the_routes(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        spec = await fetch_spec(api.session, d)
        unauthenticated = await api.as_token(None).get("/api/v1/openapi.json")
    validate(spec, cls=OpenAPIV31SpecValidator)
    assert spec["openapi"] == "3.1.0"
    assert unauthenticated.status == 200
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    app = web.Application()
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
    routed = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    assert documented == routed
    assert spec["paths"]["/api/v1/ping"]["get"]["security"] == []
    post = spec["paths"]["/api/v1/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OrderSpec"}
    assert set(post["responses"]) >= {"200", "207", "502", "400", "401", "403", "409", "413", "415", "422", "429"}


def documented_outcomes(spec: dict[str, Any]) -> set[tuple[str, str, int, str | None]]:
    """(method, path, status, error code or None) for every documented response but default."""
    outcomes = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status == "default":
                    continue
                schema = response["content"].get("application/json", {}).get("schema", {})
                codes = schema.get("allOf", [{}, {}])[1].get("properties", {}).get("error", {}) \
                    .get("properties", {}).get("code", {}).get("enum", [None]) if "allOf" in schema else [None]
                outcomes |= {(method.upper(), path, int(status), code) for code in codes}
    return outcomes


JSON_TYPE = {"Content-Type": "application/json"}
HUGE = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'


@dataclass
class Desk:
    d: RunningDaemon
    api: ApiClient  # admin
    viewer: ApiClient
    trader: ApiClient
    limited: ApiClient  # a trader with a tiny order rate limit


async def exercise_reads(desk: Desk) -> None:
    api = desk.api
    for path in ("/api/v1/ping", "/api/v1/openapi.json", "/api/v1/health", "/api/v1/kill-switch", "/api/v1/orders",
                 "/api/v1/orders/ORD-x", "/api/v1/audit", "/api/v1/audit/stream"):
        await api.get(path + "?unknown=1")
        if path == "/api/v1/audit/stream":
            continue  # a stream never ends: it is read below
        await api.get(path)
        if path not in ("/api/v1/ping", "/api/v1/openapi.json"):
            await api.as_token(None).get(path)
            await api.get(path + "?limit=x" if "orders/" not in path else "/api/v1/orders/" + "R" * 65)
    await api.as_token(None).get("/api/v1/audit/stream")
    async with api.session.get(api.base_url + "/api/v1/audit/stream",
                               headers={"Authorization": f"Bearer {api.token}", "Last-Event-ID": "0"}) as stream:
        api.checker.seen.add(("GET", "/api/v1/audit/stream", stream.status, None))
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert (await stream.content.readline()).startswith(b"retry:")


async def exercise_place(desk: Desk) -> None:
    api, hdfc, fyers = desk.api, desk.d.paper("hdfc"), desk.d.paper("fyers")
    placed = await api.place("cov-200", ORDER)
    await api.get(f"/api/v1/orders/{placed.body['order_ref']}")
    hdfc.knobs.reject_code = "ORDER_REJECTED"
    await api.place("cov-207", ORDER)
    await api.place("cov-502", {**ORDER, "brokers": ["hdfc"]})
    hdfc.knobs.reject_code = ""
    await api.place(None, ORDER)
    await api.place("cov-400", {**ORDER, "extra": 1})
    await api.as_token(None).place("cov-401", ORDER)
    await desk.viewer.place("cov-403", ORDER)
    await api.place("cov-413", None, data=io.BytesIO(HUGE), headers=JSON_TYPE)
    await api.request("POST", "/api/v1/orders", data=b"{}", headers={"Idempotency-Key": "cov-415"})
    await api.place("cov-200", {**ORDER, "qty": 7})
    await api.place("cov-422", {**ORDER, "qty": 0})
    await desk.limited.place("cov-429-a", ORDER)
    await desk.limited.place("cov-429-b", ORDER)
    fyers.knobs.latency_ms = 500
    slow = asyncio.create_task(api.place("cov-409", ORDER))
    await asyncio.sleep(0.1)
    await api.place("cov-409", ORDER)
    await slow
    fyers.knobs.latency_ms = 0
    desk.d.daemon.orchestrator.accepting = False
    await api.place("cov-503", ORDER)
    desk.d.daemon.orchestrator.accepting = True


async def exercise_cancel_and_modify(desk: Desk) -> None:
    api, fyers = desk.api, desk.d.paper("fyers")

    async def open_order() -> str:
        placed = await api.place(f"cov-target-{secrets.token_hex(4)}", ORDER)
        return f"/api/v1/orders/{placed.body['order_ref']}"

    cases: list[tuple[str, dict[str, Any]]] = [("PATCH", {"json": {"price": 499.0}}), ("DELETE", {})]
    for method, change in cases:
        fyers.knobs.latency_ms = 500
        path = await open_order()
        slow = asyncio.create_task(api.request(method, path, headers={"Idempotency-Key": f"{method}-slow"}, **change))
        await asyncio.sleep(0.1)
        await api.request(method, path, headers={"Idempotency-Key": f"{method}-slow"}, **change)  # 409
        await slow
        fyers.knobs.latency_ms = 0
        path = await open_order()
        await api.request(method, path, headers={"Idempotency-Key": f"{method}-key"}, **change)  # 200
        other: dict[str, Any] = {"json": {"price": 498.0}} if method == "PATCH" else {}
        await api.request(method, path + ("" if method == "PATCH" else "?brokers=fyers"),
                          headers={"Idempotency-Key": f"{method}-key"}, **other)  # 422 reused
        await api.request(method, path + "?color=red", **change)  # 400
        await api.as_token(None).request(method, path, **change)  # 401
        await desk.viewer.request(method, path, **change)  # 403
        await api.request(method, "/api/v1/orders/ORD-none", **change)  # 404
        path = await open_order()
        await api.request("DELETE", path + "?brokers=hdfc")
        await api.request(method, path, **change)  # 207: fyers does it, hdfc holds it cancelled
        await api.request("DELETE", path + "?brokers=fyers")
        await api.request(method, path, **change)  # 502: cancelled everywhere
    path = await open_order()
    await api.request("DELETE", path + "?brokers=nope")  # 422: no such holder
    await api.request("PATCH", path, json={})  # 422: changes nothing
    await api.request("PATCH", path, json={"colour": "red"})  # 400
    await api.request("PATCH", path, data=b"{}", headers={"Content-Type": "text/plain"})  # 415
    await api.request("PATCH", path, data=io.BytesIO(HUGE), headers=JSON_TYPE)  # 413
    await api.kill_switch(True, "coverage")
    await api.request("PATCH", path, json={"qty": 5})  # 403: more risk under the switch
    await api.kill_switch(False)


async def exercise_kill_switch(desk: Desk) -> None:
    api = desk.api
    await desk.trader.kill_switch(True, "coverage")
    await api.place("cov-403-kill", ORDER)
    await desk.trader.kill_switch(False)  # 403
    await api.kill_switch(False)
    desk.d.daemon.kill_switch.min_hold_s = 60
    await api.kill_switch(True, "held")
    await api.kill_switch(False)  # 409 KILL_SWITCH_HOLD
    desk.d.daemon.kill_switch.min_hold_s = 0
    await api.kill_switch(False)
    await api.request("PUT", "/api/v1/kill-switch", json={})
    await api.request("PUT", "/api/v1/kill-switch", json={"active": 1})
    await api.request("PUT", "/api/v1/kill-switch", data=b"{}", headers={"Content-Type": "text/plain"})
    await api.request("PUT", "/api/v1/kill-switch", data=io.BytesIO(HUGE), headers=JSON_TYPE)
    await api.as_token(None).kill_switch(True)
    await api.request("PUT", "/api/v1/kill-switch?x=1", json={"active": True})


async def test_every_documented_status_and_error_code_is_one_the_server_really_returns(tmp_path: Path) -> None:
    tables, tokens = named_tokens(tmp_path / "tokens", {"vera": "viewer", "tom": "trader", "lim": "trader"})
    tables["lim"]["rate_limit"] = {"orders_per_s": 0.001, "burst": 1}
    config = make_config(tmp_path / "state", http=True, auth={"tokens": tables})
    async with serving(config) as (d, api):
        spec = await fetch_spec(api.session, d)
        desk = Desk(d, api, *(api.as_token(tokens[name]) for name in ("vera", "tom", "lim")))
        await exercise_reads(desk)
        await exercise_place(desk)
        await exercise_cancel_and_modify(desk)
        await exercise_kill_switch(desk)
    documented = documented_outcomes(spec)
    missing = documented - api.checker.seen
    assert not missing, f"documented but never observed: {sorted(missing, key=str)}"
    undocumented = {seen for seen in api.checker.seen if seen[1] in spec["paths"]} - documented
    assert not undocumented, f"observed but not documented: {sorted(undocumented, key=str)}"
