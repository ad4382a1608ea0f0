"""``ordo get REF`` (or ``--key KEY``) and ``ordo orders [--limit N]``."""

from __future__ import annotations

from ordo_cli import exit_codes, tables
from ordo_cli.commands.context import CommandContext


async def get(ctx: CommandContext) -> int:
    if ctx.args.key is not None:
        reply = await ctx.client.call("get_order", idempotency_key=ctx.args.key)
    else:
        reply = await ctx.client.call("get_order", order_ref=ctx.args.order_ref)
    ctx.out.reply(reply, tables.order_detail(reply["order"]))
    return exit_codes.OK


async def list_orders(ctx: CommandContext) -> int:
    reply = await ctx.client.call("list_orders", limit=ctx.args.limit)
    ctx.out.reply(reply, tables.orders(reply["orders"]))
    return exit_codes.OK
