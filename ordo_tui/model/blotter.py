"""The orders blotter's rows: newest first, keyed by order_ref, capped."""

from __future__ import annotations

from collections.abc import Iterable

from ordo_shared.models import OrderRecord


class BlotterBook:
    def __init__(self, cap: int = 200) -> None:
        self.cap = cap
        self._by_ref: dict[str, OrderRecord] = {}

    def replace(self, records: Iterable[OrderRecord]) -> None:
        """``list_orders`` is the truth: what it returns is the blotter."""
        self._by_ref = {r.order_ref: r for r in records}
        self._trim()

    def upsert(self, record: OrderRecord) -> None:
        self._by_ref[record.order_ref] = record
        self._trim()

    def get(self, order_ref: str) -> OrderRecord | None:
        return self._by_ref.get(order_ref)

    def rows(self) -> list[OrderRecord]:
        return sorted(self._by_ref.values(), key=lambda r: (r.created_at, r.order_ref), reverse=True)

    def __len__(self) -> int:
        return len(self._by_ref)

    def _trim(self) -> None:
        if len(self._by_ref) > self.cap:
            self._by_ref = {r.order_ref: r for r in self.rows()[: self.cap]}
