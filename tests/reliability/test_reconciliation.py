"""Unknown outcomes are never guessed: they are answered as OUTCOME_UNKNOWN until the broker
can be asked, and then the stored answer is corrected in the background."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ordod.brokers.base import BrokerOrder, PlacedOrder
from ordod.brokers.errors import BrokerTimeout, BrokerUnavailable
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import SystemClock
from ordod.daemon import Daemon
from tests.harness import make_config, running_daemon


class LostAnswerBroker(PaperBroker):
    """Accepts every order, but the answer never arrives; its order book can be switched off."""

    lookups_down = True

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        await super().place_order(order)
        raise BrokerTimeout("read timeout after sending")

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        if self.lookups_down:
            raise BrokerUnavailable("order book unreachable", sent=False)
        return await super().find_order_by_tag(order)


async def test_unknown_outcome_is_reported_then_reconciled_to_the_brokers_truth(state_dir: Path) -> None:
    config = make_config(state_dir, daemon={"reconcile_interval_s": 0.1})
    hdfc = LostAnswerBroker("hdfc", PaperKnobs(latency_ms=0), SystemClock())

    def use_lossy_hdfc(daemon: Daemon) -> None:
        daemon.adapters["hdfc"] = hdfc

    async with running_daemon(config, prepare=use_lossy_hdfc) as d:
        client = d.client()
        first = await client.place("k-unknown")
        by_broker = {r["broker_id"]: r for r in first["results"]}
        assert by_broker["hdfc"]["error_code"] == "OUTCOME_UNKNOWN"
        assert by_broker["hdfc"]["attempts"] == 1, "an unknown outcome is never retried blindly"
        assert first["status"] == "partial_success"
        await asyncio.sleep(0.3)
        still = await client.place("k-unknown")
        assert {r["broker_id"]: r["error_code"] for r in still["results"]}["hdfc"] == "OUTCOME_UNKNOWN"

        hdfc.lookups_down = False
        for _ in range(50):
            await asyncio.sleep(0.05)
            record = (await client.call("get_order", order_ref=first["order_ref"]))["order"]
            if record["status"] == "success":
                break
        else:
            raise AssertionError("the unknown outcome was never reconciled")
        replay = await client.place("k-unknown")
        events = (await client.call("audit_replay", since=0, limit=500))["events"]

    hdfc_result = {r["broker_id"]: r for r in replay["results"]}["hdfc"]
    assert (hdfc_result["status"], hdfc_result["order_id"]) == ("success", hdfc.book.orders()[0].order_id)
    assert replay["status"] == "success" and replay["replayed"] is True
    assert len(hdfc.book) == 1
    assert any(e["type"] == "order.reconciled" and e["broker_id"] == "hdfc" for e in events)
