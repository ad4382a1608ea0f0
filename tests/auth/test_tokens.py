"""Named tokens from [auth.tokens.<name>]: from a 0600 file or by SHA-256, never in clear in
the config, never in a log line or an audit event."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

import pytest

from ordod.auth import Principal, TokenAuthenticator, TokenFileError
from ordod.config import ConfigError, config_from_mapping
from ordod.daemon import Daemon
from tests.harness import ORDER, make_config, named_tokens, running_daemon


async def test_a_missing_token_file_is_created_0600_with_a_random_token(tmp_path: Path) -> None:
    token_file = tmp_path / "keys" / "algo.token"
    algo = {"role": "trader", "token_file": str(token_file)}
    config = make_config(tmp_path / "state", auth={"tokens": {"algo": algo}})
    async with running_daemon(config) as d:
        token = token_file.read_text().strip()
        reply = await d.client(token=token).place("algo-1")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert len(token) >= 32
    assert reply["status"] == "success"


async def test_a_token_given_by_its_sha256_authenticates_as_its_name(tmp_path: Path) -> None:
    token = "correct horse battery staple"
    digest = hashlib.sha256(token.encode()).hexdigest().upper()
    config = make_config(tmp_path / "state", auth={"tokens": {"ops": {"role": "viewer", "token_sha256": digest}}})
    async with running_daemon(config) as d:
        health = await d.client(token=token).call("health")
        order = await d.client(token=token).place("ops-1")
        default = await d.client().call("kill_switch", active=True, reason="default is admin")
    assert health["ok"] is True
    assert (order["error"]["code"], order["error"]["message"]) == (
        "FORBIDDEN", "token 'ops' has role viewer; place_order needs trader")
    assert default["kill_switch"]["set_by"] == "default"


async def test_a_token_file_others_can_read_is_refused_without_revealing_it(tmp_path: Path) -> None:
    tables, tokens = named_tokens(tmp_path / "tokens", {"loose": "trader"})
    os.chmod(tables["loose"]["token_file"], 0o644)
    daemon = Daemon(make_config(tmp_path / "state", auth={"tokens": tables}))
    with pytest.raises(TokenFileError, match="mode 0644") as refused:
        await daemon.start()
    assert tokens["loose"] not in str(refused.value)


async def test_two_names_with_one_token_are_refused(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"shared").hexdigest()
    tokens = {"a": {"role": "viewer", "token_sha256": digest}, "b": {"role": "admin", "token_sha256": digest}}
    with pytest.raises(TokenFileError, match="same token"):
        await Daemon(make_config(tmp_path / "state", auth={"tokens": tokens})).start()


@pytest.mark.parametrize(("table", "complaint"), [
    ({"role": "trader", "token": "s3cret-in-clear"}, "Extra inputs are not permitted"),
    ({"role": "trader"}, "exactly one of token_file or token_sha256"),
    ({"role": "trader", "token_file": "/x", "token_sha256": "0" * 64}, "exactly one"),
    ({"role": "root", "token_sha256": "0" * 64}, "auth.tokens.t.role"),
    ({"role": "viewer", "token_sha256": "s3cret-in-clear"}, "auth.tokens.t.token_sha256"),
])
def test_config_refuses_tokens_in_clear_and_bad_tables_without_echoing_them(table: dict[str, str],
                                                                           complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint) as refused:
        config_from_mapping({"auth": {"tokens": {"t": table}}})
    assert "s3cret" not in str(refused.value)


def test_the_name_default_is_kept_for_the_state_directory_token() -> None:
    with pytest.raises(ConfigError, match="reserved"):
        config_from_mapping({"auth": {"tokens": {"default": {"role": "viewer", "token_sha256": "0" * 64}}}})


def test_authenticator_maps_each_token_to_its_principal_only() -> None:
    auth = TokenAuthenticator({"t-one": Principal("one", "viewer"), "t-two": Principal("two", "admin")})
    assert auth.authenticate("t-two") == Principal("two", "admin")
    for wrong in ("t-one ", "t-", "", None, "t-three"):
        with pytest.raises(Exception, match="token"):
            auth.authenticate(wrong)


async def test_no_token_ever_reaches_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tables, tokens = named_tokens(tmp_path / "tokens", {"vera": "viewer", "tom": "trader"})
    caplog.set_level(logging.DEBUG)
    config = make_config(tmp_path / "state", auth={"tokens": tables})
    async with running_daemon(config) as d:
        await d.client(token=tokens["vera"]).place("log-1")
        await d.client(token=tokens["tom"]).place("log-2", order={**ORDER, "qty": -1})
        await d.client(token=tokens["tom"] + "x").call("health")
        await d.client(token=tokens["tom"]).call("kill_switch", active=False)
        default_token = d.token
    text = caplog.text
    assert text  # the daemon did log
    for token in (*tokens.values(), default_token):
        assert token not in text
