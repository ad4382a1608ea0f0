"""The top line: is the desk talking to ordod, which version, and where."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ordo_tui.model.link_status import LinkStatus


class ConnectionBar(Static):
    def show(self, status: LinkStatus) -> None:
        for state in ("connecting", "connected", "down"):
            self.set_class(status.state == state, f"-{state}")
        text = Text.assemble((" ORDO ", "bold reverse"), "  ")
        if status.state == "connected":
            text.append("● CONNECTED", style="bold")
            text.append(f"  ordod {status.version}  {status.endpoint}")
        elif status.state == "down":
            text.append("✖ DISCONNECTED", style="bold")
            text.append(f"  {status.endpoint}  {status.detail}")
            if status.retry_in_s is not None:
                text.append(f"  · retry {status.attempt + 1} in {status.retry_in_s:.1f} s")
        else:
            text.append(f"… connecting to {status.endpoint}")
        if status.state == "connected" and status.detail:
            text.append(f"  · {status.detail}", style="italic")
        self.update(text)
