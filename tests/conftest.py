from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from ordod.config import Config
from tests.harness import make_config

# CI replays the same fuzzing examples every run, so a red build is about the change under test;
# a developer's run explores new examples each time (and keeps the failures it finds).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def config(state_dir: Path) -> Config:
    return make_config(state_dir)
