"""Order refs stay unique at any rate: many orders share a millisecond under load."""

from __future__ import annotations

import re

from ordod.config import Config
from tests.harness import running_daemon


async def test_order_refs_never_repeat_within_a_millisecond_and_keep_their_shape(config: Config) -> None:
    async with running_daemon(config) as d:
        refs = [d.daemon.orchestrator.new_order_ref() for _ in range(50_000)]
    assert len(set(refs)) == len(refs)
    assert all(re.fullmatch(r"ORD-[0-9a-f]+-[0-9a-f]{6}", ref) for ref in refs)
    millis = [int(ref.split("-")[1], 16) for ref in refs]
    assert millis == sorted(millis)
