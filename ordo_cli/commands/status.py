"""``ordo ping`` and ``ordo health``."""

from __future__ import annotations

from ordo_cli import exit_codes, tables
from ordo_cli.commands.context import CommandContext

_HEALTH_EXIT = {"ok": exit_codes.OK, "degraded": exit_codes.PARTIAL, "stopping": exit_codes.FAILED}


async def ping(ctx: CommandContext) -> int:
    reply = await ctx.client.call("ping")
    ctx.out.reply(reply, f"pong from ordod {reply['version']} at {ctx.settings.endpoint}")
    return exit_codes.OK


async def health(ctx: CommandContext) -> int:
    """Exit 0 when ok, 2 when degraded (kill switch on, a breaker not closed), 1 when stopping:
    a monitoring check can use the exit code alone."""
    reply = await ctx.client.call("health")
    ctx.out.reply(reply, tables.health(reply["health"]))
    return _HEALTH_EXIT.get(reply["health"]["status"], exit_codes.FAILED)
