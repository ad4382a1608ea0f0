"""The ambiguous outcomes through the real gateway and the real HDFC adapter: exactly one
order at the fake InvestRight, or an honest OUTCOME_UNKNOWN."""

from __future__ import annotations

from ordod.brokers.hdfc.adapter import HdfcAdapter
from tests.brokers.helpers import gateway, order
from tests.fakes.hdfc import FakeHdfc
from tests.fakes.server import Fault


async def test_read_timeout_after_the_broker_accepted_finds_the_order_and_places_no_second(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc,
) -> None:
    fake_hdfc.fault("POST /orders/regular", Fault("accept_then_hang"))
    result = await gateway(hdfc, call_timeout_s=0.3).place(order("k-hang-accepted"), halted=lambda: False)
    assert (result.status, result.attempts, len(fake_hdfc.orders)) == ("success", 1, 1)
    assert result.order_id == fake_hdfc.orders[0].order_id


async def test_timeout_where_the_broker_never_booked_it_is_retried_and_placed_once(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc,
) -> None:
    fake_hdfc.fault("POST /orders/regular", Fault("hang"))
    result = await gateway(hdfc, call_timeout_s=0.3).place(order("k-hang-lost"), halted=lambda: False)
    assert (result.status, result.attempts, len(fake_hdfc.orders)) == ("success", 2, 1)
    assert len(fake_hdfc.calls("POST", "/orders/regular")) == 2
    assert len(fake_hdfc.calls("GET", "/orders")) == 1


async def test_connection_dropped_after_sending_is_resolved_by_lookup(hdfc: HdfcAdapter,
                                                                     fake_hdfc: FakeHdfc) -> None:
    fake_hdfc.fault("POST /orders/regular", Fault("reset"))
    result = await gateway(hdfc).place(order("k-reset"), halted=lambda: False)
    assert (result.status, result.attempts, len(fake_hdfc.orders)) == ("success", 1, 1)


async def test_5xx_on_place_is_looked_up_then_retried_when_absent(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc) -> None:
    fake_hdfc.fault("POST /orders/regular", Fault("server_error", status=503, book=False))
    result = await gateway(hdfc).place(order("k-5xx"), halted=lambda: False)
    assert (result.status, result.attempts, len(fake_hdfc.orders)) == ("success", 2, 1)


async def test_lookup_impossible_is_outcome_unknown_and_never_retried(hdfc: HdfcAdapter,
                                                                      fake_hdfc: FakeHdfc) -> None:
    fake_hdfc.fault("POST /orders/regular", Fault("server_error", status=502, book=True))
    fake_hdfc.fault("GET /orders", Fault("reject", status=500))
    result = await gateway(hdfc).place(order("k-unknown"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "OUTCOME_UNKNOWN", 1)
    assert result.broker_code == "HTTP 502"
    assert len(fake_hdfc.calls("POST", "/orders/regular")) == 1


async def test_a_book_that_does_not_echo_our_reference_never_leads_to_a_second_order(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc,
) -> None:
    fake_hdfc.echo_reference = False
    fake_hdfc.fault("POST /orders/regular", Fault("accept_then_hang"))
    result = await gateway(hdfc, call_timeout_s=0.3).place(order("k-noecho"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "OUTCOME_UNKNOWN", 1)
    assert len(fake_hdfc.orders) == 1


async def test_an_unknown_symbol_is_refused_once_without_retry(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc) -> None:
    result = await gateway(hdfc).place(order("k-sym", symbol="NSE:NOSUCH-EQ"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "INVALID_SYMBOL", 1)
    assert fake_hdfc.calls("POST", "/orders/regular") == []
