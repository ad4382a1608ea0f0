"""``ordo kill on --reason ...``, ``ordo kill off``, ``ordo kill status``."""

from __future__ import annotations

from ordo_cli import exit_codes, tables
from ordo_cli.commands.context import CommandContext


async def kill(ctx: CommandContext) -> int:
    action = ctx.args.action
    if action == "status":
        reply = await ctx.client.call("kill_switch")
    else:
        reply = await ctx.client.call("kill_switch", active=action == "on", reason=ctx.args.reason or "")
    ctx.out.reply(reply, tables.kill_switch(reply["kill_switch"]))
    return exit_codes.OK
