from __future__ import annotations

from pathlib import Path

import pytest

from ordod.config import Config
from tests.harness import make_config


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def config(state_dir: Path) -> Config:
    return make_config(state_dir)
