"""The other endpoints: ping, health, kill switch, audit, unknown paths and methods, and the
hook other modules use to add routes."""

from __future__ import annotations

import io
from pathlib import Path

from aiohttp import web

from ordod.daemon import Daemon
from ordod.http import SERVICE, bearer_token
from tests.harness import ORDER, make_config, named_tokens
from tests.http.client import serving


async def test_ping_needs_no_token_and_health_does(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (_, api):
        ping = await api.as_token(None).get("/api/v1/ping")
        health = await api.get("/api/v1/health")
        anonymous_health = await api.as_token(None).get("/api/v1/health")
        unknown_param = await api.get("/api/v1/health?verbose=1")
    assert (ping.status, ping.body["pong"]) == (200, True)
    assert health.status == 200
    assert {b["broker_id"] for b in health.body["health"]["brokers"]} == {"fyers", "hdfc"}
    assert (anonymous_health.status, anonymous_health.code) == (401, "UNAUTHORIZED")
    assert (unknown_param.status, unknown_param.code) == (400, "BAD_REQUEST")


async def test_kill_switch_is_read_and_set_over_http_and_seen_over_zeromq(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        before = await api.get("/api/v1/kill-switch")
        on = await api.kill_switch(True, "fat finger on desk 2")
        seen_by_zmq = await d.client().call("kill_switch")
        off = await api.kill_switch(False, "all clear")
        events = (await api.get("/api/v1/audit?since=0&limit=100")).body["events"]
    assert before.body["kill_switch"]["active"] is False
    assert (on.status, on.body["kill_switch"]["active"], on.body["kill_switch"]["set_by"]) == (200, True, "default")
    assert seen_by_zmq["kill_switch"]["reason"] == "fat finger on desk 2"
    assert off.body["kill_switch"]["active"] is False
    changes = [e["data"] for e in events if e["type"] == "kill_switch.changed"]
    assert [(c["active"], c["principal"]) for c in changes] == [(True, "default"), (False, "default")]


async def test_kill_switch_bodies_that_are_wrong_get_typed_errors(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        put = "/api/v1/kill-switch"
        no_active = await api.request("PUT", put, json={"reason": "?"})
        extra = await api.request("PUT", put, json={"active": True, "token": "smuggled"})
        wrong_type = await api.request("PUT", put, json={"active": "yes"})
        long_reason = await api.request("PUT", put, json={"active": True, "reason": "r" * 501})
        form = await api.request("PUT", put, data="active=true",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        huge = await api.request("PUT", put, data=io.BytesIO(b'{"reason":"' + b"r" * (1024 * 1024) + b'"}'),
                                 headers={"Content-Type": "application/json"})
        state = await d.client().call("kill_switch")
    assert (no_active.status, no_active.code) == (400, "BAD_REQUEST")
    assert (extra.status, extra.code) == (400, "BAD_REQUEST")
    assert (wrong_type.status, wrong_type.code) == (422, "VALIDATION_ERROR")
    assert wrong_type.body["error"]["field"] == "active"
    assert (long_reason.status, long_reason.code) == (422, "VALIDATION_ERROR")
    assert (form.status, form.code) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert (huge.status, huge.code) == (413, "PAYLOAD_TOO_LARGE")
    assert state["kill_switch"]["active"] is False


async def test_audit_pages_through_stored_events(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        await api.place("h-audit", ORDER)
        await d.daemon.audit.flush()
        everything = await api.get("/api/v1/audit")
        page = await api.get("/api/v1/audit?since=1&limit=2")
        negative = await api.get("/api/v1/audit?since=-1")
        too_many = await api.get("/api/v1/audit?limit=5001")
    seqs = [e["seq"] for e in everything.body["events"]]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 5
    assert everything.body["last_seq"] >= seqs[-1]
    assert [e["seq"] for e in page.body["events"]] == [2, 3]
    received = next(e for e in everything.body["events"] if e["type"] == "order.received")
    assert received["data"]["principal"] == "default"
    assert (negative.status, negative.code) == (422, "VALIDATION_ERROR")
    assert (too_many.status, too_many.code) == (422, "VALIDATION_ERROR")


async def test_unknown_paths_and_methods_get_json_404_and_405(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (_, api):
        nowhere = await api.get("/api/v2/orders")
        root = await api.get("/")
        delete = await api.request("DELETE", "/api/v1/orders")
        patch = await api.request("PATCH", "/api/v1/kill-switch", json={"active": True})
        head = await api.request("HEAD", "/api/v1/health")
    assert (nowhere.status, nowhere.code) == (404, "NOT_FOUND")
    assert (root.status, root.code) == (404, "NOT_FOUND")
    assert (delete.status, delete.code) == (405, "METHOD_NOT_ALLOWED")
    assert (patch.status, patch.code) == (405, "METHOD_NOT_ALLOWED")
    assert set(patch.headers["Allow"].split(",")) == {"GET", "PUT"}
    assert head.status == 405


async def test_other_modules_register_routes_that_share_the_service_and_error_shape(state_dir: Path) -> None:
    async def whoami(request: web.Request) -> web.Response:
        principal = request.app[SERVICE].principal(bearer_token(request), "health")
        return web.json_response({"name": principal.name})

    def register(app: web.Application) -> None:
        app.router.add_get("/extra/whoami", whoami)

    def prepare(daemon: Daemon) -> None:
        daemon.http_routes.append(register)

    async with serving(make_config(state_dir, http=True), prepare) as (d, api):
        async with api.session.get(d.http_url + "/extra/whoami",
                                   headers={"Authorization": f"Bearer {d.token}"}) as ok:
            assert (ok.status, await ok.json()) == (200, {"name": "default"})
        async with api.session.get(d.http_url + "/extra/whoami") as refused:
            body = await refused.json()
            assert (refused.status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_prometheus_metrics_are_served_on_the_same_listener_and_count_refusals(tmp_path: Path) -> None:
    tables, tokens = named_tokens(tmp_path / "tokens", {"algo": "trader"})
    tables["algo"]["rate_limit"] = {"orders_per_s": 0.001, "burst": 1}
    config = make_config(tmp_path / "state", http=True, auth={"tokens": tables})
    async with serving(config) as (d, api):
        algo = api.as_token(tokens["algo"])
        await algo.place("m-1", ORDER)
        limited = await algo.place("m-2", ORDER)
        async with api.session.get(d.http_url + "/metrics") as scraped:
            status, text = scraped.status, await scraped.text()
    assert limited.code == "RATE_LIMITED"
    assert status == 200
    assert 'ordo_orders_total{status="success"} 1.0' in text
    assert 'ordo_order_refusals_total{code="RATE_LIMITED"} 1.0' in text
