"""HDFC-only outcomes through the real gateway (the shared ones are in
``test_ambiguous_through_gateway``): a book that does not echo our reference, and a symbol
the security master does not know."""

from __future__ import annotations

from ordod.brokers.hdfc.adapter import HdfcAdapter
from tests.brokers.helpers import gateway, order
from tests.fakes.hdfc import FakeHdfc
from tests.fakes.server import Fault


async def test_a_book_that_does_not_echo_our_reference_never_leads_to_a_second_order(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc,
) -> None:
    fake_hdfc.echo_reference = False
    fake_hdfc.fault("POST /orders/regular", Fault("accept_then_hang"))
    result = await gateway(hdfc).place(order("k-noecho"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "OUTCOME_UNKNOWN", 1)
    assert len(fake_hdfc.orders) == 1


async def test_an_unknown_symbol_is_refused_once_without_retry(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc) -> None:
    result = await gateway(hdfc).place(order("k-sym", symbol="NSE:NOSUCH-EQ"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "INVALID_SYMBOL", 1)
    assert fake_hdfc.calls("POST", "/orders/regular") == []
