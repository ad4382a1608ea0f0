"""Property-based fuzzing of the HTTP door, through the checked client: whatever arrives, the
answer is a status the OpenAPI document lists for that route with a body that fits its
schema (never a 500), and the daemon keeps placing orders."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import ORDER, RunningDaemon, make_config
from tests.http.client import ApiClient, serving
from tests.strategies import json_values, mutated_orders

header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
content_types = st.one_of(
    st.just("application/json"), st.just("application/json; charset=utf-8"), st.just("text/plain"),
    st.just("application/json; charset=latin-1"), header_text,
)
orders_or_not = st.one_of(mutated_orders(), json_values)  # sometimes not even an object


paths = st.one_of(
    st.sampled_from(["/api/v1/orders", "/api/v1/health", "/api/v1/kill-switch", "/api/v1/audit", "/api/v1/ping",
                     "/api/v1/openapi.json", "/api/v1/orders/ORD-1", "/api/v1", "/api/v2/orders"]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#%"),
            max_size=40).map(lambda p: "/api/v1/orders/" + p),
)
queries = st.dictionaries(st.sampled_from(["limit", "since", "brokers", "x"]), header_text, max_size=2)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[RunningDaemon, ApiClient]]:
    async with serving(make_config(tmp_path / "state", http=True)) as served:
        yield served


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=orders_or_not, key=header_text, content_type=content_types, raw=st.booleans())
async def test_any_order_body_gets_a_documented_answer(desk: tuple[RunningDaemon, ApiClient], order: Any,
                                                       key: str, content_type: str, raw: bool) -> None:
    _, api = desk
    body = json.dumps(order, allow_nan=True).encode() if not raw else json.dumps(order).encode()[::-1]
    reply = await api.request("POST", "/api/v1/orders", data=body,
                              headers={"Idempotency-Key": key, "Content-Type": content_type})
    assert reply.status < 500 or reply.code == "SHUTTING_DOWN"
    if reply.status in (200, 207, 502):
        # HTTP drops the spaces around a header value, so " k " arrives as "k".
        assert reply.body["ok"] is True and reply.body["idempotency_key"] == key.strip(" ")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST"]), path=paths, query=queries,
       body=json_values)
async def test_any_route_query_and_body_gets_a_documented_answer(desk: tuple[RunningDaemon, ApiClient],
                                                                 method: str, path: str, query: dict[str, str],
                                                                 body: Any) -> None:
    _, api = desk
    reply = await api.request(method, path, params=query, data=json.dumps(body, allow_nan=True).encode(),
                              headers={"Content-Type": "application/json"})
    assert reply.status < 500


async def test_the_daemon_still_places_orders_after_the_fuzzing(desk: tuple[RunningDaemon, ApiClient]) -> None:
    _, api = desk
    reply = await api.place("after-fuzz", ORDER)
    assert reply.status == 200
