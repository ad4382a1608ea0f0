"""Hypothesis strategies shared by the fuzzing of both doors."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.harness import ORDER

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
ORDER_FIELDS = [*ORDER, "trigger_price", "product", "validity", "brokers", "tag"]


@st.composite
def mutated_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A good order with some fields replaced by values of any type, or removed."""
    order: dict[str, Any] = dict(ORDER)
    for field in draw(st.lists(st.sampled_from(ORDER_FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            order[field] = draw(json_values)
        else:
            order.pop(field, None)
    return order
