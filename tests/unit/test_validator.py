"""Pre-trade validation: where an order goes, and the desk's quantity and notional limits."""

from __future__ import annotations

from typing import Any

import pytest

from ordo_shared.errors import ValidationFailed
from ordo_shared.models import OrderSpec
from ordod.config import LimitsConfig
from ordod.validator import PreTradeValidator

ALL = ["fyers", "hdfc", "zerodha"]
ENABLED = ["fyers", "hdfc"]


def spec(**changes: Any) -> OrderSpec:
    fields: dict[str, Any] = {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 10, "order_type": "LIMIT", "price": 100.0}
    fields.update(changes)
    return OrderSpec.model_validate(fields)


@pytest.fixture
def validator() -> PreTradeValidator:
    return PreTradeValidator(LimitsConfig(max_qty=1000, max_notional=50_000.0), ENABLED, ALL)


def test_an_order_naming_no_brokers_goes_to_every_enabled_broker(validator: PreTradeValidator) -> None:
    assert validator.target_brokers(spec()) == ENABLED


def test_the_default_targets_are_a_copy_the_caller_may_change(validator: PreTradeValidator) -> None:
    validator.target_brokers(spec()).append("zerodha")
    assert validator.target_brokers(spec()) == ENABLED


def test_an_order_naming_brokers_goes_to_exactly_those_in_its_order(validator: PreTradeValidator) -> None:
    assert validator.target_brokers(spec(brokers=["hdfc", "fyers"])) == ["hdfc", "fyers"]
    assert validator.target_brokers(spec(brokers=["hdfc"])) == ["hdfc"]


def test_an_unknown_broker_is_a_validation_error_on_order_brokers(validator: PreTradeValidator) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validator.target_brokers(spec(brokers=["fyers", "upstox"]))
    assert caught.value.field == "order.brokers"
    assert "unknown broker 'upstox'" in caught.value.message


def test_a_disabled_broker_is_a_validation_error_naming_it(validator: PreTradeValidator) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validator.target_brokers(spec(brokers=["zerodha"]))
    assert caught.value.field == "order.brokers"
    assert "'zerodha' is disabled" in caught.value.message


def test_a_quantity_at_the_limit_passes(validator: PreTradeValidator) -> None:
    validator.check_limits(spec(qty=1000, price=1.0))


def test_a_quantity_over_the_limit_is_refused_on_order_qty(validator: PreTradeValidator) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validator.check_limits(spec(qty=1001, price=1.0))
    assert caught.value.field == "order.qty"
    assert "1001 exceeds the max_qty limit of 1000" in caught.value.message
    assert caught.value.http_status == 422


def test_a_notional_at_the_limit_passes(validator: PreTradeValidator) -> None:
    validator.check_limits(spec(qty=500, price=100.0))


def test_a_notional_over_the_limit_is_refused_on_order_price(validator: PreTradeValidator) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validator.check_limits(spec(qty=501, price=100.0))
    assert caught.value.field == "order.price"
    assert "notional 50,100.00 exceeds the max_notional limit of 50,000.00" in caught.value.message


def test_a_stop_market_order_is_held_to_the_notional_of_its_trigger(validator: PreTradeValidator) -> None:
    with pytest.raises(ValidationFailed):
        validator.check_limits(spec(order_type="SL-M", price=None, trigger_price=101.0, qty=500))
    validator.check_limits(spec(order_type="SL-M", price=None, trigger_price=100.0, qty=500))


def test_a_stop_limit_order_is_held_to_the_notional_of_its_price(validator: PreTradeValidator) -> None:
    with pytest.raises(ValidationFailed):
        validator.check_limits(spec(order_type="SL", price=101.0, trigger_price=1.0, qty=500))


def test_a_market_order_has_no_notional_to_check(validator: PreTradeValidator) -> None:
    validator.check_limits(spec(order_type="MARKET", price=None, qty=1000))


def test_a_market_order_over_max_qty_is_still_refused(validator: PreTradeValidator) -> None:
    with pytest.raises(ValidationFailed, match="max_qty"):
        validator.check_limits(spec(order_type="MARKET", price=None, qty=1001))
