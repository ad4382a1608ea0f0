"""``ordo cancel REF`` and ``ordo modify REF``: each sent with an idempotency key of its own and
retried safely on a timeout, exactly as ``ordo place`` is (a cancel or a modify sent twice with
the same key is done once)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ordo_cli.commands.context import CommandContext
from ordo_cli.commands.place import invalid, new_key, send_with_key
from ordo_shared.messages import ModifyOrderRequest


async def cancel(ctx: CommandContext) -> int:
    args = ctx.args
    return await send_with_key(ctx, "cancel_order", args.key or new_key(), "cancelled",
                               **_target(args.order_ref, args.brokers))


async def modify(ctx: CommandContext) -> int:
    args = ctx.args
    changes = {name: value for name, value in (("qty", args.qty), ("price", args.price),
                                               ("trigger_price", args.trigger_price),
                                               ("order_type", args.order_type)) if value is not None}
    fields = {**_target(args.order_ref, args.brokers), **changes}
    try:  # the wire contract's own check, before anything is sent
        ModifyOrderRequest.model_validate({"v": 1, "op": "modify_order", **fields})
    except ValidationError as exc:
        raise invalid(exc) from None
    return await send_with_key(ctx, "modify_order", args.key or new_key(), "modified", **fields)


def _target(order_ref: str, brokers: list[str] | None) -> dict[str, Any]:
    return {"order_ref": order_ref, **({"brokers": brokers} if brokers else {})}
