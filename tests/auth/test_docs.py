"""The configuration examples in the security and HTTP docs are valid configurations."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from ordod.config import config_from_mapping

DOCS = Path(__file__).resolve().parents[2] / "docs"
TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.DOTALL)


def toml_examples() -> list[tuple[str, str]]:
    return [(doc.name, block) for doc in sorted(DOCS.glob("*.md")) for block in TOML_BLOCK.findall(doc.read_text())]


def test_the_docs_have_configuration_examples() -> None:
    assert len(toml_examples()) >= 5


@pytest.mark.parametrize(("doc", "block"), toml_examples())
def test_each_configuration_example_is_accepted(doc: str, block: str) -> None:
    config_from_mapping(tomllib.loads(block))
