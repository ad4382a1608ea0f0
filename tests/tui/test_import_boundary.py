"""ordo_tui is a client of the wire contract only: it never loads the daemon's internals,
its database driver or its HTTP server (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("ordod", "aiosqlite", "aiohttp.web")


def test_the_tui_does_not_import_the_daemon_sqlite_or_the_http_server() -> None:
    code = ("import sys, ordo_tui.app, ordo_cli.main; "
            f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
