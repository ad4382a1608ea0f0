"""``ordod``: run the daemon on uvloop until SIGTERM or SIGINT (SIGHUP reloads)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import uvloop

from ordo_shared.errors import OrdoError
from ordod.config import Config, ConfigError, load_config
from ordod.daemon import Daemon
from ordod.lifecycle import Lifecycle
from ordod.logs import setup_logging
from ordod.runtime import tune_for_latency
from ordod.sd_notify import SdNotifier
from ordod.state_lock import StateDirLocked

log = logging.getLogger("ordod")

EXIT_CONFIG = 78  # EX_CONFIG: the unit's RestartPreventExitStatus, a bad file won't heal by retrying
EXIT_LOCKED = 75  # EX_TEMPFAIL: another ordod holds the state directory


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ordod", description="Ordo's order-routing daemon.")
    parser.add_argument("--config", type=Path, help="TOML config file (default: built-in, two paper brokers)")
    parser.add_argument("--state-dir", type=Path, help="override [daemon] state_dir")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--check-config", action="store_true",
                        help="validate the config and exit (0 valid, 78 invalid) without starting")
    return parser.parse_args(argv)


async def serve(config: Config, config_path: Path | None, state_dir: Path | None) -> None:
    async def reread() -> Config:
        return await asyncio.to_thread(load_config, config_path, state_dir)

    # Imports built nearly all of the heap the collector would walk again and again: freeze it.
    tune_for_latency()
    await Lifecycle(Daemon(config), SdNotifier.from_environment(), reread).run()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    try:
        config = load_config(args.config, args.state_dir)
    except ConfigError as exc:
        print(f"ordod: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.check_config:
        print(f"ordod: config {args.config or '(built-in defaults)'} is valid")
        return 0
    try:
        uvloop.run(serve(config, args.config, args.state_dir))
    except ConfigError as exc:  # an unsafe endpoint, a token file or broker secret that cannot be used
        print(f"ordod: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StateDirLocked as exc:
        print(f"ordod: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except OrdoError as exc:
        print(f"ordod: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
