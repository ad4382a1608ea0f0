"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document, whose every documented status and
error code the server really returns (and, through the checked client of every HTTP test,
whose schemas every real response satisfies)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from ordod.http.routes import ENDPOINTS
from tests.harness import ORDER, make_config, named_tokens
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


async def exercise_everything(d: object, api: ApiClient, viewer: ApiClient, trader: ApiClient,
                              limited: ApiClient) -> None:
    """At least one real request for every documented status and error code of every route."""
    json_type = {"Content-Type": "application/json"}
    huge = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'
    bad_query = "?unknown=1"
    for path in ("/api/v1/ping", "/api/v1/openapi.json", "/api/v1/health", "/api/v1/kill-switch", "/api/v1/orders",
                 "/api/v1/orders/ORD-x", "/api/v1/audit", "/api/v1/audit/stream"):
        await api.get(path + bad_query)
        if path not in ("/api/v1/ping", "/api/v1/openapi.json"):
            await api.as_token(None).get(path)
            await api.get(path + "?limit=x" if "orders/" not in path else "/api/v1/orders/" + "R" * 65)
    await api.get("/api/v1/ping")
    await api.get("/api/v1/openapi.json")
    await api.get("/api/v1/health")
    await api.get("/api/v1/kill-switch")
    await api.get("/api/v1/audit")
    await api.get("/api/v1/orders")
    await api.get("/api/v1/orders/ORD-missing")

    # POST /api/v1/orders: hdfc rejects everything in this daemon.
    ok = await api.place("cov-200", {**ORDER, "brokers": ["fyers"]})
    await api.get(f"/api/v1/orders/{ok.body['order_ref']}")
    await api.place("cov-207", ORDER)
    await api.place("cov-502", {**ORDER, "brokers": ["hdfc"]})
    await api.place(None, ORDER)
    await api.place("cov-400", {**ORDER, "extra": 1})
    await api.as_token(None).place("cov-401", ORDER)
    await viewer.place("cov-403", ORDER)
    await api.place("cov-413", None, data=io.BytesIO(huge), headers=json_type)
    await api.request("POST", "/api/v1/orders", data=b"{}", headers={"Idempotency-Key": "cov-415"})
    await api.place("cov-200", {**ORDER, "qty": 7, "brokers": ["fyers"]})
    await api.place("cov-422", {**ORDER, "qty": 0})
    await limited.place("cov-429-a", {**ORDER, "brokers": ["fyers"]})
    await limited.place("cov-429-b", {**ORDER, "brokers": ["fyers"]})
    d.paper("fyers").knobs.latency_ms = 300  # type: ignore[attr-defined]
    slow = asyncio.create_task(api.place("cov-409", {**ORDER, "brokers": ["fyers"]}))
    await asyncio.sleep(0.1)
    await api.place("cov-409", {**ORDER, "brokers": ["fyers"]})
    await slow
    d.paper("fyers").knobs.latency_ms = 0  # type: ignore[attr-defined]
    d.daemon.orchestrator.accepting = False  # type: ignore[attr-defined]
    await api.place("cov-503", ORDER)
    d.daemon.orchestrator.accepting = True  # type: ignore[attr-defined]

    # PUT /api/v1/kill-switch
    await trader.kill_switch(True, "coverage")
    await api.place("cov-403-kill", ORDER)
    await trader.kill_switch(False)
    await api.kill_switch(False)
    await api.request("PUT", "/api/v1/kill-switch", json={})
    await api.request("PUT", "/api/v1/kill-switch", json={"active": 1})
    await api.request("PUT", "/api/v1/kill-switch", data=b"{}", headers={"Content-Type": "text/plain"})
    await api.request("PUT", "/api/v1/kill-switch", data=io.BytesIO(huge), headers=json_type)
    await api.as_token(None).kill_switch(True)

    async with api.session.get(api.base_url + "/api/v1/audit/stream",
                               headers={"Authorization": f"Bearer {api.token}", "Last-Event-ID": "0"}) as stream:
        api.checker.seen.add(("GET", "/api/v1/audit/stream", stream.status, None))
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert (await stream.content.readline()).startswith(b"retry:")


async def test_every_documented_status_and_error_code_is_one_the_server_really_returns(tmp_path: Path) -> None:
    tables, tokens = named_tokens(tmp_path / "tokens", {"vera": "viewer", "tom": "trader", "lim": "trader"})
    tables["lim"]["rate_limit"] = {"orders_per_s": 0.001, "burst": 1}
    config = make_config(tmp_path / "state", http=True, auth={"tokens": tables},
                         brokers={"hdfc": {"reject_code": "ORDER_REJECTED"}})
    async with serving(config) as (d, api):
        spec = await fetch_spec(api.session, d)
        await exercise_everything(d, api, api.as_token(tokens["vera"]), api.as_token(tokens["tom"]),
                                  api.as_token(tokens["lim"]))
    documented = documented_outcomes(spec)
    missing = documented - api.checker.seen
    assert not missing, f"documented but never observed: {sorted(missing, key=str)}"
    undocumented = {seen for seen in api.checker.seen if seen[1] in spec["paths"]} - documented
    assert not undocumented, f"observed but not documented: {sorted(undocumented, key=str)}"
