"""``ordod``: run the daemon on uvloop until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import uvloop

from ordo_shared.errors import OrdoError
from ordod.config import ConfigError, load_config
from ordod.daemon import Daemon
from ordod.logs import setup_logging
from ordod.state_lock import StateDirLocked

log = logging.getLogger("ordod")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ordod", description="Ordo's order-routing daemon.")
    parser.add_argument("--config", type=Path, help="TOML config file (default: built-in, two paper brokers)")
    parser.add_argument("--state-dir", type=Path, help="override [daemon] state_dir")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


async def serve(daemon: Daemon) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await daemon.start()
    await stop.wait()
    log.info("signal received; shutting down")
    await daemon.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    try:
        config = load_config(args.config, args.state_dir)
    except ConfigError as exc:
        print(f"ordod: {exc}", file=sys.stderr)
        return 78  # EX_CONFIG: systemd will not restart-loop on a bad config
    try:
        uvloop.run(serve(Daemon(config)))
    except ConfigError as exc:  # an unsafe endpoint, a token file or broker secret that cannot be used
        print(f"ordod: {exc}", file=sys.stderr)
        return 78
    except StateDirLocked as exc:
        print(f"ordod: {exc}", file=sys.stderr)
        return 75  # EX_TEMPFAIL
    except OrdoError as exc:
        print(f"ordod: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
