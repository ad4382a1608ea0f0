"""``ordo place``: one order, sent with an idempotency key and retried safely.

A timeout says nothing about whether the order was placed, so it is retried with the same
key, never a new one: the daemon either answers the first attempt's stored result or tells
us that attempt is still under way (IDEMPOTENCY_KEY_IN_FLIGHT), and we ask again. No retry
can place the order twice. A script that wants to retry across runs passes its own --key.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from typing import Any

from pydantic import ValidationError

from ordo_cli import exit_codes, tables
from ordo_cli.commands.context import CommandContext
from ordo_cli.parser import BadUsage
from ordo_shared.client import DaemonUnreachable, RemoteError
from ordo_shared.errors import ErrorCode
from ordo_shared.models import OrderSpec


class InvalidOrder(BadUsage):
    """The order fails the wire contract's own validation: a usage error, nothing was sent."""


def new_key() -> str:
    return f"ordo-cli-{secrets.token_hex(12)}"


def order_from_args(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "symbol": args.symbol, "side": args.side, "qty": args.qty, "order_type": args.order_type,
        "price": args.price, "trigger_price": args.trigger_price, "product": args.product,
        "validity": args.validity, "brokers": args.brokers, "tag": args.tag,
    }
    order = {k: v for k, v in fields.items() if v is not None}
    try:
        OrderSpec.model_validate(order)
    except ValidationError as exc:
        raise invalid(exc) from None
    return order


def invalid(exc: ValidationError) -> InvalidOrder:
    """The first problem the wire contract found, as a usage error naming its field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return InvalidOrder(f"{where + ': ' if where else ''}{first['msg']}")


def retry_delay_s(attempt: int) -> float:
    """0.2 s, 0.4 s, 0.8 s ... capped at 2 s, with jitter so a desk's scripts do not march in step."""
    ceiling = min(2.0, 0.2 * 2.0 ** (attempt - 1))
    return ceiling / 2 + secrets.randbelow(1000) / 1000 * ceiling / 2


async def place(ctx: CommandContext) -> int:
    order = order_from_args(ctx.args)
    return await send_with_key(ctx, "place_order", ctx.args.key or new_key(), "placed", order=order)


async def send_with_key(ctx: CommandContext, op: str, key: str, done: str, **fields: Any) -> int:
    """Send ``op`` with idempotency key ``key``, retrying a timeout with the same key up to
    ``--attempts`` times; ``done`` says what an unanswered request may have done ("placed")."""
    args, out = ctx.args, ctx.out
    for attempt in range(1, args.attempts + 1):
        last = attempt == args.attempts
        try:
            reply = await ctx.client.call(op, idempotency_key=key, **fields)
        except DaemonUnreachable as exc:
            if last:
                out.note(f"no answer after {attempt} attempts; the order may or may not be {done}. "
                         f"Check with: ordo get {_what_to_get(op, key, fields)}  "
                         f"(retrying with --key {key} is safe)")
                raise
            out.note(f"no answer ({exc}); retrying with the same key {key} ({attempt}/{args.attempts})")
        except RemoteError as exc:
            in_flight = exc.code is ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT
            if not in_flight or last:
                if in_flight:
                    out.note(f"still in progress; check with: ordo get {_what_to_get(op, key, fields)}")
                raise
            out.note(f"the first attempt is still in progress; asking again ({attempt}/{args.attempts})")
        else:
            out.reply(reply, tables.place_reply(reply))
            return exit_codes.BY_ORDER_STATUS.get(reply["status"], exit_codes.FAILED)
        await asyncio.sleep(retry_delay_s(attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _what_to_get(op: str, key: str, fields: dict[str, Any]) -> str:
    # A placement is found by its key; a cancel or a modify by the order it acts on.
    return f"--key {key}" if op == "place_order" else str(fields["order_ref"])
