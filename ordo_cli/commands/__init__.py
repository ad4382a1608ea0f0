"""One module per group of subcommands; each command is ``async def (ctx) -> exit code``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ordo_cli.commands import amend, audit, kill, login, orders, place, status
from ordo_cli.commands.context import CommandContext

Command = Callable[[CommandContext], Awaitable[int]]

COMMANDS: dict[str, Command] = {
    "ping": status.ping,
    "health": status.health,
    "place": place.place,
    "cancel": amend.cancel,
    "modify": amend.modify,
    "get": orders.get,
    "orders": orders.list_orders,
    "kill": kill.kill,
    "audit": audit.tail,
    "login": login.login,
}

__all__ = ["COMMANDS", "Command", "CommandContext"]
