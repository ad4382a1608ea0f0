"""Ordo's wire contract (import name ``ordo_shared``).

Shared by the daemon, the TUI, the CLI and users' own scripts. Depends only on the
standard library and pydantic (plus pyzmq in ``client``), so it stays importable anywhere.
"""

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 1024 * 1024
