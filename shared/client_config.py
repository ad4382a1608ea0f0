"""Where a client finds the daemon. Explicit flags first (``--endpoint``, ``--token-file``),
then ``--config`` (the daemon's own TOML), then ``ORDO_ENDPOINT`` / ``ORDO_PUB_ENDPOINT`` /
``ORDO_TOKEN``, then the defaults (the token file in the default state directory).

A daemon with ``[auth.curve]`` also needs this client's CURVE key pair and the daemon's public
key. The daemon's TOML holds neither (only its own secret and the clients' public keys), so
they come from flags (``--curve-secret``, ``--curve-server-key``) or from
``ORDO_CURVE_SECRET_FILE`` / ``ORDO_CURVE_SERVER_KEY_FILE``, always both."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ordo_shared.client import CurveKeys

DEFAULT_REP = "tcp://127.0.0.1:7750"
DEFAULT_PUB = "tcp://127.0.0.1:7751"


def default_state_dir() -> Path:
    """systemd's StateDirectory when run as a unit, else the user's XDG state folder."""
    if state := os.environ.get("STATE_DIRECTORY"):
        return Path(state.split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ordo"


class ClientConfigError(ValueError):
    """A client setting that cannot be used as given (the message says which and why)."""


@dataclass(frozen=True)
class ClientSettings:
    endpoint: str
    pub_endpoint: str
    token: str | None
    curve: CurveKeys | None = None

    @classmethod
    def resolve(
        cls,
        config: Path | None = None,
        endpoint: str | None = None,
        pub_endpoint: str | None = None,
        token_file: Path | None = None,
        state_dir: Path | None = None,
        curve_secret_file: Path | None = None,
        curve_server_key_file: Path | None = None,
    ) -> ClientSettings:
        """Raises ``ClientConfigError`` for half a CURVE setting or an unusable certificate."""
        daemon: dict[str, object] = {}
        auth: dict[str, object] = {}
        if config is not None:
            with config.open("rb") as fh:
                data = tomllib.load(fh)
            daemon, auth = data.get("daemon", {}), data.get("auth", {})
        env = os.environ
        rep = endpoint or _str(daemon.get("rep_endpoint")) or env.get("ORDO_ENDPOINT") or DEFAULT_REP
        pub = pub_endpoint or _str(daemon.get("pub_endpoint")) or env.get("ORDO_PUB_ENDPOINT") or DEFAULT_PUB
        curve = curve_keys(curve_secret_file or _path(env.get("ORDO_CURVE_SECRET_FILE")),
                           curve_server_key_file or _path(env.get("ORDO_CURVE_SERVER_KEY_FILE")))
        return cls(rep, pub, _token(config, daemon, auth, token_file, state_dir), curve)


def _token(config: Path | None, daemon: dict[str, object], auth: dict[str, object], token_file: Path | None,
           state_dir: Path | None) -> str | None:
    if token_file is not None:  # --token-file: exactly that file
        return _read_token(token_file)
    if config is not None:
        state = Path(str(daemon["state_dir"])) if "state_dir" in daemon else default_state_dir()
        from_config = Path(str(auth["token_file"])) if "token_file" in auth else state / "token"
        # Under systemd the daemon's token is a credential this user cannot read through
        # the config's paths: then $ORDO_TOKEN is next, as for no config at all.
        if (token := _read_token(from_config)) is not None:
            return token
    if os.environ.get("ORDO_TOKEN"):
        return os.environ["ORDO_TOKEN"]
    if config is not None:
        return None
    return _read_token((state_dir or default_state_dir()) / "token")


def curve_keys(secret_file: Path | None, server_key_file: Path | None) -> CurveKeys | None:
    """This client's CURVE keys, or None when neither file is given."""
    if secret_file is None and server_key_file is None:
        return None
    if secret_file is None or server_key_file is None:
        raise ClientConfigError("CURVE needs both this client's secret certificate (--curve-secret, a .key_secret "
                         "file) and the daemon's public certificate (--curve-server-key, a .key file)")
    try:
        return CurveKeys.from_files(secret_file, server_key_file)
    except (OSError, ValueError) as exc:
        raise ClientConfigError(f"cannot use the CURVE certificates: {exc}") from None


def _read_token(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
