"""systemd credentials of the daemon itself (broker secrets are read through the brokers'
``SecretRef``, see ordod/brokers/common/credentials.py).

With ``LoadCredential=NAME:/etc/ordo/credentials/NAME`` in the unit, systemd copies the file
into a directory private to the unit and names it in ``$CREDENTIALS_DIRECTORY``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def credentials_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    raw = env.get("CREDENTIALS_DIRECTORY")
    return Path(raw) if raw else None


def credential_file(name: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """The file systemd placed for credential ``name``, or None when there is none."""
    directory = credentials_directory(environ)
    if directory is None or "/" in name or name in ("", ".", ".."):
        return None
    path = directory / name
    return path if path.is_file() else None
