"""``ordo cancel`` and ``ordo modify``: they act on a placed order at its brokers, with a key of
their own, and what the wire contract refuses is a usage error that sends nothing."""

from __future__ import annotations

from ordod.config import Config
from tests.cli.runner import LIMIT_ORDER, against, ordo
from tests.harness import running_daemon


async def placed_ref(d_flags: list[str]) -> str:
    run = await ordo(*d_flags, "--json", "place", *LIMIT_ORDER)
    [reply] = run.json_lines()
    return str(reply["order_ref"])


async def test_a_cancel_reaches_every_broker_holding_the_order_and_exits_0(config: Config) -> None:
    async with running_daemon(config) as d:
        ref = await placed_ref(against(d))
        run = await ordo(*against(d), "--json", "cancel", ref, "--key", "cli-cancel-1")
        again = await ordo(*against(d), "--json", "cancel", ref, "--key", "cli-cancel-1")
        order = await d.client().call("get_order", order_ref=ref)
    [reply] = run.json_lines()
    assert (run.code, reply["action"], reply["status"]) == (0, "cancel", "success"), run.stderr
    assert {r["broker_id"] for r in reply["results"]} == {"fyers", "hdfc"}
    assert again.code == 0 and again.json_lines()[0]["replayed"] is True, "the same key is done once"
    assert {b["state"] for b in order["order"]["tracking"]} == {"cancelled"}


async def test_a_modify_at_one_broker_changes_the_price_there_only(config: Config) -> None:
    async with running_daemon(config) as d:
        ref = await placed_ref(against(d))
        run = await ordo(*against(d), "modify", ref, "--price", "501.25", "--broker", "hdfc")
        order = await d.client().call("get_order", order_ref=ref)
    assert run.code == 0, run.stderr
    prices = {b["broker_id"]: b["price"] for b in order["order"]["tracking"]}
    assert prices == {"fyers": 500.5, "hdfc": 501.25}


async def test_a_modify_that_changes_nothing_is_a_usage_error_and_sends_nothing(config: Config) -> None:
    async with running_daemon(config) as d:
        ref = await placed_ref(against(d))
        audit_before = (await d.client().call("audit_replay", since=0, limit=5000))["last_seq"]
        run = await ordo(*against(d), "modify", ref)
        audit_after = (await d.client().call("audit_replay", since=0, limit=5000))["last_seq"]
    assert run.code == 64 and "usage:" in run.stderr
    assert audit_after == audit_before
