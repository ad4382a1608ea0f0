"""The ambiguous outcomes, through the real gateway and each real adapter against its fake
broker: whatever happens on the wire, the broker ends up with exactly one order, or the
result is an honest OUTCOME_UNKNOWN and nothing is sent again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ordod.brokers.common.adapter import HttpBrokerAdapter
from tests.brokers.helpers import RecordingSleep, fyers_adapter, gateway, hdfc_adapter, order, wall_clock
from tests.fakes.fyers import FakeFyers
from tests.fakes.hdfc import FakeHdfc
from tests.fakes.server import FakeServer, Fault


@dataclass
class Venue:
    """One broker as these tests see it: the adapter, its fake, and where orders land."""

    adapter: HttpBrokerAdapter[Any]
    fake: FakeServer
    place: str

    def order_ids(self) -> list[str]:
        if isinstance(self.fake, FakeFyers):
            return [o.id for o in self.fake.orders]
        assert isinstance(self.fake, FakeHdfc)
        return [o.order_id for o in self.fake.orders]

    def posts(self) -> int:
        method, path = self.place.split(" ")
        return len(self.fake.calls(method, path))

    def lookups(self) -> int:
        return len(self.fake.calls("GET", "/orders"))

    def make_poor(self) -> None:
        if isinstance(self.fake, FakeFyers | FakeHdfc):
            self.fake.available = 10.0


@pytest.fixture(params=["fyers", "hdfc"])
def venue(request: pytest.FixtureRequest) -> Venue:
    if request.param == "fyers":
        return Venue(request.getfixturevalue("fyers"), request.getfixturevalue("fake_fyers"), "POST /orders/sync")
    return Venue(request.getfixturevalue("hdfc"), request.getfixturevalue("fake_hdfc"), "POST /orders/regular")


async def test_read_timeout_after_the_broker_accepted_finds_the_order_and_places_no_second(venue: Venue) -> None:
    venue.fake.fault(venue.place, Fault("accept_then_hang"))
    result = await gateway(venue.adapter).place(order("k-hang-accepted"), halted=lambda: False)
    assert (result.status, result.attempts, venue.posts()) == ("success", 1, 1)
    assert [result.order_id] == venue.order_ids()
    assert "found by tag" in (result.broker_message or "")


async def test_timeout_where_the_broker_never_booked_it_is_retried_once_and_placed_once(venue: Venue) -> None:
    venue.fake.fault(venue.place, Fault("hang"))
    result = await gateway(venue.adapter).place(order("k-hang-lost"), halted=lambda: False)
    assert (result.status, result.attempts, venue.posts(), venue.lookups()) == ("success", 2, 2, 1)
    assert [result.order_id] == venue.order_ids()


async def test_the_lookup_waits_the_configured_delay_first(venue: Venue) -> None:
    sleep = RecordingSleep()
    venue.fake.fault(venue.place, Fault("server_error", status=502, book=True))
    result = await gateway(venue.adapter, sleep=sleep, lookup_delay_ms=250).place(order("k-delay"),
                                                                                  halted=lambda: False)
    assert (result.status, len(venue.order_ids())) == ("success", 1)
    assert sleep.waits == [0.25]


async def test_connection_dropped_after_sending_is_resolved_by_lookup(venue: Venue) -> None:
    venue.fake.fault(venue.place, Fault("reset"))
    result = await gateway(venue.adapter).place(order("k-reset"), halted=lambda: False)
    assert (result.status, result.attempts, len(venue.order_ids())) == ("success", 1, 1)


@pytest.mark.parametrize("booked, attempts", [(True, 1), (False, 2)])
async def test_5xx_on_place_is_looked_up_before_any_retry(venue: Venue, booked: bool, attempts: int) -> None:
    venue.fake.fault(venue.place, Fault("server_error", status=502, book=booked))
    result = await gateway(venue.adapter).place(order("k-5xx"), halted=lambda: False)
    assert (result.status, result.attempts, venue.lookups(), len(venue.order_ids())) == ("success", attempts, 1, 1)


async def test_lookup_impossible_is_outcome_unknown_and_never_retried(venue: Venue) -> None:
    venue.fake.fault(venue.place, Fault("server_error", status=502, book=True))
    venue.fake.fault("GET /orders", Fault("reject", status=500))
    result = await gateway(venue.adapter).place(order("k-unknown"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts, venue.posts()) == ("error", "OUTCOME_UNKNOWN", 1, 1)
    assert result.broker_code  # the raw code of the failure that made it ambiguous


async def test_found_but_rejected_by_the_broker_is_that_rejection(venue: Venue) -> None:
    venue.make_poor()
    venue.fake.fault(venue.place, Fault("accept_then_hang"))
    result = await gateway(venue.adapter).place(order("k-rej", qty=100), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts, venue.posts()) == ("error", "INSUFFICIENT_FUNDS", 1, 1)
    assert len(venue.order_ids()) == 1


async def test_429_is_retried_no_sooner_than_retry_after(venue: Venue, tmp_path: Path) -> None:
    clock = wall_clock()
    sleep = RecordingSleep(clock)
    # The adapter's own limiter also honours Retry-After: it must share the gateway's virtual time.
    adapter = (fyers_adapter(venue.fake, tmp_path, clock=clock) if isinstance(venue.fake, FakeFyers)
               else hdfc_adapter(venue.fake, tmp_path, clock=clock))  # type: ignore[arg-type]
    await adapter.start()
    try:
        await adapter.sessions.adopt(venue.fake.issue_token())  # type: ignore[attr-defined]
        venue.fake.fault(venue.place, Fault("rate_limit", retry_after_s=1.5))
        result = await gateway(adapter, sleep=sleep, clock=clock).place(order("k-429"), halted=lambda: False)
    finally:
        await adapter.close()
    assert (result.status, result.attempts, venue.posts(), len(venue.order_ids())) == ("success", 2, 2, 1)
    assert len(sleep.waits) == 1 and sleep.waits[0] >= 1.5
    assert venue.lookups() == 0  # a 429 is certain: no lookup needed


async def test_429_whose_wait_would_pass_the_order_deadline_is_not_retried(venue: Venue) -> None:
    venue.fake.fault(venue.place, Fault("rate_limit", retry_after_s=60))
    result = await gateway(venue.adapter, order_deadline_s=5).place(order("k-429-late"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts, venue.order_ids()) == (
        "error", "RATE_LIMIT_EXCEEDED", 1, [])


async def test_session_expired_mid_order_is_reported_and_not_retried(venue: Venue) -> None:
    venue.fake.revoke_all()
    result = await gateway(venue.adapter).place(order("k-exp"), halted=lambda: False)
    assert (result.status, result.error_code, result.attempts) == ("error", "SESSION_EXPIRED", 1)
    assert venue.adapter.session().state == "login_required"


async def test_an_order_waiting_its_turn_when_the_kill_switch_goes_on_is_never_sent(
    fake_fyers: FakeFyers, tmp_path: Path,
) -> None:
    switch = {"on": False}

    async def wait_while_the_desk_hits_the_switch(seconds: float) -> None:
        switch["on"] = True

    adapter = fyers_adapter(fake_fyers, tmp_path, clock=wall_clock(), sleep=wait_while_the_desk_hits_the_switch,
                            rate_limit={"orders_per_second": 1, "max_wait_s": 5})
    await adapter.start()
    try:
        await adapter.sessions.adopt(fake_fyers.issue_token())
        first = await gateway(adapter).place(order("k-first"), halted=lambda: switch["on"])
        second = await gateway(adapter).place(order("k-second"), halted=lambda: switch["on"])
    finally:
        await adapter.close()
    assert first.status == "success"
    assert (second.status, second.error_code, second.attempts) == ("error", "KILL_SWITCH_ACTIVE", 1)
    assert len(fake_fyers.calls("POST", "/orders/sync")) == 1
