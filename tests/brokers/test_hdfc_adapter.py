"""The HDFC InvestRight adapter against the fake InvestRight server, through its real HTTP path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ordod.brokers.base import OrderChange
from ordod.brokers.common.http import HttpReply
from ordod.brokers.errors import (
    BrokerError,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidSymbol,
    OrderRejected,
    OutcomeUnknown,
    RateLimitExceeded,
    SessionExpired,
)
from ordod.brokers.hdfc.adapter import HdfcAdapter
from ordod.brokers.hdfc.errors import error_from_reply
from tests.brokers.helpers import assert_mapped, hdfc_adapter, order, wall_clock
from tests.fakes.hdfc import API_KEY, FakeHdfc
from tests.fakes.server import Fault

ORDER_SHAPES = [
    # order_type, price, trigger, price sent, trigger sent
    ("MARKET", None, None, 0.0, 0.0),
    ("LIMIT", 800.5, None, 800.5, 0.0),
    ("SL", 801.0, 800.0, 801.0, 800.0),
    ("SL-M", None, 799.5, 0.0, 799.5),
]


@pytest.mark.parametrize("side", ["BUY", "SELL"])
@pytest.mark.parametrize("order_type, price, trigger, price_sent, trigger_sent", ORDER_SHAPES)
async def test_place_sends_the_documented_request(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc, side: str, order_type: str, price: float | None,
    trigger: float | None, price_sent: float, trigger_sent: float,
) -> None:
    o = order("k-shape", side=side, order_type=order_type, price=price, trigger_price=trigger, qty=3,
              product="CNC", validity="IOC")
    placed = await hdfc.place_order(o)

    (sent,) = fake_hdfc.calls("POST", "/orders/regular")
    assert sent.path == "/oapi/v1/orders/regular"
    assert sent.query == {"api_key": API_KEY}
    assert sent.headers["Authorization"] == hdfc.sessions.token()  # bare, no "Bearer"
    assert sent.headers["User-Agent"] == "Mozilla/5.0 (OrdoTests)"
    assert sent.headers["Content-Type"].startswith("application/json")
    reference = sent.body["external_reference_number"]
    assert sent.body == {
        "exchange": "NSE", "security_id": "SBINEQNR", "instrument_segment": "EQUITY", "transaction_type": side,
        "product": "DELIVERY", "order_type": order_type, "quantity": 3, "price": price_sent,
        "trigger_price": trigger_sent, "disclosed_quantity": 0, "validity": "IOC", "amo": False,
        "external_reference_number": reference,
    }
    assert {k: type(v) for k, v in sent.body.items()} == {
        "exchange": str, "security_id": str, "instrument_segment": str, "transaction_type": str, "product": str,
        "order_type": str, "quantity": int, "price": float, "trigger_price": float, "disclosed_quantity": int,
        "validity": str, "amo": bool, "external_reference_number": str}
    assert reference.isdigit() and len(reference) == 20
    assert reference == o.broker_tag(20, digits_only=True)
    assert placed.order_id == fake_hdfc.orders[0].order_id


@pytest.mark.parametrize("product, sent", [("INTRADAY", "INTRADAY"), ("CNC", "DELIVERY"), ("MARGIN", "OVERNIGHT")])
async def test_products_use_investrights_names(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc, product: str,
                                               sent: str) -> None:
    await hdfc.place_order(order("k-prod", product=product))
    assert fake_hdfc.calls("POST", "/orders/regular")[0].body["product"] == sent


DERIVATIVES: list[tuple[str, dict[str, Any]]] = [
    ("NSE:NIFTY26OCTFUT", {"security_id": "48705", "instrument_segment": "FUTIDX", "expiry_date": "20261027",
                           "underlying_symbol": "NIFTYEQEQNR"}),
    ("NSE:CIPLA26OCTFUT", {"security_id": "48796", "instrument_segment": "FUTSTK", "expiry_date": "20261027",
                           "underlying_symbol": "CIPLTDEQNR"}),
    ("NSE:NIFTY26OCT25000CE", {"security_id": "70001", "instrument_segment": "OPTIDX", "expiry_date": "20261027",
                               "strike_price": 25000.0, "option_type": "CE", "underlying_symbol": "NIFTYEQEQNR"}),
    ("NSE:NIFTY26OCT25000PE", {"security_id": "70004", "option_type": "PE", "expiry_date": "20261027"}),
    ("NSE:NIFTY26O0625000CE", {"security_id": "70002", "expiry_date": "20261006", "option_type": "CE"}),
    ("NSE:NIFTY26O1325000CE", {"security_id": "70003", "expiry_date": "20261013", "option_type": "CE"}),
    ("MCX:GOLD27JUNFUT", {"exchange": "MCX", "security_id": "575691", "instrument_segment": "FUTCOM",
                          "expiry_date": "20270604", "underlying_symbol": "GOLD"}),
    ("BSE:SBIN-A", {"exchange": "BSE", "security_id": "SBIBSEQNR", "instrument_segment": "EQUITY"}),
]


@pytest.mark.parametrize("symbol, expected", DERIVATIVES, ids=[d[0] for d in DERIVATIVES])
async def test_symbols_are_mapped_through_the_security_master(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc, symbol: str,
                                                              expected: dict[str, Any]) -> None:
    await hdfc.place_order(order("k-master", symbol=symbol, qty=75, product="MARGIN"))
    body = fake_hdfc.calls("POST", "/orders/regular")[0].body
    assert {k: body[k] for k in expected} == expected
    if "strike_price" not in expected and "option_type" not in expected:
        assert "strike_price" not in body and "option_type" not in body


@pytest.mark.parametrize("symbol", ["NSE:NOSUCH-EQ", "NSE:NIFTY26NOVFUT", "NSE:NIFTY26OCT25100CE",
                                    "NSE:NIFTY26O0725000CE", "NYSE:SBIN-EQ", "NSE:BROKEN-EQ", "NSE:SBIN"])
async def test_a_symbol_missing_from_the_master_is_invalid_before_any_order_call(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc, symbol: str,
) -> None:
    with pytest.raises(InvalidSymbol) as caught:
        await hdfc.place_order(order("k-unknown", symbol=symbol))
    assert caught.value.sent is False
    assert fake_hdfc.calls("POST", "/orders/regular") == []


async def test_the_master_is_cached_in_the_state_dir_and_refreshed_when_a_day_old(
    fake_hdfc: FakeHdfc, tmp_path: Path,
) -> None:
    clock = wall_clock()
    first = hdfc_adapter(fake_hdfc, tmp_path, clock=clock)
    await first.start()
    await first.master.get()
    await first.close()
    assert first.master.path.is_relative_to(tmp_path)
    assert first.master.path.read_text().startswith("exchange,security_id")

    second = hdfc_adapter(fake_hdfc, tmp_path, clock=clock)  # a restart: the cached copy is fresh
    await second.start()
    try:
        await second.master.get()
        assert len(fake_hdfc.calls("GET", "/security-master")) == 1
        clock.advance(25 * 3600)
        fake_hdfc.fault("GET /security-master", Fault("server_error"))
        master = await second.master.get()  # the download fails: the stale copy still maps symbols
        assert master.resolve("NSE:SBIN-EQ").security_id == "SBINEQNR"
        assert len(fake_hdfc.calls("GET", "/security-master")) == 2
        clock.advance(301)  # past the retry pause, the next use downloads again
        await second.master.get()
        assert len(fake_hdfc.calls("GET", "/security-master")) == 3
        assert fake_hdfc.calls("GET", "/security-master")[0].headers.get("Authorization") is None
    finally:
        await second.close()


async def test_no_master_at_all_is_broker_unavailable_not_sent(fake_hdfc: FakeHdfc, tmp_path: Path) -> None:
    adapter = hdfc_adapter(fake_hdfc, tmp_path)
    fake_hdfc.fault("GET /security-master", Fault("server_error"), Fault("server_error"))
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_hdfc.issue_token())
        with pytest.raises(BrokerUnavailable) as caught:
            await adapter.place_order(order("k-nomaster"))
    finally:
        await adapter.close()
    assert caught.value.sent is False
    assert fake_hdfc.calls("POST", "/orders/regular") == []


ERROR_CASES: list[tuple[Fault, type[BrokerError], str]] = [
    (Fault("expired"), SessionExpired, "HTTP 401"),
    (Fault("reject", status=200, message="Order rejected by OMS"), OrderRejected, "HTTP 200"),
    (Fault("reject", status=422, message="RMS: Margin Unavailable"), InsufficientFunds, "HTTP 422"),
    (Fault("reject", status=400, code=12001, message="MarginUnavailable"), InsufficientFunds, "12001"),
    (Fault("reject", status=400, code=1008, message="InvalidSymbol"), InvalidSymbol, "1008"),
    (Fault("reject", status=422, message="Invalid security id"), InvalidSymbol, "HTTP 422"),
    (Fault("reject", status=400, code=16000, message="Market is closed"), OrderRejected, "16000"),
    (Fault("reject", status=400, code=20100, message="RejectDueToExceededThrottleLimit"), RateLimitExceeded, "20100"),
    (Fault("reject", status=403, message="Forbidden"), OrderRejected, "HTTP 403"),
    (Fault("rate_limit", retry_after_s=2), RateLimitExceeded, "HTTP 429"),
    (Fault("server_error", status=502), BrokerUnavailable, "HTTP 502"),
]


@pytest.mark.parametrize("fault, error_type, broker_code", ERROR_CASES,
                         ids=[f"{c[0].kind}-{c[0].status}-{c[0].code}" for c in ERROR_CASES])
async def test_every_error_shape_is_mapped_and_keeps_the_raw_code(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc, fault: Fault, error_type: type[BrokerError], broker_code: str,
) -> None:
    fake_hdfc.fault("POST /orders/regular", fault)
    token = hdfc.sessions.token()
    with pytest.raises(BrokerError) as caught:
        await hdfc.place_order(order("k-err"))
    assert_mapped(caught.value, error_type, broker_code, fault.message, [token, API_KEY])


@pytest.mark.parametrize("status, body, error_type, sent", [
    (200, {"status": "success", "data": {"order_id": "1"}}, None, None),
    (200, {"status": "error", "message": "x"}, OrderRejected, True),
    (200, None, BrokerUnavailable, True),  # HTTP 200 but nothing readable: may have acted
    (200, {"data": {"order_id": "1"}}, OrderRejected, True),  # no "success": a failure
    (400, {"error": "Invalid session token"}, SessionExpired, False),
    (404, None, OrderRejected, True),
    (503, None, BrokerUnavailable, True),
])
def test_only_status_success_is_a_success(status: int, body: Any, error_type: type[BrokerError] | None,
                                          sent: bool | None) -> None:
    error = error_from_reply(HttpReply(status, {}, body, "<html>" if body is None else ""), "POST x")
    assert type(error) is error_type if error_type else error is None
    if error is not None:
        assert error.sent is sent


async def test_a_refused_token_mid_day_turns_the_session_into_login_required(hdfc: HdfcAdapter,
                                                                            fake_hdfc: FakeHdfc) -> None:
    await hdfc.place_order(order("k-before"))
    fake_hdfc.revoke_all()
    with pytest.raises(SessionExpired):
        await hdfc.place_order(order("k-after"))
    assert hdfc.session().state == "login_required"
    assert (await hdfc.verify_session()).state == "login_required"


async def test_cancel_and_modify_send_the_documented_requests(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc) -> None:
    placed = await hdfc.place_order(order("k-cm", qty=5))
    await hdfc.modify_order(placed.order_id, OrderChange("SL", qty=4, price=790.0, trigger_price=789.0))
    await hdfc.cancel_order(placed.order_id)
    (put,) = fake_hdfc.calls("PUT", f"/orders/regular/{placed.order_id}")
    assert put.query == {"api_key": API_KEY}
    assert put.body == {"quantity": 4, "order_type": "SL", "validity": "DAY", "price": 790.0,
                        "trigger_price": 789.0, "disclosed_quantity": 0}
    (delete,) = fake_hdfc.calls("DELETE", f"/orders/regular/{placed.order_id}")
    assert delete.raw_body == "" and delete.query == {"api_key": API_KEY}
    assert (await hdfc.order_status(placed.order_id)).state == "cancelled"
    with pytest.raises(OrderRejected) as again:
        await hdfc.cancel_order(placed.order_id)
    assert again.value.broker_code == "HTTP 422"
    with pytest.raises(OrderRejected) as missing:
        await hdfc.modify_order("99999", OrderChange("MARKET", qty=1))
    assert missing.value.broker_code == "8001"


@pytest.mark.parametrize("status, filled, state", [
    ("Open", 0, "open"), ("Open", 2, "partially_filled"), ("Traded", 5, "filled"), ("Rejected", 0, "rejected"),
    ("CANCELLED", 0, "cancelled"), ("PUT ORDER REQ RECEIVED", 0, "open"), ("Expired", 0, "expired"),
])
async def test_order_status_maps_the_book_vocabulary(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc, status: str,
                                                     filled: int, state: str) -> None:
    placed = await hdfc.place_order(order("k-st", qty=5))
    fake_hdfc.orders[0].status, fake_hdfc.orders[0].filled = status, filled
    result = await hdfc.order_status(placed.order_id)
    assert (result.order_id, result.state, result.filled_qty) == (placed.order_id, state, filled)


async def test_find_by_reference_number(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc) -> None:
    o = order("k-find")
    assert await hdfc.find_order_by_tag(o) is None
    placed = await hdfc.place_order(o)
    await hdfc.place_order(order("k-other"))
    assert await hdfc.find_order_by_tag(o) == placed.order_id


async def test_find_reports_an_order_the_broker_rejected(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc) -> None:
    fake_hdfc.available = 10.0
    o = order("k-rms", qty=100, price=500.0)
    await hdfc.place_order(o)  # InvestRight takes it; RMS rejects it in the book
    with pytest.raises(InsufficientFunds):
        await hdfc.find_order_by_tag(o)


async def test_when_the_book_does_not_echo_our_reference_a_lookalike_makes_the_lookup_inconclusive(
    hdfc: HdfcAdapter, fake_hdfc: FakeHdfc,
) -> None:
    fake_hdfc.echo_reference = False
    o = order("k-echo", qty=2)
    assert await hdfc.find_order_by_tag(o) is None  # nothing like it: safe to say "not found"
    await hdfc.place_order(o)
    with pytest.raises(OutcomeUnknown):
        await hdfc.find_order_by_tag(o)
    assert await hdfc.find_order_by_tag(order("k-echo-other", qty=3)) is None


async def test_funds_check_uses_the_margins_endpoint(fake_hdfc: FakeHdfc, tmp_path: Path) -> None:
    adapter = hdfc_adapter(fake_hdfc, tmp_path, funds_check=True)
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_hdfc.issue_token())
        fake_hdfc.available = 1_000.0
        with pytest.raises(InsufficientFunds) as caught:
            await adapter.place_order(order("k-funds", qty=2, price=800.0))
        await adapter.place_order(order("k-funds-ok", qty=1, price=800.0))
    finally:
        await adapter.close()
    assert caught.value.sent is False
    assert len(fake_hdfc.calls("GET", "/user/margins")) == 1
    assert len(fake_hdfc.calls("POST", "/orders/regular")) == 1


async def test_health_probe_is_the_funds_call(hdfc: HdfcAdapter, fake_hdfc: FakeHdfc) -> None:
    await hdfc.health_probe()
    (probe,) = fake_hdfc.calls("GET", "/user/margins")
    assert probe.query == {"api_key": API_KEY} and probe.headers["Authorization"] == hdfc.sessions.token()
