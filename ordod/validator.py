"""Pre-trade validation: which brokers an order goes to, and the desk's risk limits."""

from __future__ import annotations

from ordo_shared.errors import ValidationFailed
from ordo_shared.models import OrderSpec
from ordod.config import LimitsConfig


class PreTradeValidator:
    def __init__(self, limits: LimitsConfig, enabled_brokers: list[str], all_brokers: list[str]) -> None:
        self.limits = limits
        self._enabled = enabled_brokers
        self._all = set(all_brokers)

    def target_brokers(self, order: OrderSpec) -> list[str]:
        """The brokers this order fans out to: the ones named, else every enabled broker."""
        if order.brokers is None:
            return list(self._enabled)
        for broker_id in order.brokers:
            if broker_id not in self._all:
                raise ValidationFailed(f"order.brokers: unknown broker {broker_id!r}", field="order.brokers")
            if broker_id not in self._enabled:
                raise ValidationFailed(f"order.brokers: broker {broker_id!r} is disabled", field="order.brokers")
        return list(order.brokers)

    def check_limits(self, order: OrderSpec) -> None:
        if order.qty > self.limits.max_qty:
            raise ValidationFailed(
                f"order.qty: {order.qty} exceeds the max_qty limit of {self.limits.max_qty}", field="order.qty"
            )
        reference = order.price if order.price is not None else order.trigger_price
        if reference is not None:
            notional = order.qty * reference
            if notional > self.limits.max_notional:
                raise ValidationFailed(
                    f"order: notional {notional:,.2f} exceeds the max_notional limit "
                    f"of {self.limits.max_notional:,.2f}",
                    field="order.price",
                )
