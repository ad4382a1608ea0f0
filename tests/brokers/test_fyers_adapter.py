"""The Fyers adapter against the fake Fyers server, through its real HTTP path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordod.brokers.base import OrderChange
from ordod.brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidSymbol,
    OrderRejected,
    RateLimitExceeded,
    SessionExpired,
)
from ordod.brokers.fyers.adapter import FyersAdapter
from tests.brokers.helpers import assert_mapped, fyers_adapter, order, wall_clock
from tests.fakes.fyers import APP_ID, APP_SECRET, FakeFyers
from tests.fakes.server import Fault

ORDER_SHAPES = [
    # order_type, price, trigger, Fyers type, limitPrice, stopPrice
    ("MARKET", None, None, 2, 0.0, 0.0),
    ("LIMIT", 500.5, None, 1, 500.5, 0.0),
    ("SL", 501.0, 500.0, 4, 501.0, 500.0),
    ("SL-M", None, 499.5, 3, 0.0, 499.5),
]


@pytest.mark.parametrize("side, fyers_side", [("BUY", 1), ("SELL", -1)])
@pytest.mark.parametrize("order_type, price, trigger, fyers_type, limit_price, stop_price", ORDER_SHAPES)
async def test_place_sends_the_documented_request(
    fyers: FyersAdapter, fake_fyers: FakeFyers, side: str, fyers_side: int, order_type: str,
    price: float | None, trigger: float | None, fyers_type: int, limit_price: float, stop_price: float,
) -> None:
    o = order("k-shape", side=side, order_type=order_type, price=price, trigger_price=trigger, qty=7,
              product="CNC", validity="IOC")
    placed = await fyers.place_order(o)

    (sent,) = fake_fyers.calls("POST", "/orders/sync")
    assert sent.path == "/api/v3/orders/sync"
    token = fyers.sessions.token()
    assert sent.headers["Authorization"] == f"{APP_ID}:{token}"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert sent.headers["version"] == "3"
    assert sent.body == {
        "symbol": "NSE:SBIN-EQ", "qty": 7, "type": fyers_type, "side": fyers_side, "productType": "CNC",
        "limitPrice": limit_price, "stopPrice": stop_price, "disclosedQty": 0, "validity": "IOC",
        "offlineOrder": False, "stopLoss": 0.0, "takeProfit": 0.0, "orderTag": o.tag,
    }
    types = {k: type(v) for k, v in sent.body.items()}
    assert types == {"symbol": str, "qty": int, "type": int, "side": int, "productType": str, "limitPrice": float,
                     "stopPrice": float, "disclosedQty": int, "validity": str, "offlineOrder": bool,
                     "stopLoss": float, "takeProfit": float, "orderTag": str}
    assert placed.order_id == fake_fyers.orders[0].id


async def test_success_is_mapped_with_the_brokers_code_and_message(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    placed = await fyers.place_order(order("k-ok"))
    assert placed.order_id == fake_fyers.orders[0].id
    assert placed.broker_code == "1101"
    assert placed.broker_message is not None and "Order submitted successfully" in placed.broker_message


async def test_order_tag_is_alphanumeric_and_stable_per_idempotency_key(fyers: FyersAdapter,
                                                                        fake_fyers: FakeFyers) -> None:
    await fyers.place_order(order("same-key"))
    await fyers.place_order(order("same-key"))
    await fyers.place_order(order("other-key"))
    tags = [r.body["orderTag"] for r in fake_fyers.calls("POST", "/orders/sync")]
    assert tags[0] == tags[1] != tags[2]
    assert all(t.isalnum() and 1 <= len(t) <= 30 for t in tags)


async def test_offline_order_switch_sends_amo(fake_fyers: FakeFyers, tmp_path: Path) -> None:
    adapter = fyers_adapter(fake_fyers, tmp_path, offline_order=True)
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_fyers.issue_token())
        await adapter.place_order(order("k-amo"))
    finally:
        await adapter.close()
    assert fake_fyers.calls("POST", "/orders/sync")[0].body["offlineOrder"] is True


ERROR_CASES: list[tuple[Fault, type[BrokerError], str]] = [
    (Fault("expired"), SessionExpired, "-8"),
    (Fault("reject", status=401, code=-15, message="Invalid token"), SessionExpired, "-15"),
    (Fault("reject", status=401, code=-16, message="Could not authenticate the user"), SessionExpired, "-16"),
    (Fault("reject", status=401, code=-17, message="Token invalid or expired"), SessionExpired, "-17"),
    (Fault("reject", code=-50, message="The input symbol is invalid."), InvalidSymbol, "-50"),
    (Fault("reject", code=-300, message="Invalid symbol"), InvalidSymbol, "-300"),
    (Fault("reject", code=-99, message="RED:Margin Shortfall:INR 1,012.00 Available:INR 3.50 for C-FY1234"),
     InsufficientFunds, "-99"),
    (Fault("reject", code=-99, message="RED:RULE:{Check circuit limit including square off order exceeds}"),
     OrderRejected, "-99"),
    (Fault("reject", code=-50, message="StopLoss not a multiple of tick size 0.0500"), OrderRejected, "-50"),
    (Fault("reject", code=-51, message="Invalid order id"), OrderRejected, "-51"),
    (Fault("reject", code=-392, message="Price not a multiple of tick size"), OrderRejected, "-392"),
    (Fault("reject", code=-352, message="Invalid App ID"), OrderRejected, "-352"),
    (Fault("reject", status=429, code=-429, message="Request limit reached"), RateLimitExceeded, "-429"),
    (Fault("reject", code=-353, message="API limit exceeded"), RateLimitExceeded, "-353"),
    (Fault("reject", code=-201, message="Connection error, try again"), BrokerUnavailable, "-201"),
    (Fault("server_error", status=503), BrokerUnavailable, "-96"),
    (Fault("no_ack"), BrokerTimeout, "201"),
]


@pytest.mark.parametrize("fault, error_type, broker_code", ERROR_CASES,
                         ids=[f"{c[0].kind}{c[0].code or c[0].status}" for c in ERROR_CASES])
async def test_every_documented_error_is_mapped_and_keeps_the_raw_code(
    fyers: FyersAdapter, fake_fyers: FakeFyers, fault: Fault, error_type: type[BrokerError], broker_code: str,
) -> None:
    fake_fyers.fault("POST /orders/sync", fault)
    token = fyers.sessions.token()
    with pytest.raises(BrokerError) as caught:
        await fyers.place_order(order("k-err"))
    assert_mapped(caught.value, error_type, broker_code, fault.message, [token, APP_SECRET])


async def test_ambiguous_errors_say_the_order_may_have_been_sent(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("server_error"), Fault("no_ack"))
    for _ in range(2):
        with pytest.raises((BrokerUnavailable, BrokerTimeout)) as caught:
            await fyers.place_order(order("k-amb"))
        assert caught.value.sent is True


async def test_429_carries_the_retry_after_hint(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("rate_limit", retry_after_s=1.5))
    with pytest.raises(RateLimitExceeded) as caught:
        await fyers.place_order(order("k-429"))
    assert caught.value.retry_after_s == pytest.approx(1.5)
    assert caught.value.sent is False


async def test_a_refused_token_mid_day_turns_the_session_into_login_required(fyers: FyersAdapter,
                                                                            fake_fyers: FakeFyers) -> None:
    await fyers.place_order(order("k-before"))
    assert fyers.session().state == "valid"
    fake_fyers.revoke_all()
    with pytest.raises(SessionExpired):
        await fyers.place_order(order("k-after"))
    assert fyers.session().state == "login_required"
    # Nothing more goes out until a new login.
    before = len(fake_fyers.requests)
    with pytest.raises(SessionExpired) as caught:
        await fyers.place_order(order("k-later"))
    assert caught.value.sent is False
    assert len(fake_fyers.requests) == before


async def test_unknown_exchange_is_invalid_symbol_before_any_call(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    with pytest.raises(InvalidSymbol) as caught:
        await fyers.place_order(order("k-sym", symbol="NYSE:IBM-EQ"))
    assert caught.value.sent is False
    assert fake_fyers.requests == []


async def test_cancel_and_modify_send_the_documented_requests(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    placed = await fyers.place_order(order("k-cm", qty=5))
    await fyers.modify_order(placed.order_id, OrderChange("LIMIT", qty=3, price=499.0))
    await fyers.cancel_order(placed.order_id)

    (patch,) = fake_fyers.calls("PATCH", "/orders/sync")
    assert patch.body == {"id": placed.order_id, "type": 1, "qty": 3, "limitPrice": 499.0, "stopPrice": 0.0}
    (delete,) = fake_fyers.calls("DELETE", "/orders/sync")
    assert delete.body == {"id": placed.order_id}
    assert delete.headers["Authorization"].startswith(f"{APP_ID}:")
    status = await fyers.order_status(placed.order_id)
    assert (status.state, fake_fyers.orders[0].body["qty"]) == ("cancelled", 3)


async def test_cancel_or_modify_of_a_dead_order_is_rejected(fyers: FyersAdapter) -> None:
    placed = await fyers.place_order(order("k-dead"))
    await fyers.cancel_order(placed.order_id)
    with pytest.raises(OrderRejected) as again:
        await fyers.cancel_order(placed.order_id)
    assert again.value.broker_code == "-161"
    with pytest.raises(OrderRejected):
        await fyers.modify_order(placed.order_id, OrderChange("MARKET", qty=1))
    with pytest.raises(OrderRejected):
        await fyers.cancel_order("99999999999999")


async def test_order_status_maps_the_book_row(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    placed = await fyers.place_order(order("k-st", qty=10))
    fake_fyers.orders[0].filled = 4
    status = await fyers.order_status(placed.order_id)
    assert (status.order_id, status.state, status.filled_qty) == (placed.order_id, "partially_filled", 4)
    fake_fyers.orders[0].status, fake_fyers.orders[0].filled = 2, 10
    assert (await fyers.order_status(placed.order_id)).state == "filled"
    (query,) = [r for r in fake_fyers.calls("GET", "/orders") if "id" in r.query][:1]
    assert query.query == {"id": placed.order_id}


async def test_find_by_tag_queries_the_book_with_the_client_prefix(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    o = order("k-find")
    assert await fyers.find_order_by_tag(o) is None
    placed = await fyers.place_order(o)
    await fyers.place_order(order("k-other"))
    assert await fyers.find_order_by_tag(o) == placed.order_id
    lookups = fake_fyers.calls("GET", "/orders")
    assert lookups[-1].query == {"order_tag": f"1:{o.tag}"}


async def test_find_by_tag_reports_an_order_the_broker_rejected(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    fake_fyers.available = 10.0
    o = order("k-rms", qty=100, price=500.0)
    with pytest.raises(InsufficientFunds):
        await fyers.place_order(o)
    with pytest.raises(InsufficientFunds):
        await fyers.find_order_by_tag(o)


async def test_funds_check_refuses_an_order_worth_more_than_available_without_sending(
    fake_fyers: FakeFyers, tmp_path: Path,
) -> None:
    clock = wall_clock()
    adapter = fyers_adapter(fake_fyers, tmp_path, clock=clock, funds_check=True, funds_cache_s=5)
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_fyers.issue_token())
        fake_fyers.available = 1_000.0
        await adapter.place_order(order("k-f1", qty=1, price=900.0))
        with pytest.raises(InsufficientFunds) as caught:
            await adapter.place_order(order("k-f2", qty=3, price=900.0))
        assert caught.value.sent is False
        await adapter.place_order(order("k-f3", order_type="MARKET", price=None, qty=1000))  # no price: not checked
        assert len(fake_fyers.calls("GET", "/funds")) == 1  # cached
        clock.advance(6)
        await adapter.place_order(order("k-f4", qty=1, price=10.0))
        assert len(fake_fyers.calls("GET", "/funds")) == 2
    finally:
        await adapter.close()
    assert len(fake_fyers.calls("POST", "/orders/sync")) == 3


async def test_client_side_limit_refuses_an_order_past_the_wait_bound_without_sending(
    fake_fyers: FakeFyers, tmp_path: Path,
) -> None:
    adapter = fyers_adapter(fake_fyers, tmp_path, clock=wall_clock(),
                            rate_limit={"orders_per_second": 2, "max_wait_s": 0})
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_fyers.issue_token())
        await adapter.place_order(order("k-r1"))
        await adapter.place_order(order("k-r2"))
        with pytest.raises(RateLimitExceeded) as caught:
            await adapter.place_order(order("k-r3"))
    finally:
        await adapter.close()
    assert caught.value.sent is False and caught.value.retry_after_s == pytest.approx(1.0)
    assert len(fake_fyers.calls("POST", "/orders/sync")) == 2


async def test_health_probe_and_session_verification_use_the_profile(fyers: FyersAdapter,
                                                                     fake_fyers: FakeFyers) -> None:
    await fyers.health_probe()
    assert (await fyers.verify_session()).state == "valid"
    fake_fyers.revoke_all()
    assert (await fyers.verify_session()).state == "login_required"
    assert len(fake_fyers.calls("GET", "/profile")) == 3
