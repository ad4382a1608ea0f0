"""Fyers-only ambiguous outcomes through the real gateway (the shared ones are in
``test_ambiguous_through_gateway``): ``code: 201`` and a refused connection."""

from __future__ import annotations

from pathlib import Path

from ordod.brokers.fyers.adapter import FyersAdapter
from tests.brokers.helpers import fyers_adapter, gateway, order
from tests.fakes.fyers import FakeFyers
from tests.fakes.server import Fault


async def test_code_201_leads_to_a_lookup_and_the_booked_order_is_the_result(
    fyers: FyersAdapter, fake_fyers: FakeFyers,
) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("no_ack", book=True))
    result = await gateway(fyers).place(order("k-201"), halted=lambda: False)
    assert (result.status, result.attempts, len(fake_fyers.orders)) == ("success", 1, 1)
    assert result.order_id == fake_fyers.orders[0].id
    assert fake_fyers.calls("GET", "/orders")[0].query["order_tag"] == f"1:{order('k-201').tag}"


async def test_code_201_with_nothing_booked_is_retried_after_the_lookup(fyers: FyersAdapter,
                                                                      fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("no_ack", book=False))
    result = await gateway(fyers).place(order("k-201-lost"), halted=lambda: False)
    assert (result.status, result.attempts, len(fake_fyers.orders)) == ("success", 2, 1)
    assert len(fake_fyers.calls("GET", "/orders")) == 1


async def test_code_201_and_no_lookup_possible_is_outcome_unknown(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("no_ack", book=True))
    fake_fyers.fault("GET /orders", Fault("server_error", status=500))
    result = await gateway(fyers).place(order("k-201-unknown"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts, result.broker_code) == (
        "error", "OUTCOME_UNKNOWN", 1, "201")


async def test_connection_refused_is_retried_blindly_without_lookup(fake_fyers: FakeFyers, tmp_path: Path) -> None:
    # The fake runs (its tokens are real), but the adapter points at a port nobody listens on.
    adapter = fyers_adapter(fake_fyers, tmp_path, base_url="http://127.0.0.1:9/api/v3")
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_fyers.issue_token())
        result = await gateway(adapter).place(order("k-refused"), halted=lambda: False)
    finally:
        await adapter.close()
    assert (result.status, result.error_code, result.attempts) == ("error", "BROKER_UNAVAILABLE", 3)
    assert fake_fyers.requests == []
