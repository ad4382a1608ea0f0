"""The kill switch: global and per-broker scopes, durable across restarts, on at once, off with care."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ordo_shared.errors import KillSwitchHold, ValidationFailed
from ordo_shared.models import Isolation, KillSwitchState
from ordod.clock import ManualClock
from ordod.kill_switch import GLOBAL, KillSwitch, SqliteKillSwitchStore
from ordod.storage.database import CONTROL_SCHEMA, Database

HOLD_S = 60.0


class GatedStore:
    """The real SQLite store, except that each save waits until the test opens the gate."""

    def __init__(self, db: Database) -> None:
        self.inner = SqliteKillSwitchStore(db)
        self.gate = asyncio.Event()
        self.saving = asyncio.Event()

    async def load(self) -> dict[str, Isolation]:
        return await self.inner.load()

    async def save(self, scope: str, active: Isolation | None) -> None:
        self.saving.set()
        await self.gate.wait()
        await self.inner.save(scope, active)


async def started(db: Database, clock: ManualClock) -> KillSwitch:
    switch = KillSwitch(SqliteKillSwitchStore(db), clock, min_hold_s=HOLD_S)
    await switch.start()
    return switch


async def test_a_fresh_switch_is_off_and_blocks_nothing(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    assert switch.active is False
    assert switch.blocks("fyers") is False
    assert switch.state.active is False and switch.state.isolated == {}


async def test_turning_on_records_who_why_and_when(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    state = await switch.turn_on(GLOBAL, "fat finger", "alice")
    assert (state.active, state.reason, state.set_by, state.set_at) == (True, "fat finger", "alice", clock.now())
    assert switch.blocks("fyers") and switch.blocks("hdfc")


async def test_on_persists_across_a_new_switch_on_the_same_database(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    await switch.turn_on(GLOBAL, "market halt", "alice")
    clock.advance(5)
    restarted = await started(db, clock)
    assert restarted.active is True
    assert restarted.state == switch.state


async def test_off_persists_across_a_new_switch_on_the_same_database(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    await switch.turn_on(GLOBAL, "market halt", "alice")
    clock.advance(HOLD_S)
    await switch.turn_off(GLOBAL, "bob", confirm=True)
    restarted = await started(db, clock)
    assert restarted.active is False


async def test_turning_on_takes_effect_before_the_write_completes(db: Database, clock: ManualClock) -> None:
    store = GatedStore(db)
    switch = KillSwitch(store, clock, min_hold_s=HOLD_S)
    await switch.start()
    turning_on = asyncio.ensure_future(switch.turn_on(GLOBAL, "halt", "alice"))
    await store.saving.wait()
    assert switch.active is True
    assert await SqliteKillSwitchStore(db).load() == {}  # not on disk yet
    assert not turning_on.done()  # the caller is answered only once it is durable
    store.gate.set()
    await turning_on
    assert GLOBAL in await SqliteKillSwitchStore(db).load()


async def off_being_written(db: Database, clock: ManualClock
                            ) -> tuple[GatedStore, KillSwitch, asyncio.Future[KillSwitchState]]:
    """A switch that went on, and whose turning off is now held in the middle of its write."""
    store = GatedStore(db)
    switch = KillSwitch(store, clock, min_hold_s=0)
    await switch.start()
    store.gate.set()
    await switch.turn_on(GLOBAL, "halt", "alice")
    store.gate.clear()
    store.saving.clear()
    turning_off = asyncio.ensure_future(switch.turn_off(GLOBAL, "bob", confirm=True))
    await store.saving.wait()
    return store, switch, turning_off


async def test_turning_off_takes_effect_only_after_the_write(db: Database, clock: ManualClock) -> None:
    store, switch, turning_off = await off_being_written(db, clock)
    assert switch.active is True
    store.gate.set()
    await turning_off
    assert switch.active is False


async def test_an_on_that_arrives_while_an_off_is_being_written_wins(db: Database, clock: ManualClock) -> None:
    store, switch, turning_off = await off_being_written(db, clock)
    turning_on = asyncio.ensure_future(switch.turn_on(GLOBAL, "halt again", "carol"))
    await asyncio.sleep(0)
    assert switch.active is True
    store.gate.set()
    told = await asyncio.wait_for(turning_on, 1.0)
    assert told.active is True
    await turning_off
    assert switch.active is True
    assert GLOBAL in await SqliteKillSwitchStore(db).load()


async def test_listeners_hear_each_change_with_old_and_new_and_who(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    heard: list[tuple[str, bool, bool, str]] = []
    switch.on_change(lambda scope, old, new, by: heard.append((scope, old is not None, new is not None, by)))
    await switch.turn_on(GLOBAL, "halt", "alice")
    await switch.turn_on(GLOBAL, "again", "alice")  # already on: no change, nothing to hear
    clock.advance(HOLD_S)
    await switch.turn_off(GLOBAL, "bob", confirm=True)
    assert heard == [(GLOBAL, False, True, "alice"), (GLOBAL, True, False, "bob")]


async def test_a_failing_listener_neither_stops_the_switch_nor_the_other_listeners(
    db: Database, clock: ManualClock
) -> None:
    switch = await started(db, clock)
    heard: list[str] = []

    def broken(scope: str, old: Isolation | None, new: Isolation | None, by: str) -> None:
        raise RuntimeError("listener bug")

    switch.on_change(broken)
    switch.on_change(lambda scope, old, new, by: heard.append(scope))
    await switch.turn_on(GLOBAL, "halt", "alice")
    assert switch.active is True
    assert heard == [GLOBAL]


async def test_turning_on_again_keeps_the_original_reason_and_hold(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    first = await switch.turn_on(GLOBAL, "first", "alice")
    clock.advance(HOLD_S - 1)
    again = await switch.turn_on(GLOBAL, "second", "bob")
    assert (again.reason, again.set_at) == ("first", first.set_at)
    clock.advance(1)
    assert (await switch.turn_off(GLOBAL, "bob", confirm=True)).active is False


async def test_turning_off_without_confirm_is_refused_and_stays_on(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    await switch.turn_on(GLOBAL, "halt", "alice")
    clock.advance(HOLD_S * 2)
    with pytest.raises(ValidationFailed) as caught:
        await switch.turn_off(GLOBAL, "bob", confirm=False)
    assert caught.value.field == "confirm"
    assert switch.active is True


async def test_turning_off_during_the_minimum_hold_is_refused(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    await switch.turn_on(GLOBAL, "halt", "alice")
    clock.advance(HOLD_S - 1)
    with pytest.raises(KillSwitchHold) as caught:
        await switch.turn_off(GLOBAL, "bob", confirm=True)
    assert caught.value.http_status == 409
    assert "try again in 1 s" in caught.value.message
    assert switch.active is True


async def test_the_minimum_hold_survives_a_restart(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    await switch.turn_on(GLOBAL, "halt", "alice")
    clock.advance(10)
    restarted = await started(db, clock)
    with pytest.raises(KillSwitchHold):
        await restarted.turn_off(GLOBAL, "bob", confirm=True)
    clock.advance(HOLD_S)
    assert (await restarted.turn_off(GLOBAL, "bob", confirm=True)).active is False


async def test_isolating_one_broker_blocks_only_that_broker(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    state = await switch.turn_on("fyers", "bad fills", "alice")
    assert state.active is False
    assert set(state.isolated) == {"fyers"} and state.isolated["fyers"].reason == "bad fills"
    assert switch.blocks("fyers") is True and switch.isolated("fyers") is True
    assert switch.blocks("hdfc") is False


async def test_an_isolation_persists_and_is_lifted_on_its_own(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    await switch.turn_on("fyers", "bad fills", "alice")
    await switch.turn_on(GLOBAL, "halt", "alice")
    restarted = await started(db, clock)
    assert restarted.active and restarted.isolated("fyers")
    clock.advance(HOLD_S)
    state = await restarted.turn_off("fyers", "bob", confirm=True)
    assert state.active is True and state.isolated == {}


async def test_turning_off_a_scope_that_is_off_changes_nothing(db: Database, clock: ManualClock) -> None:
    switch = await started(db, clock)
    heard: list[str] = []
    switch.on_change(lambda scope, old, new, by: heard.append(scope))
    assert (await switch.turn_off(GLOBAL, "bob", confirm=True)).active is False
    assert heard == []


async def test_a_switch_an_older_daemon_kept_in_the_order_database_is_carried_over_once(tmp_path: Path) -> None:
    orders_db = await Database.open(tmp_path / "ordo.db")
    control_db = await Database.open(tmp_path / "control.db", schema=CONTROL_SCHEMA)
    try:
        clock = ManualClock()
        older = KillSwitch(SqliteKillSwitchStore(orders_db), clock, min_hold_s=0)
        await older.start()
        await older.turn_on(GLOBAL, "set before the upgrade", "ops")

        upgraded = KillSwitch(SqliteKillSwitchStore(control_db, legacy=orders_db), clock, min_hold_s=0)
        await upgraded.start()
        assert upgraded.active and upgraded.state.reason == "set before the upgrade"
        await upgraded.turn_off(GLOBAL, "ops", confirm=True)

        # The order database still says "on"; control.db has rows now and alone decides.
        restarted = KillSwitch(SqliteKillSwitchStore(control_db, legacy=orders_db), clock, min_hold_s=0)
        await restarted.start()
        assert not restarted.active
    finally:
        await orders_db.close()
        await control_db.close()
