"""Tokens: a private token file created on first start, and constant-time checks against it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ordo_shared.errors import Unauthorized
from ordod.auth import Principal, TokenAuthenticator, ensure_token_file


def test_a_missing_token_file_is_created_private_with_a_random_token(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token"
    token = ensure_token_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8") == token + "\n"
    assert len(token) >= 40  # 32 random bytes, URL-safe base64


def test_the_folder_made_for_the_token_is_private(tmp_path: Path) -> None:
    ensure_token_file(tmp_path / "state" / "token")
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) & 0o077 == 0


def test_two_new_token_files_hold_different_tokens(tmp_path: Path) -> None:
    assert ensure_token_file(tmp_path / "a") != ensure_token_file(tmp_path / "b")


def test_an_existing_token_file_is_reused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "token"
    first = ensure_token_file(path)
    mtime = path.stat().st_mtime_ns
    assert ensure_token_file(path) == first
    assert path.stat().st_mtime_ns == mtime


def test_a_token_written_by_hand_is_read_without_surrounding_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  s3cret-token \n\n", encoding="utf-8")
    path.chmod(0o600)
    assert ensure_token_file(path) == "s3cret-token"


def test_an_empty_token_file_is_refused_rather_than_trusted(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        ensure_token_file(path)


ALICE = Principal("alice", "trader")
OPS = Principal("ops", "admin")


@pytest.fixture
def authenticator() -> TokenAuthenticator:
    return TokenAuthenticator({"alice-token": ALICE, "ops-token": OPS})


@pytest.mark.parametrize("token", ["alice-token", "ops-token"])
def test_a_known_token_maps_to_its_principal(authenticator: TokenAuthenticator, token: str) -> None:
    expected = {"alice-token": ALICE, "ops-token": OPS}[token]
    assert authenticator.authenticate(token) == expected


@pytest.mark.parametrize("token", [None, ""])
def test_a_missing_token_is_unauthorized(authenticator: TokenAuthenticator, token: str | None) -> None:
    with pytest.raises(Unauthorized, match="a token is required") as caught:
        authenticator.authenticate(token)
    assert caught.value.http_status == 401


@pytest.mark.parametrize(
    "token",
    ["wrong", "alice-token ", " alice-token", "ALICE-TOKEN", "alice-toke", "alice-tokenx", "\ud800", "alice-token\x00"],
)
def test_a_wrong_token_is_unauthorized(authenticator: TokenAuthenticator, token: str) -> None:
    with pytest.raises(Unauthorized, match="invalid token"):
        authenticator.authenticate(token)


def test_with_no_tokens_configured_nothing_authenticates() -> None:
    with pytest.raises(Unauthorized):
        TokenAuthenticator({}).authenticate("anything")


def test_the_error_never_echoes_the_presented_token(authenticator: TokenAuthenticator) -> None:
    with pytest.raises(Unauthorized) as caught:
        authenticator.authenticate("leaked-secret-value")
    assert "leaked-secret-value" not in caught.value.message


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret\n")
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        ensure_token_file(path)
