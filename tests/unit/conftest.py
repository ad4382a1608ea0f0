"""Fixtures shared by the unit tests: a hand-moved clock and a real SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ordod.clock import ManualClock
from ordod.storage.database import Database


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "ordo.db")
    try:
        yield database
    finally:
        await database.close()
