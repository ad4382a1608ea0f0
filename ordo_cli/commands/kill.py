"""``ordo kill on --reason ... [--broker B] [--flatten]``, ``ordo kill off [--broker B]``,
``ordo kill status``.

The daemon turns a switch off only with an explicit confirmation; typing ``ordo kill off``
is that confirmation, so the command sends it. Within the minimum hold after it went on the
daemon still refuses (KILL_SWITCH_HOLD, exit 1).
"""

from __future__ import annotations

from ordo_cli import exit_codes, tables
from ordo_cli.commands.context import CommandContext

GLOBAL = "global"
# A flatten is answered once every open order in scope has its cancel's answer, paced by each
# broker's order rate limit: for a large book, longer than any plain request. The switch itself
# is on at once; this is only how long the command waits to show every cancel.
FLATTEN_WAIT_S = 300.0


async def kill(ctx: CommandContext) -> int:
    args = ctx.args
    if args.action == "status":
        reply = await ctx.client.call("kill_switch")
    elif args.action == "on":
        wait_s = max(args.timeout, FLATTEN_WAIT_S) if args.flatten else None
        reply = await ctx.client.call("kill_switch", timeout_s=wait_s, active=True, reason=args.reason,
                                      scope=args.broker or GLOBAL, flatten=args.flatten)
    else:
        reply = await ctx.client.call("kill_switch", active=False, reason=args.reason,
                                      scope=args.broker or GLOBAL, confirm=True)
    ctx.out.reply(reply, tables.kill_switch(reply["kill_switch"], reply.get("flatten")))
    flattened = reply.get("flatten") or []
    # A flatten that could not cancel everything left risk open: say so in the exit code.
    return exit_codes.PARTIAL if any(r["status"] != "success" for r in flattened) else exit_codes.OK
