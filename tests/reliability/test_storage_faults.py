"""No order reaches a broker unless its reservation is on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.harness import make_config, running_daemon


async def test_database_that_cannot_be_written_refuses_the_order_and_sends_nothing(state_dir: Path) -> None:
    config = make_config(state_dir, daemon={"db_busy_timeout_ms": 100})
    async with running_daemon(config) as d:
        client = d.client()
        blocker = sqlite3.connect(state_dir / "ordo.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        try:
            refused = await client.place("k-locked")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert refused["ok"] is False
        assert (refused["error"]["code"], refused["error"]["http_status"]) == ("STORAGE_UNAVAILABLE", 503)
        assert "locked" in refused["error"]["message"]
        assert d.paper("fyers").calls.place_calls == 0 and d.paper("hdfc").calls.place_calls == 0

        # Nothing was reserved, so the same key goes through once the database is writable.
        retried = await client.place("k-locked")
    assert retried["ok"] is True and retried["status"] == "success" and retried["replayed"] is False


async def test_the_kill_switch_is_set_durably_while_the_order_database_is_locked(state_dir: Path) -> None:
    config = make_config(state_dir, daemon={"db_busy_timeout_ms": 100})
    async with running_daemon(config) as d:
        client = d.client()
        blocker = sqlite3.connect(state_dir / "ordo.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            switched = await client.call("kill_switch", active=True, reason="orders db stuck")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert switched["ok"] is True and switched["kill_switch"]["active"] is True
    async with running_daemon(config) as d:  # and it is still on after a restart
        state = await d.client().call("kill_switch")
    assert state["kill_switch"]["active"] is True and state["kill_switch"]["reason"] == "orders db stuck"
