"""Secrets by reference: systemd credentials, files, environment; errors never show a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordod.credentials import CredentialError, resolve_secret
from tests.harness import make_config, running_daemon

SECRET = "s3cr3t-value-that-must-not-leak"


@pytest.fixture
def credentials_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory


def test_a_systemd_credential_is_read_from_credentials_directory(credentials_dir: Path) -> None:
    (credentials_dir / "fyers-access-token").write_text(SECRET + "\n")
    secret = resolve_secret("credential:fyers-access-token")
    assert secret.get_secret_value() == SECRET
    assert SECRET not in repr(secret) and SECRET not in str(secret)


def test_file_and_env_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret"
    path.write_text(f"  {SECRET}  \n")
    monkeypatch.setenv("ORDO_TEST_SECRET", SECRET)
    assert resolve_secret(f"file:{path}").get_secret_value() == SECRET
    assert resolve_secret("env:ORDO_TEST_SECRET").get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("credential:missing", "no credential 'missing'"),
        ("credential:../escape", "no credential '../escape'"),
        ("file:relative/path", "must be absolute"),
        ("env:ORDO_TEST_UNSET_VARIABLE", "unset or empty"),
        (SECRET, "not shown"),
    ],
)
def test_unresolvable_references_name_the_reference_not_a_secret(
    credentials_dir: Path, reference: str, message: str
) -> None:
    (credentials_dir / "other").write_text(SECRET)
    with pytest.raises(CredentialError, match=message) as info:
        resolve_secret(reference)
    assert SECRET[10:] not in str(info.value)


def test_without_credentials_directory_the_error_says_which_unit_setting_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(CredentialError, match="LoadCredential=hdfc-api-secret"):
        resolve_secret("credential:hdfc-api-secret")


async def test_the_daemon_takes_its_token_from_the_ordod_token_credential(
    credentials_dir: Path, state_dir: Path
) -> None:
    token = credentials_dir / "ordod-token"
    token.write_text("token-from-systemd\n")
    token.chmod(0o440)  # as systemd leaves it: read-only, the service user's access by ACL (group bits)
    config = make_config(state_dir)
    assert config.token_file == credentials_dir / "ordod-token"
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
    (credentials_dir / "ordod-token").write_text("from-credential")
    config = make_config(tmp_path / "state", auth={"token_file": str(tmp_path / "mine")})
    assert config.token_file == tmp_path / "mine"
