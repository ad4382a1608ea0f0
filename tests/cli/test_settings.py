"""Where ``ordo`` finds the daemon: flags, then --config, then the environment, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordo_shared.client_config import DEFAULT_REP, ClientSettings
from ordod.config import Config
from tests.cli.runner import ordo
from tests.harness import running_daemon


def daemon_toml(d_rep: str, d_pub: str, state_dir: Path) -> str:
    return f'[daemon]\nrep_endpoint = "{d_rep}"\npub_endpoint = "{d_pub}"\nstate_dir = "{state_dir}"\n'


async def test_config_file_gives_endpoint_and_token(config: Config, tmp_path: Path) -> None:
    async with running_daemon(config) as d:
        client_config = tmp_path / "ordod.toml"
        client_config.write_text(daemon_toml(d.daemon.rep_endpoint, d.daemon.pub_endpoint,
                                             d.daemon.config.daemon.state_dir))
        run = await ordo("--config", str(client_config), "health")
    assert run.code == 0, run.stderr


async def test_environment_gives_endpoint_and_token(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_daemon(config) as d:
        monkeypatch.setenv("ORDO_ENDPOINT", d.daemon.rep_endpoint)
        monkeypatch.setenv("ORDO_TOKEN", d.token)
        run = await ordo("health")
    assert run.code == 0, run.stderr


async def test_a_config_whose_token_file_is_unreadable_falls_back_to_ordo_token(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a systemd host: the config names the daemon's state dir, which this user cannot read.
    async with running_daemon(config) as d:
        client_config = tmp_path / "ordod.toml"
        client_config.write_text(daemon_toml(d.daemon.rep_endpoint, d.daemon.pub_endpoint, tmp_path / "private"))
        without = await ordo("--config", str(client_config), "health")
        monkeypatch.setenv("ORDO_TOKEN", d.token)
        with_env = await ordo("--config", str(client_config), "health")
    assert without.code == 1 and "UNAUTHORIZED" in without.stderr
    assert with_env.code == 0, with_env.stderr


def test_flags_beat_config_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-flag\n")
    config = tmp_path / "ordod.toml"
    config.write_text('[daemon]\nrep_endpoint = "tcp://127.0.0.1:1111"\n[auth]\ntoken_file = "/nonexistent"\n')
    monkeypatch.setenv("ORDO_ENDPOINT", "tcp://127.0.0.1:2222")
    monkeypatch.setenv("ORDO_TOKEN", "from-env")
    settings = ClientSettings.resolve(config=config, endpoint="tcp://127.0.0.1:3333", token_file=token_file)
    assert (settings.endpoint, settings.token) == ("tcp://127.0.0.1:3333", "from-flag")
    from_config = ClientSettings.resolve(config=config)
    assert (from_config.endpoint, from_config.token) == ("tcp://127.0.0.1:1111", "from-env")
    monkeypatch.delenv("ORDO_ENDPOINT")
    monkeypatch.delenv("ORDO_TOKEN")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert ClientSettings.resolve() == ClientSettings(DEFAULT_REP, "tcp://127.0.0.1:7751", None)
