"""Where a client finds the daemon. Explicit flags first (``--endpoint``, ``--token-file``),
then ``--config`` (the daemon's own TOML), then ``ORDO_ENDPOINT`` / ``ORDO_PUB_ENDPOINT`` /
``ORDO_TOKEN``, then the defaults (the token file in the default state directory)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REP = "tcp://127.0.0.1:7750"
DEFAULT_PUB = "tcp://127.0.0.1:7751"


def default_state_dir() -> Path:
    """systemd's StateDirectory when run as a unit, else the user's XDG state folder."""
    if state := os.environ.get("STATE_DIRECTORY"):
        return Path(state.split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ordo"


@dataclass(frozen=True)
class ClientSettings:
    endpoint: str
    pub_endpoint: str
    token: str | None

    @classmethod
    def resolve(
        cls,
        config: Path | None = None,
        endpoint: str | None = None,
        pub_endpoint: str | None = None,
        token_file: Path | None = None,
        state_dir: Path | None = None,
    ) -> ClientSettings:
        daemon: dict[str, object] = {}
        auth: dict[str, object] = {}
        if config is not None:
            with config.open("rb") as fh:
                data = tomllib.load(fh)
            daemon, auth = data.get("daemon", {}), data.get("auth", {})
        env = os.environ
        rep = endpoint or _str(daemon.get("rep_endpoint")) or env.get("ORDO_ENDPOINT") or DEFAULT_REP
        pub = pub_endpoint or _str(daemon.get("pub_endpoint")) or env.get("ORDO_PUB_ENDPOINT") or DEFAULT_PUB
        if token_file is not None:  # --token-file: exactly that file
            return cls(rep, pub, _read_token(token_file))
        if config is not None:
            state = Path(str(daemon["state_dir"])) if "state_dir" in daemon else default_state_dir()
            from_config = Path(str(auth["token_file"])) if "token_file" in auth else state / "token"
            # Under systemd the daemon's token is a credential this user cannot read through
            # the config's paths: then $ORDO_TOKEN is next, as for no config at all.
            if (token := _read_token(from_config)) is not None:
                return cls(rep, pub, token)
        if env.get("ORDO_TOKEN"):
            return cls(rep, pub, env["ORDO_TOKEN"])
        if config is not None:
            return cls(rep, pub, None)
        return cls(rep, pub, _read_token((state_dir or default_state_dir()) / "token"))


def _read_token(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
