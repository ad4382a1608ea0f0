"""No request of any shape gets a 500 or a traceback, and the daemon keeps serving."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from tests.harness import ORDER, make_config
from tests.http.client import serving

JSON = {"Content-Type": "application/json"}

ODD_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/orders/%00", {}),
    ("GET", "/api/v1/orders/%ff%fe%fd", {}),
    ("GET", "/api/v1/orders/..%2F..%2Fetc%2Fpasswd", {}),
    ("GET", "/api/v1/orders/" + "x" * 4000, {}),
    ("GET", "/api/v1/orders?limit=99999999999999999999999999", {}),
    ("GET", "/api/v1/orders?limit=%00", {}),
    ("GET", "/api/v1/orders?limit=1e3", {}),
    ("GET", "/api/v1/orders?limit=", {}),
    ("GET", "/api/v1/audit?since=1&since=2", {}),
    ("GET", "/api/v1/audit?" + "&".join(f"k{i}=v" for i in range(500)), {}),
    ("GET", "/api/v1/health", {"headers": {"Authorization": "Bearer " + "x" * 6000}}),
    ("GET", "/api/v1/health", {"headers": {"Authorization": "Bearer"}}),
    ("GET", "/api/v1/health", {"headers": {"Authorization": "Bearer \u00e9\u00e8"}}),
    ("GET", "/api/v1/health", {"headers": {"X-Request-Id": "r" * 5000}}),
    ("GET", "/api/v1/audit/stream", {"headers": {"Last-Event-ID": "9" * 40}}),
    ("GET", "/api/v1/audit/stream", {"headers": {"Last-Event-ID": "-1"}}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k\u00e9", **JSON}, "json": ORDER}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", "Content-Type": 'application/json; charset="'},
                                "data": b"{}"}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", "Content-Type": "\u00e9/\u00e8"}, "data": b"{}"}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON}, "data": b"[" * 100_000}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON}, "data": b"\xff\xfe\x00"}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON}, "data": b""}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON}, "data": b"null"}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON},
                                "data": b'{"symbol":"NSE:SBIN-EQ","side":"BUY","qty":1,"order_type":"LIMIT",'
                                        b'"price":1e999}'}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON},
                                "data": b'{"qty":' + b"9" * 5000 + b"}"}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON},
                                "data": b'{"symbol":"\\ud800","side":"BUY","qty":1,"order_type":"MARKET"}'}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON}, "json": {**ORDER, "qty": True}}),
    ("POST", "/api/v1/orders", {"headers": {"Idempotency-Key": "k", **JSON}, "json": {**ORDER, "brokers": ["nope"]}}),
    ("PUT", "/api/v1/kill-switch", {"headers": JSON, "data": io.BytesIO(b"{" * 50_000)}),
    ("PUT", "/api/v1/kill-switch", {"headers": JSON, "json": {"active": None}}),
    ("OPTIONS", "/api/v1/orders", {}),
    ("TRACE", "/api/v1/orders", {}),
]


@pytest.mark.parametrize("authorized", [True, False])
async def test_odd_requests_get_typed_json_errors_and_never_500(state_dir: Path, authorized: bool) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        client = api if authorized else api.as_token(None)
        for method, path, kwargs in ODD_REQUESTS:
            reply = await client.request(method, path, **kwargs)
            assert reply.status < 500, (method, path, reply.status, reply.body)
            if reply.status >= 400:
                assert reply.body["ok"] is False and reply.body["error"]["message"], (method, path)
                assert "Traceback" not in reply.body["error"]["message"]
            else:
                assert authorized, (method, path, "succeeded without a token")
        after = await api.place("after-odd", ORDER)
    assert after.status == 200
    assert len(d.paper("fyers").book) == 1


RAW: list[bytes] = [
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64,  # a TLS ClientHello on the plain port
    b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
    b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /api/v1/ping HTTP/9.9\r\n\r\n",
    b"GET \x00\x01 HTTP/1.1\r\n\r\n",
]


async def test_malformed_http_gets_a_4xx_without_a_traceback(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        for raw in RAW:
            reader, writer = await asyncio.open_connection("127.0.0.1", d.daemon.http_port)
            writer.write(raw)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(65536), 5)
            writer.close()
            await writer.wait_closed()
            assert answer.startswith(b"HTTP/1.") and answer[9:10] == b"4", (raw[:40], answer[:200])
            assert b"Traceback" not in answer and b"File \"" not in answer
        ping = await api.get("/api/v1/ping")
    assert ping.status == 200
