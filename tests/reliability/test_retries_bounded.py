"""With a broker failing every call, retries stay bounded and an open breaker keeps every
further call away from it until a half-open probe."""

from __future__ import annotations

from pathlib import Path

from tests.harness import make_config, running_daemon


async def test_failing_broker_gets_at_most_max_attempts_per_order_and_nothing_once_open(state_dir: Path) -> None:
    config = make_config(
        state_dir,
        brokers={"hdfc": {"reject_code": "BROKER_UNAVAILABLE", "fail_rate": 0.0}},
        retry={"max_attempts": 3},
        breaker={"failure_threshold": 7, "reset_timeout_s": 3600},
    )
    async with running_daemon(config) as d:
        client = d.client()
        hdfc = d.paper("hdfc")
        per_order: list[int] = []
        for i in range(12):
            before = hdfc.calls.place_calls
            reply = await client.place(f"k-bounded-{i}")
            per_order.append(hdfc.calls.place_calls - before)
            result = {r["broker_id"]: r for r in reply["results"]}["hdfc"]
            assert result["attempts"] == per_order[-1]
        breaker = d.daemon.gateways["hdfc"].breaker.state

    # BROKER_UNAVAILABLE after sending is ambiguous: looked up, not found, then retried.
    assert all(n <= 3 for n in per_order)
    assert sum(per_order) == 7, "calls stop exactly when the breaker opens"
    assert per_order[3:] == [0] * 9
    assert breaker == "open"
    assert hdfc.calls.probes == 0, "no probe before the reset timeout"
