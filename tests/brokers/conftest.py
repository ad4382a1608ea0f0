from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ordod.brokers.fyers.adapter import FyersAdapter
from ordod.brokers.hdfc.adapter import HdfcAdapter
from tests.brokers.helpers import fyers_adapter, hdfc_adapter
from tests.fakes.fyers import FakeFyers
from tests.fakes.hdfc import FakeHdfc


@pytest.fixture
async def fake_fyers() -> AsyncIterator[FakeFyers]:
    fake = FakeFyers()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def fyers(fake_fyers: FakeFyers, tmp_path: Path) -> AsyncIterator[FyersAdapter]:
    """A Fyers adapter on the fake, logged in."""
    adapter = fyers_adapter(fake_fyers, tmp_path)
    await adapter.start()
    await adapter.sessions.adopt(fake_fyers.issue_token())
    yield adapter
    await adapter.close()


@pytest.fixture
async def fake_hdfc() -> AsyncIterator[FakeHdfc]:
    fake = FakeHdfc()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def hdfc(fake_hdfc: FakeHdfc, tmp_path: Path) -> AsyncIterator[HdfcAdapter]:
    """An HDFC adapter on the fake, logged in, its security master loaded."""
    adapter = hdfc_adapter(fake_hdfc, tmp_path)
    await adapter.start()
    await adapter.sessions.adopt(fake_hdfc.issue_token())
    await adapter.master.get()
    yield adapter
    await adapter.close()
