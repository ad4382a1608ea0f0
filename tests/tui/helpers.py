"""Driving the desk in tests: a link to an in-process daemon, fast options, and waiting for
the screen to show something (a deadline for behaviour, never a performance figure)."""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from ordo_shared.client_config import ClientSettings
from ordo_tui.app import OrdoApp, make_app
from ordo_tui.controller import DeskOptions
from ordo_tui.link import DaemonLink, DeskLink, LinkTimeouts
from tests.harness import RunningDaemon

SIZE = (160, 48)
FAST = DeskOptions(heartbeat_s=0.2, backoff_initial_s=0.05, backoff_max_s=0.3, flush_s=0.05,
                   orders_min_interval_s=0.05, orders_flood_interval_s=0.2)


def link_to(d: RunningDaemon, timeouts: LinkTimeouts | None = None) -> DaemonLink:
    settings = ClientSettings(d.daemon.rep_endpoint, d.daemon.pub_endpoint, d.token)
    return DaemonLink(settings, timeouts or LinkTimeouts(heartbeat_s=0.5, control_s=2, query_s=2, order_s=5))


def counting_keys(prefix: str = "test-key") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def desk(link: DeskLink, **options: Any) -> OrdoApp:
    return make_app(link, replace(FAST, **options))


@asynccontextmanager
async def desk_on(d: RunningDaemon, timeouts: LinkTimeouts | None = None,
                  **options: Any) -> AsyncIterator[tuple[OrdoApp, Pilot[int]]]:
    """The desk on a running daemon, connected and showing broker health."""
    link = link_to(d, timeouts)
    app = desk(link, **options)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot)
            yield app, pilot
    finally:
        link.close()


async def wait_until(pilot: Pilot[int], predicate: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the desk never showed: {what}")
        await pilot.pause(0.05)


async def connected(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, OrdoApp)
    await wait_until(pilot, lambda: app.controller.status.state == "connected" and app.desk.health.snapshot,
                     "connected with broker health")


async def type_into(pilot: Pilot[int], selector: str, text: str, keys: bool) -> None:
    """Click the field and type: key by key (``keys``), or as one paste, which is quicker
    (each simulated key press waits for the app to go idle)."""
    await pilot.click(selector)
    if keys:
        await pilot.press(*text)
    else:
        pilot.app.screen.query_one(selector, Input).insert_text_at_cursor(text)
        await pilot.pause()


async def fill_order(pilot: Pilot[int], symbol: str = "NSE:SBIN-EQ", qty: str = "10",
                     order_type: str = "MARKET", price: str = "", keys: bool = False) -> None:
    app = pilot.app
    assert isinstance(app, OrdoApp)
    await type_into(pilot, "#symbol", symbol, keys)
    await type_into(pilot, "#qty", qty, keys)
    if order_type != "MARKET":
        app.desk.form.query_one("#order_type", Select).value = order_type
        await pilot.pause()
    if price:
        await type_into(pilot, "#price", price, keys)


async def send_order(pilot: Pilot[int]) -> None:
    """ctrl+s, then confirm the fan-out dialog."""
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmOrder", "the confirmation")
    await pilot.press("enter")


def shown_text(widget: Static, width: int = 100) -> str:
    """What a panel shows, as plain text (tables and all)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.export_text()


def blotter_lines(app: OrdoApp, order_ref: str) -> list[str]:
    """The blotter's "at the brokers" cell for an order: one line per broker."""
    return str(app.desk.blotter.get_row(order_ref)[-1]).splitlines()


def notices(app: OrdoApp) -> list[str]:
    """The notifications raised so far, as "title: message"."""
    return [f"{n.title}: {n.message}" for n in app._notifications]
