"""What every command gets: its arguments, where the daemon is, a client, and the output."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ordo_cli.output import Output
from ordo_shared.client import OrdoClient
from ordo_shared.client_config import ClientSettings


@dataclass
class CommandContext:
    args: argparse.Namespace
    settings: ClientSettings
    client: OrdoClient
    out: Output
