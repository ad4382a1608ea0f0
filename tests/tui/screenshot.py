"""Regenerates docs/tui.svg: ``.venv/bin/python -m tests.tui.screenshot``.

The main screen on the scripted link (fixed data), just after an order that one broker
rejected, so the picture shows every panel with something in it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from textual.pilot import Pilot

from tests.tui.helpers import SIZE
from tests.tui.test_snapshots import partial_success_desk


async def main(target: Path) -> None:
    app, run_before = partial_success_desk()
    async with app.run_test(size=SIZE) as pilot:
        await run_before(pilot)
        await Pilot(app).pause()
        app.save_screenshot(filename=target.name, path=str(target.parent))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tui.svg")))
