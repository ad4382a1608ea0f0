"""One row per broker: session, breaker (coloured), latency, error rate, last error."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ordo_shared.models import BrokerHealth, HealthSnapshot
from ordo_tui.widgets.text import same_text

BREAKER_STYLE = {"closed": "green", "half_open": "bold yellow", "open": "bold white on red", "isolated": "magenta"}
SESSION_STYLE = {"valid": "green", "expiring": "yellow", "expired": "bold red", "login_required": "bold red"}
COLUMNS = (("broker", "Broker"), ("adapter", "Adapter"), ("session", "Session"), ("breaker", "Breaker"),
           ("latency", "Latency"), ("errors", "Errors"), ("last_error", "Last error"))


def broker_cells(b: BrokerHealth) -> dict[str, Text | str]:
    latency = "-" if b.last_latency_ms is None else f"{b.last_latency_ms:,.1f} ms"
    return {
        "broker": Text(b.broker_id, style="bold" if b.enabled else "dim strike"),
        "adapter": b.adapter if b.enabled else f"{b.adapter} (disabled)",
        "session": Text(b.session, style=SESSION_STYLE.get(b.session, "")),
        "breaker": Text(f" {b.breaker.replace('_', '-').upper()} ", style=BREAKER_STYLE.get(b.breaker, "")),
        "latency": latency,
        "errors": Text(f"{b.error_rate * 100:.0f}%", style="red" if b.error_rate >= 0.2 else ""),
        "last_error": b.last_error or "",
    }


class BrokerHealthPanel(DataTable[Text | str]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", zebra_stripes=True)
        self.snapshot: HealthSnapshot | None = None

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def breaker_of(self, broker_id: str) -> str | None:
        if self.snapshot is None:
            return None
        return next((b.breaker for b in self.snapshot.brokers if b.broker_id == broker_id), None)

    def show(self, health: HealthSnapshot) -> None:
        known = [str(key.value) for key in self.rows]
        self.snapshot = health
        if known != [b.broker_id for b in health.brokers]:
            self.clear()
            for b in health.brokers:
                cells = broker_cells(b)
                self.add_row(*(cells[key] for key, _ in COLUMNS), key=b.broker_id)
            return
        for b in health.brokers:
            for key, value in broker_cells(b).items():
                # Snapshots come a few times a second and mostly repeat themselves; an updated
                # cell costs a redraw of the table and, as its width may change, a layout.
                if not same_text(value, self.get_cell(b.broker_id, key)):
                    self.update_cell(b.broker_id, key, value, update_width=True)
