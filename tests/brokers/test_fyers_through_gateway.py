"""The ambiguous outcomes, through the real gateway and the real Fyers adapter: whatever
happens on the wire, the fake broker ends up with exactly one order (or none, when the
outcome is honestly unknown)."""

from __future__ import annotations

from pathlib import Path

from ordod.brokers.fyers.adapter import FyersAdapter
from tests.brokers.helpers import RecordingSleep, fyers_adapter, gateway, order, wall_clock
from tests.fakes.fyers import FakeFyers
from tests.fakes.server import Fault


def placed(fake: FakeFyers) -> int:
    return len(fake.orders)


async def test_read_timeout_after_the_broker_accepted_finds_the_order_and_places_no_second(
    fyers: FyersAdapter, fake_fyers: FakeFyers,
) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("accept_then_hang"))
    result = await gateway(fyers, call_timeout_s=0.3).place(order("k-hang-accepted"), halted=lambda: False)
    assert (result.status, result.attempts) == ("success", 1)
    assert placed(fake_fyers) == 1
    assert result.order_id == fake_fyers.orders[0].id
    assert "found by tag" in (result.broker_message or "")
    assert len(fake_fyers.calls("POST", "/orders/sync")) == 1


async def test_timeout_where_the_broker_never_booked_it_is_retried_once_and_placed_once(
    fyers: FyersAdapter, fake_fyers: FakeFyers,
) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("hang"))
    result = await gateway(fyers, call_timeout_s=0.3).place(order("k-hang-lost"), halted=lambda: False)
    assert (result.status, result.attempts) == ("success", 2)
    assert placed(fake_fyers) == 1
    assert len(fake_fyers.calls("POST", "/orders/sync")) == 2
    assert len(fake_fyers.calls("GET", "/orders")) == 1  # one lookup, between the two attempts


async def test_code_201_leads_to_a_lookup_and_the_booked_order_is_the_result(
    fyers: FyersAdapter, fake_fyers: FakeFyers,
) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("no_ack", book=True))
    result = await gateway(fyers).place(order("k-201"), halted=lambda: False)
    assert (result.status, result.attempts, placed(fake_fyers)) == ("success", 1, 1)
    assert result.order_id == fake_fyers.orders[0].id
    assert fake_fyers.calls("GET", "/orders")[0].query["order_tag"].startswith("1:ordo")


async def test_code_201_with_nothing_booked_is_retried_after_the_lookup(fyers: FyersAdapter,
                                                                      fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("no_ack", book=False))
    result = await gateway(fyers).place(order("k-201-lost"), halted=lambda: False)
    assert (result.status, result.attempts, placed(fake_fyers)) == ("success", 2, 1)
    assert len(fake_fyers.calls("GET", "/orders")) == 1


async def test_connection_dropped_after_sending_is_resolved_by_lookup(fyers: FyersAdapter,
                                                                     fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("reset"))
    result = await gateway(fyers).place(order("k-reset"), halted=lambda: False)
    assert (result.status, result.attempts, placed(fake_fyers)) == ("success", 1, 1)


async def test_5xx_on_place_is_looked_up_before_any_retry(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("server_error", status=502, book=True))
    booked = await gateway(fyers).place(order("k-5xx-booked"), halted=lambda: False)
    fake_fyers.fault("POST /orders/sync", Fault("server_error", status=502, book=False))
    lost = await gateway(fyers).place(order("k-5xx-lost"), halted=lambda: False)
    assert (booked.status, booked.attempts) == ("success", 1)
    assert (lost.status, lost.attempts) == ("success", 2)
    assert placed(fake_fyers) == 2


async def test_lookup_impossible_is_outcome_unknown_and_never_retried(fyers: FyersAdapter,
                                                                      fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("no_ack", book=True))
    fake_fyers.fault("GET /orders", Fault("server_error", status=500))
    result = await gateway(fyers).place(order("k-unknown"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "OUTCOME_UNKNOWN", 1)
    assert result.broker_code == "201"
    assert len(fake_fyers.calls("POST", "/orders/sync")) == 1


async def test_found_but_rejected_by_the_broker_is_that_rejection(fyers: FyersAdapter, fake_fyers: FakeFyers) -> None:
    fake_fyers.available = 10.0
    fake_fyers.fault("POST /orders/sync", Fault("accept_then_hang"))
    result = await gateway(fyers, call_timeout_s=0.3).place(order("k-rej", qty=100), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "INSUFFICIENT_FUNDS", 1)
    assert placed(fake_fyers) == 1
    assert "Margin Shortfall" in (result.broker_message or "")


async def test_429_is_retried_no_sooner_than_retry_after(fake_fyers: FakeFyers, tmp_path: Path) -> None:
    clock = wall_clock()
    sleep = RecordingSleep(clock)
    adapter = fyers_adapter(fake_fyers, tmp_path, clock=clock)
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_fyers.issue_token())
        fake_fyers.fault("POST /orders/sync", Fault("rate_limit", retry_after_s=1.5))
        result = await gateway(adapter, sleep=sleep, clock=clock).place(order("k-429"), halted=lambda: False)
    finally:
        await adapter.close()
    assert (result.status, result.attempts, placed(fake_fyers)) == ("success", 2, 1)
    assert len(sleep.waits) == 1 and sleep.waits[0] >= 1.5
    assert fake_fyers.calls("GET", "/orders") == []  # a 429 is certain: no lookup needed


async def test_429_whose_wait_would_pass_the_order_deadline_is_not_retried(fyers: FyersAdapter,
                                                                          fake_fyers: FakeFyers) -> None:
    fake_fyers.fault("POST /orders/sync", Fault("rate_limit", retry_after_s=60))
    result = await gateway(fyers, order_deadline_s=5).place(order("k-429-late"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "RATE_LIMIT_EXCEEDED", 1)
    assert placed(fake_fyers) == 0


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


async def test_session_expired_mid_order_is_reported_and_not_retried(fyers: FyersAdapter,
                                                                     fake_fyers: FakeFyers) -> None:
    fake_fyers.revoke_all()
    result = await gateway(fyers).place(order("k-exp"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "SESSION_EXPIRED", 1)
    assert result.broker_code == "-8"
    assert fyers.session().state == "login_required"
