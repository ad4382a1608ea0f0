"""Runs ``ordo`` exactly as a shell would (argv in, text and an exit code out) against a
daemon in this test's event loop: the command runs in a worker thread with its own loop."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import dataclass
from typing import Any

from ordo_cli.main import main
from tests.harness import RunningDaemon


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]


async def ordo(*argv: str) -> Run:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, list(argv), stdout, stderr)
    return Run(code, stdout.getvalue(), stderr.getvalue())


def against(d: RunningDaemon) -> list[str]:
    """The flags that point ``ordo`` at ``d``."""
    return ["--endpoint", d.daemon.rep_endpoint, "--pub-endpoint", d.daemon.pub_endpoint,
            "--token-file", str(d.daemon.config.token_file)]


LIMIT_ORDER = ["--symbol", "NSE:SBIN-EQ", "--side", "buy", "--qty", "1", "--type", "limit", "--price", "500.5"]
