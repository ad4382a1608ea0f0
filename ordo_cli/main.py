"""``ordo``: the command line for operators and scripts, on the same wire protocol.

Exit codes: 0 success, 1 failed or refused, 2 partial success, 3 daemon unreachable,
64 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ordo_shared.client import DaemonUnreachable, OrdoClient, RemoteError
from ordo_shared.client_config import ClientSettings

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2, 3, 64


class UsageExit(SystemExit):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2, which means "partial" here
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise UsageExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ordo", description="Client of the ordod order router.")
    parser.add_argument("--config", type=Path, help="the daemon's TOML config (endpoints, token file)")
    parser.add_argument("--endpoint", help="REQ endpoint (default: config, $ORDO_ENDPOINT, tcp://127.0.0.1:7750)")
    parser.add_argument("--pub-endpoint", help="PUB endpoint (default: config, $ORDO_PUB_ENDPOINT, tcp://127.0.0.1:7751)")
    parser.add_argument("--token-file", type=Path, help="file holding the token (default: config, $ORDO_TOKEN)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a reply")
    parser.add_argument("--json", action="store_true", help="print the daemon's replies as JSON lines")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("ping", help="is the daemon alive?")
    sub.add_parser("health", help="brokers, breakers, sessions and the kill switch")
    tui = sub.add_parser("tui", help="the trading-desk terminal UI")
    tui.set_defaults(interactive=True)
    up = sub.add_parser("up", help="start a local ordod on paper brokers and attach the TUI (make run)")
    up.add_argument("--state-dir", type=Path, default=Path(".ordo/state"))
    up.add_argument("--daemon-config", type=Path, help="config for the local daemon (default: built-in)")
    return parser


def settings_from(args: argparse.Namespace) -> ClientSettings:
    return ClientSettings.resolve(
        config=args.config, endpoint=args.endpoint, pub_endpoint=args.pub_endpoint, token_file=args.token_file
    )


def _print(args: argparse.Namespace, reply: dict[str, Any], human: str) -> None:
    print(json.dumps(reply) if args.json else human)


def format_health(health: dict[str, Any]) -> str:
    ks = health["kill_switch"]
    lines = [
        f"ordod {health['version']}  status={health['status']}  uptime={health['uptime_s']:.0f}s  "
        f"in-flight={health['in_flight_orders']}  audit-seq={health['audit_seq']}",
        "KILL SWITCH: " + (f"ON  ({ks['reason']!r} by {ks['set_by']} at {ks['set_at']})" if ks["active"] else "off"),
        f"{'BROKER':<12}{'ADAPTER':<9}{'SESSION':<16}{'BREAKER':<11}{'LATENCY':>10}{'ERR%':>7}  LAST ERROR",
    ]
    for b in health["brokers"]:
        latency = "-" if b["last_latency_ms"] is None else f"{b['last_latency_ms']:.1f}ms"
        lines.append(
            f"{b['broker_id']:<12}{b['adapter']:<9}{b['session']:<16}{b['breaker']:<11}{latency:>10}"
            f"{b['error_rate'] * 100:>6.1f}%  {b['last_error'] or ''}"
        )
    return "\n".join(lines)


async def run_command(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with OrdoClient(settings.endpoint, settings.token, args.timeout) as client:
        if args.command == "ping":
            reply = await client.call("ping")
            _print(args, reply, f"pong from ordod {reply['version']} at {settings.endpoint}")
        elif args.command == "health":
            reply = await client.call("health")
            _print(args, reply, format_health(reply["health"]))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageExit as exc:
        return int(exc.code or EXIT_USAGE)
    if args.command == "tui":
        from ordo_tui.app import run_tui

        return run_tui(settings_from(args))
    if args.command == "up":
        from ordo_cli.up import run_local

        return run_local(args.state_dir, args.daemon_config)
    try:
        return asyncio.run(run_command(args))
    except DaemonUnreachable as exc:
        print(f"ordo: daemon unreachable: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except RemoteError as exc:
        print(f"ordo: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
