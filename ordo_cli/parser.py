"""The ``ordo`` argument tree. argparse exits 2 on bad usage, which means "partial success"
here, so the parser raises ``UsageExit`` (64, EX_USAGE) instead."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ordo_cli import exit_codes


class UsageExit(SystemExit):
    pass


class BadUsage(ValueError):
    """Arguments that parse but cannot make a request (exit 64); nothing was sent."""


class Parser(argparse.ArgumentParser):
    # Where help and errors go; ``build_parser`` sets them on the whole tree so a caller
    # (a test, an embedding script) can capture them like the command's other output.
    stdout: TextIO | None = None
    stderr: TextIO | None = None

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            target = self.stderr if file is sys.stderr else self.stdout if file is sys.stdout else file
            (target or file or sys.stderr).write(message)

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self._print_message(f"{self.prog}: error: {message}\n", sys.stderr)
        raise UsageExit(exit_codes.USAGE)

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        if message:
            self._print_message(message, sys.stderr)
        raise UsageExit(status)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


EPILOG = """exit codes: 0 success, 1 failed or refused, 2 partial success (or degraded health,
or archived audit events), 3 daemon unreachable, 64 usage error.
The daemon is found through --endpoint / --token-file, else --config (the daemon's TOML),
else $ORDO_ENDPOINT / $ORDO_PUB_ENDPOINT / $ORDO_TOKEN, else tcp://127.0.0.1:7750 and the
token file in the default state directory."""


def build_parser(stdout: TextIO | None = None, stderr: TextIO | None = None) -> argparse.ArgumentParser:
    parser = _build()
    for each in _tree(parser):
        each.stdout, each.stderr = stdout, stderr
    return parser


def _tree(parser: Parser) -> list[Parser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _tree(child)
    return found


def _build() -> Parser:
    parser = Parser(prog="ordo", description="Command line of the ordod order router, for operators and scripts.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="the daemon's TOML config (endpoints, token file)")
    parser.add_argument("--endpoint", help="REQ endpoint (default: config, $ORDO_ENDPOINT, tcp://127.0.0.1:7750)")
    parser.add_argument("--pub-endpoint", help="PUB endpoint (default: config, $ORDO_PUB_ENDPOINT, tcp://127.0.0.1:7751)")
    parser.add_argument("--token-file", type=Path, help="file holding the token (default: config, $ORDO_TOKEN)")
    parser.add_argument("--curve-secret", type=Path, metavar="FILE",
                        help="this client's CURVE secret certificate, for a daemon with [auth.curve] "
                             "(default: $ORDO_CURVE_SECRET_FILE)")
    parser.add_argument("--curve-server-key", type=Path, metavar="FILE",
                        help="the daemon's CURVE public certificate (default: $ORDO_CURVE_SERVER_KEY_FILE)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each reply (default 5)")
    parser.add_argument("--json", action="store_true", help="print the daemon's replies as JSON, one per line")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    sub.add_parser("ping", help="is the daemon alive? (no token needed)")
    sub.add_parser("health", help="brokers, breakers, sessions and the kill switch (exit 2 when degraded)")
    _add_place(sub)
    _add_amend(sub)
    login = sub.add_parser("login", help="a broker's daily login (Fyers: browser and auth code; HDFC: OTP)")
    login.add_argument("broker", help="the broker id, e.g. fyers or hdfc")
    login.add_argument("--username", help="HDFC: the login id, when not in the daemon's config")
    login.add_argument("--password-prompt", action="store_true",
                       help="HDFC: ask for the password here instead of using the daemon's configured one")

    get = sub.add_parser("get", help="one order, by its order_ref or by its idempotency key")
    get.add_argument("order_ref", nargs="?", help="e.g. ORD-18f3a9c2b10-1a2b3c")
    get.add_argument("--key", help="look the order up by the idempotency key it was placed with")
    orders = sub.add_parser("orders", help="recent orders, newest first")
    orders.add_argument("--limit", type=_positive_int, default=20, help="how many (default 20, at most 1000)")

    kill = sub.add_parser("kill", help="the kill switch: once on, no new order reaches any broker")
    kill_sub = kill.add_subparsers(dest="action", required=True, parser_class=Parser)
    kill_on = kill_sub.add_parser("on", help="stop all new orders now (or, with --broker, isolate one broker)")
    kill_on.add_argument("--reason", required=True, help="shown to every trader and kept in the audit log")
    kill_on.add_argument("--broker", help="isolate only this broker; orders still go to the others")
    kill_on.add_argument("--flatten", action="store_true",
                         help="also cancel every open order in scope (waits up to 5 minutes for every "
                              "cancel's answer; the switch itself is on at once)")
    kill_off = kill_sub.add_parser("off", help="allow orders again (refused within the minimum hold)")
    kill_off.add_argument("--reason", default="", help="kept in the audit log")
    kill_off.add_argument("--broker", help="end the isolation of this broker only")
    kill_sub.add_parser("status", help="is it on, why, since when, by whom")

    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="action", required=True, parser_class=Parser)
    tail = audit_sub.add_parser("tail", help="recent audit events, oldest first; --follow for live ones")
    tail.add_argument("--since", type=int, help="every event after this seq (default: the last --lines events)")
    tail.add_argument("-n", "--lines", type=_positive_int, default=20, help="without --since: how many (default 20)")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new events as they happen")
    tail.add_argument("--count", type=_positive_int, help="stop after printing this many events")

    tui = sub.add_parser("tui", help="the trading-desk terminal UI")
    tui.set_defaults(interactive=True)
    up = sub.add_parser("up", help="start a local ordod on paper brokers and attach the TUI (make run)")
    up.add_argument("--state-dir", type=Path, default=Path(".ordo/state"))
    up.add_argument("--daemon-config", type=Path, help="config for the local daemon (default: built-in)")
    return parser


def _add_amend(sub: Any) -> None:
    cancel = sub.add_parser("cancel", help="cancel an order at every broker holding it (or those named)",
                            description="Cancel an order. Like place, a timeout is retried with the same key.")
    modify = sub.add_parser("modify", help="change an open order's quantity, price or type at its brokers",
                            description="Modify an open order; what is not given keeps its value. Like place, "
                                        "a timeout is retried with the same key.")
    for action in (cancel, modify):
        action.add_argument("order_ref", help="e.g. ORD-18f3a9c2b10-1a2b3c")
        action.add_argument("--broker", dest="brokers", action="append",
                            help="only at this broker (repeatable; default: every broker holding it)")
        action.add_argument("--key", help="idempotency key (default: a fresh one, printed with the result)")
        action.add_argument("--attempts", type=_positive_int, default=5,
                            help="tries before giving up on an unanswered request, all with the same key")
    modify.add_argument("--qty", type=int)
    modify.add_argument("--price", type=float, help="for LIMIT and SL")
    modify.add_argument("--trigger-price", type=float, help="for SL and SL-M")
    modify.add_argument("--type", dest="order_type", type=str.upper, choices=["MARKET", "LIMIT", "SL", "SL-M"])


def _add_place(sub: Any) -> None:
    place = sub.add_parser("place", help="place one order at every enabled broker (or those named)",
                           description="Place one order. A timeout is retried with the same idempotency key, "
                                       "so the order is never placed twice; pass --key to choose the key.")
    place.add_argument("--symbol", required=True, help="EXCHANGE:SYMBOL, e.g. NSE:SBIN-EQ")
    place.add_argument("--side", required=True, type=str.upper, choices=["BUY", "SELL"])
    place.add_argument("--qty", required=True, type=int)
    place.add_argument("--type", dest="order_type", required=True, type=str.upper,
                       choices=["MARKET", "LIMIT", "SL", "SL-M"])
    place.add_argument("--price", type=float, help="for LIMIT and SL")
    place.add_argument("--trigger-price", type=float, help="for SL and SL-M")
    place.add_argument("--product", type=str.upper, choices=["INTRADAY", "CNC", "MARGIN"])
    place.add_argument("--validity", type=str.upper, choices=["DAY", "IOC"])
    place.add_argument("--broker", dest="brokers", action="append", help="route to this broker (repeatable; "
                       "default: every enabled broker)")
    place.add_argument("--tag", help="free text kept with the order (up to 64 characters)")
    place.add_argument("--key", help="idempotency key (default: a fresh one, printed with the result)")
    place.add_argument("--attempts", type=_positive_int, default=5,
                       help="tries before giving up on an unanswered order, all with the same key (default 5)")
