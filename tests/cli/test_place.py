"""``ordo place``: exit codes by outcome, JSON lines, and retries that reuse the key."""

from __future__ import annotations

from pathlib import Path

from ordod.config import Config
from tests.cli.runner import LIMIT_ORDER, against, ordo
from tests.harness import make_config, running_daemon


async def test_an_order_placed_everywhere_prints_the_results_and_exits_0(config: Config) -> None:
    async with running_daemon(config) as d:
        run = await ordo(*against(d), "place", *LIMIT_ORDER, "--key", "cli-ok")
    assert run.code == 0, run.stderr
    head, header, *rows = run.stdout.splitlines()
    assert head.startswith("ORD-") and "success (200)" in head and "key=cli-ok" in head
    assert header.split()[:3] == ["BROKER", "STATUS", "ORDER"]
    assert sorted(r.split()[:2] for r in rows) == [["fyers", "success"], ["hdfc", "success"]]


async def test_json_prints_the_daemons_reply_as_one_line(config: Config) -> None:
    async with running_daemon(config) as d:
        run = await ordo(*against(d), "--json", "place", *LIMIT_ORDER, "--broker", "hdfc")
    [reply] = run.json_lines()
    assert (run.code, reply["ok"], reply["status"]) == (0, True, "success")
    assert [r["broker_id"] for r in reply["results"]] == ["hdfc"]
    assert reply["idempotency_key"].startswith("ordo-cli-")


async def test_partial_success_exits_2_and_all_brokers_failing_exits_1(state_dir: Path) -> None:
    partial = make_config(state_dir / "p", brokers={"hdfc": {"reject_code": "ORDER_REJECTED"}})
    failed = make_config(state_dir / "f", brokers={"fyers": {"reject_code": "ORDER_REJECTED"},
                                                   "hdfc": {"reject_code": "INSUFFICIENT_FUNDS"}})
    async with running_daemon(partial) as d:
        some = await ordo(*against(d), "place", *LIMIT_ORDER)
    async with running_daemon(failed) as d:
        none = await ordo(*against(d), "place", *LIMIT_ORDER)
    assert some.code == 2 and "partial_success (207)" in some.stdout and "ORDER_REJECTED" in some.stdout
    assert none.code == 1 and "failed (502)" in none.stdout and "INSUFFICIENT_FUNDS" in none.stdout


async def test_a_refusal_exits_1_with_its_code_and_json_gets_the_error_reply(config: Config) -> None:
    async with running_daemon(config) as d:
        await d.client().call("kill_switch", active=True, reason="cli test")
        human = await ordo(*against(d), "place", *LIMIT_ORDER)
        machine = await ordo(*against(d), "--json", "place", *LIMIT_ORDER)
    assert human.code == 1 and human.stdout == ""
    assert "KILL_SWITCH_ACTIVE: kill switch is active: cli test" in human.stderr
    [reply] = machine.json_lines()
    assert (machine.code, reply["ok"], reply["error"]["code"]) == (1, False, "KILL_SWITCH_ACTIVE")


async def test_an_invalid_order_is_a_usage_error_and_nothing_is_sent(config: Config) -> None:
    async with running_daemon(config) as d:
        no_price = await ordo(*against(d), "place", "--symbol", "NSE:SBIN-EQ", "--side", "BUY", "--qty", "1",
                              "--type", "LIMIT")
        bad_side = await ordo(*against(d), "place", *LIMIT_ORDER[:2], "--side", "HOLD", *LIMIT_ORDER[4:])
        sent = d.paper("fyers").calls.place_calls
    assert no_price.code == 64 and "price is required for LIMIT orders" in no_price.stderr
    assert bad_side.code == 64 and "invalid choice: 'HOLD'" in bad_side.stderr
    assert sent == 0


async def test_the_same_key_twice_is_answered_from_the_store(config: Config) -> None:
    async with running_daemon(config) as d:
        first = await ordo(*against(d), "--json", "place", *LIMIT_ORDER, "--key", "cli-twice")
        second = await ordo(*against(d), "place", *LIMIT_ORDER, "--key", "cli-twice")
        book = len(d.paper("fyers").book)
    assert first.code == second.code == 0
    assert first.json_lines()[0]["order_ref"] in second.stdout
    assert "not placed again" in second.stdout
    assert book == 1


async def test_a_timeout_is_retried_with_the_same_key_and_places_the_order_once(state_dir: Path) -> None:
    slow = make_config(state_dir, brokers={"fyers": {"latency_ms": 1200}, "hdfc": {"latency_ms": 1200}})
    async with running_daemon(slow) as d:
        run = await ordo(*against(d), "--timeout", "0.4", "--json", "place", *LIMIT_ORDER,
                         "--key", "cli-slow", "--attempts", "20")
        orders = (await d.client().call("list_orders"))["orders"]
        books = (len(d.paper("fyers").book), len(d.paper("hdfc").book))
    assert run.code == 0, run.stderr
    assert "retrying with the same key cli-slow" in run.stderr
    [reply] = run.json_lines()
    assert reply["idempotency_key"] == "cli-slow" and reply["status"] == "success"
    assert [o["idempotency_key"] for o in orders] == ["cli-slow"]
    assert books == (1, 1)


async def test_no_daemon_exits_3_after_its_attempts_and_names_the_key_to_check() -> None:
    run = await ordo("--endpoint", "tcp://127.0.0.1:9", "--timeout", "0.2", "place", *LIMIT_ORDER,
                     "--key", "cli-nobody", "--attempts", "2")
    assert run.code == 3
    assert "no answer after 2 attempts" in run.stderr
    assert "ordo get --key cli-nobody" in run.stderr
