"""``ctrl+l``: the daily broker login. Pick a broker, start its login, then finish it with
the OTP (HDFC) or the auth code from the browser's address bar (Fyers; when the daemon
captures the redirect itself, the session turns valid on its own and this just shows it)."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ordo_shared.models import BrokerHealth
from ordo_tui.controller import DeskController
from ordo_tui.link import LoginAnswer
from ordo_tui.messages import LoginCompleted, LoginRefused, LoginStarted
from ordo_tui.model.formatting import utc_stamp


def answer_from(text: str, step: str, state: str | None) -> LoginAnswer:
    """What the trader typed, as the daemon wants it: an OTP, an auth code, or the whole
    address the browser landed on (its ``auth_code`` and ``state`` are taken from it)."""
    text = text.strip()
    if step == "enter_otp":
        return LoginAnswer(otp=text)
    if "auth_code=" in text:
        query = parse_qs(urlsplit(text).query)
        return LoginAnswer(auth_code=query.get("auth_code", [""])[0], state=query.get("state", [state or ""])[0])
    return LoginAnswer(auth_code=text, state=state)


class LoginScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, brokers: list[BrokerHealth], controller: DeskController) -> None:
        super().__init__()
        self.brokers = [b for b in brokers if b.enabled and b.adapter != "paper"]
        self.controller = controller
        self.step: str | None = None
        self.state: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("BROKER LOGIN", classes="dialog-title")
            if not self.brokers:
                yield Static("No broker here needs a login (paper brokers only).")
                return
            yield Select([(f"{b.broker_id} ({b.adapter}): {b.session}", b.broker_id) for b in self.brokers],
                         value=self._first_needing_login(), allow_blank=False, id="login-broker")
            yield Button("Start login (enter)", id="login-start", variant="primary")
            yield Static("", id="login-step")
            yield Input(placeholder="OTP, or the auth code / address the browser landed on", id="login-code",
                        password=True, disabled=True)
            with Horizontal(classes="buttons"):
                yield Button("Complete", id="login-complete", variant="success", disabled=True)
                yield Button("Close (esc)", id="login-close")

    def on_mount(self) -> None:
        if self.brokers:
            self.query_one("#login-start", Button).focus()

    def _first_needing_login(self) -> str:
        return next((b.broker_id for b in self.brokers if b.session != "valid"), self.brokers[0].broker_id)

    @property
    def broker_id(self) -> str:
        return str(self.query_one("#login-broker", Select).value)

    @on(Button.Pressed, "#login-start")
    def _start(self) -> None:
        self.query_one("#login-step", Static).update(f"asking {self.broker_id}…")
        self.controller.login_start(self.broker_id, self.post_message)

    def on_login_started(self, message: LoginStarted) -> None:
        reply = message.reply
        self.step = reply.step
        code = self.query_one("#login-code", Input)
        code.disabled = False
        self.query_one("#login-complete", Button).disabled = False
        if reply.step == "open_url" and reply.login_url:
            self.state = parse_qs(urlsplit(reply.login_url).query).get("state", [None])[0]
            self.app.copy_to_clipboard(reply.login_url)
            code.password = False
            text = f"{reply.prompt}\n\n{reply.login_url}\n\n(copied to the clipboard)"
        else:
            text = reply.prompt
        self.query_one("#login-step", Static).update(text)
        code.focus()

    @on(Input.Submitted, "#login-code")
    @on(Button.Pressed, "#login-complete")
    def _complete(self) -> None:
        code = self.query_one("#login-code", Input)
        if not code.value.strip() or self.step is None:
            return
        answer = answer_from(code.value, self.step, self.state)
        code.value = ""  # an OTP or auth code is never kept
        self.query_one("#login-step", Static).update(f"completing the login at {self.broker_id}…")
        self.controller.login_complete(self.broker_id, answer, self.post_message)

    def on_login_completed(self, message: LoginCompleted) -> None:
        reply = message.reply
        until = f" until {utc_stamp(reply.session_expires_at)}" if reply.session_expires_at else ""
        self.query_one("#login-step", Static).update(f"{reply.broker_id}: session {reply.session}{until}")
        self.query_one("#login-close", Button).focus()

    def on_login_refused(self, message: LoginRefused) -> None:
        self.query_one("#login-step", Static).update(f"not done: {message.error.message}")

    @on(Button.Pressed, "#login-close")
    def _close(self) -> None:
        self.dismiss(None)
