"""What the pipeline hands an adapter: its tag and its kill switch."""

from __future__ import annotations

import dataclasses

from ordo_shared.models import OrderSpec
from ordod.brokers.base import BrokerOrder, client_tag


def order() -> BrokerOrder:
    spec = OrderSpec.model_validate({"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 1, "order_type": "MARKET"})
    return BrokerOrder(order_ref="ORD-1", idempotency_key="k-1", spec=spec)


def test_halted_by_is_the_order_with_another_kill_switch_and_nothing_else_changed() -> None:
    original = order()

    def halted() -> bool:
        return True

    copy = original.halted_by(halted)
    assert copy.halted is halted
    # Every field, so a field added to BrokerOrder later cannot be dropped on the way to a broker.
    for f in dataclasses.fields(BrokerOrder):
        expected = getattr(dataclasses.replace(original, halted=halted), f.name)
        assert getattr(copy, f.name) is expected, f.name


def test_the_tag_depends_on_the_key_alone_however_often_it_is_asked() -> None:
    first = order()
    assert first.tag == first.tag == order().tag == client_tag("k-1")
    assert first.tag.startswith("ordo") and len(first.tag) == 30
    assert first.broker_tag(20, digits_only=True).isdigit()
    assert client_tag("k-2") != first.tag
