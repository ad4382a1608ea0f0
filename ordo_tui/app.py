"""The trading-desk TUI (shell): connection state, kill switch and broker health.

The full desk (order entry, blotter, audit stream, kill-switch toggle) builds on this.
All daemon I/O runs in async workers; the UI loop never waits on the network.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from ordo_shared.client import DaemonUnreachable, OrdoClient, RemoteError
from ordo_shared.client_config import ClientSettings


class OrdoApp(App[int]):
    TITLE = "Ordo"
    BINDINGS: ClassVar = [("q", "quit", "Quit")]
    CSS = """
    #kill { height: 3; content-align: center middle; background: $success-darken-2; }
    #kill.active { background: red; color: white; text-style: bold; }
    #status { height: 1; }
    """

    def __init__(self, client: OrdoClient) -> None:
        super().__init__()
        self.client = client
        self.connected = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("kill switch: unknown", id="kill")
        yield Static("connecting…", id="status")
        yield DataTable(id="brokers")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#brokers", DataTable)
        table.add_columns("broker", "adapter", "session", "breaker", "latency", "errors", "last error")
        self.set_interval(1.0, self.refresh_health)
        self.refresh_health()

    @work(exclusive=True, group="health")
    async def refresh_health(self) -> None:
        try:
            reply = await self.client.call("health", timeout_s=2.0)
        except (DaemonUnreachable, RemoteError) as exc:
            self.connected = False
            self.query_one("#status", Static).update(f"disconnected: {exc}")
            return
        self.connected = True
        self.show_health(reply["health"])

    def show_health(self, health: dict[str, Any]) -> None:
        self.query_one("#status", Static).update(
            f"connected to {self.client.endpoint} · ordod {health['version']} · {health['status']}"
        )
        ks = health["kill_switch"]
        kill = self.query_one("#kill", Static)
        kill.set_class(ks["active"], "active")
        kill.update(f"KILL SWITCH ON: {ks['reason']}" if ks["active"] else "kill switch off")
        table = self.query_one("#brokers", DataTable)
        table.clear()
        for b in health["brokers"]:
            latency = "-" if b["last_latency_ms"] is None else f"{b['last_latency_ms']:.1f} ms"
            table.add_row(b["broker_id"], b["adapter"], b["session"], b["breaker"], latency,
                          f"{b['error_rate'] * 100:.0f}%", b["last_error"] or "")


def run_tui(settings: ClientSettings) -> int:
    client = OrdoClient(settings.endpoint, settings.token)
    try:
        return OrdoApp(client).run() or 0
    finally:
        client.close()
