"""The daemon's own token as a systemd credential (LoadCredential=ordod_token:...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordod.credentials import credential_file
from tests.harness import make_config, running_daemon


@pytest.fixture
def credentials_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory


async def test_the_daemon_takes_its_token_from_the_ordod_token_credential(
    credentials_dir: Path, state_dir: Path
) -> None:
    token = credentials_dir / "ordod_token"
    token.write_text("token-from-systemd\n")
    token.chmod(0o440)  # as systemd leaves it: read-only, the service user's access by ACL (group bits)
    config = make_config(state_dir)
    assert config.token_file == credentials_dir / "ordod_token"
    async with running_daemon(config) as d:
        accepted = await d.client(token="token-from-systemd").call("health")
        refused = await d.client(token="anything-else").call("health")
    assert accepted["ok"] is True
    assert refused["error"]["code"] == "UNAUTHORIZED"
    assert not (state_dir / "token").exists(), "no second token may be minted beside the credential"


def test_a_group_readable_token_outside_the_credentials_directory_is_still_refused(
    credentials_dir: Path, tmp_path: Path
) -> None:
    from ordod.auth import ensure_token_file

    loose = tmp_path / "token"
    loose.write_text("visible-to-the-group\n")
    loose.chmod(0o640)
    with pytest.raises(PermissionError, match="readable by others"):
        ensure_token_file(loose)


def test_an_explicit_token_file_wins_over_the_credential(credentials_dir: Path, tmp_path: Path) -> None:
    (credentials_dir / "ordod_token").write_text("from-credential")
    config = make_config(tmp_path / "state", auth={"token_file": str(tmp_path / "mine")})
    assert config.token_file == tmp_path / "mine"


def test_only_a_plain_name_in_the_credentials_directory_counts(credentials_dir: Path) -> None:
    (credentials_dir / "ordod_token").write_text("t")
    assert credential_file("ordod_token") == credentials_dir / "ordod_token"
    assert credential_file("../credentials/ordod_token") is None
    assert credential_file("missing") is None
    assert credential_file("ordod_token", environ={}) is None
