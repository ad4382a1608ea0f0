"""``ordo``: the command line for operators and scripts, on the same wire protocol.

Exit codes are in ``ordo_cli.exit_codes``: 0 success, 1 failed or refused, 2 partial
success, 3 daemon unreachable, 64 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from typing import TextIO

from ordo_cli import exit_codes
from ordo_cli.commands import COMMANDS, CommandContext
from ordo_cli.output import Output
from ordo_cli.parser import BadUsage, UsageExit, build_parser
from ordo_shared.client import DaemonUnreachable, OrdoClient, RemoteError
from ordo_shared.client_config import ClientConfigError, ClientSettings


def settings_from(args: argparse.Namespace) -> ClientSettings:
    return ClientSettings.resolve(
        config=args.config, endpoint=args.endpoint, pub_endpoint=args.pub_endpoint, token_file=args.token_file,
        curve_secret_file=args.curve_secret, curve_server_key_file=args.curve_server_key,
    )


async def run_command(args: argparse.Namespace, settings: ClientSettings, out: Output) -> int:
    async with OrdoClient(settings.endpoint, settings.token, args.timeout, curve=settings.curve) as client:
        return await COMMANDS[args.command](CommandContext(args, settings, client, out))


def _check_usage(args: argparse.Namespace) -> None:
    if args.command == "get" and (args.order_ref is None) == (args.key is None):
        raise BadUsage("give exactly one of ORDER_REF or --key")


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = Output(False, stdout or sys.stdout, stderr or sys.stderr)
    try:
        args = build_parser(out.stdout, out.stderr).parse_args(argv)
    except UsageExit as exc:  # --help exits 0 through here too
        return exc.code if isinstance(exc.code, int) else exit_codes.USAGE
    out.json_mode = args.json
    if args.command == "tui":
        from ordo_tui.app import run_tui

        try:
            settings = settings_from(args)
        except ClientConfigError as exc:
            out.note(f"usage: {exc}")
            return exit_codes.USAGE
        return run_tui(settings)
    if args.command == "up":
        from ordo_cli.up import run_local

        return run_local(args.state_dir, args.daemon_config)
    try:
        _check_usage(args)
        settings = settings_from(args)
        return asyncio.run(run_command(args, settings, out))
    except (BadUsage, ClientConfigError) as exc:
        out.note(f"usage: {exc}")
        return exit_codes.USAGE
    except (OSError, tomllib.TOMLDecodeError) as exc:  # --config that cannot be read
        out.note(f"cannot use --config {args.config}: {exc}")
        return exit_codes.USAGE
    except DaemonUnreachable as exc:
        out.note(f"daemon unreachable: {exc}")
        return exit_codes.UNREACHABLE
    except RemoteError as exc:
        if out.json_mode and exc.reply is not None:
            out.json_line(exc.reply)
        out.note(str(exc))
        return exit_codes.FAILED
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
