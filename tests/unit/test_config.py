"""The daemon's configuration: defaults, per-broker overrides, and one file per failure mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ordod.config import BreakerConfig, ConfigError, RetryConfig, config_from_mapping, load_config

CONFIGS = Path(__file__).resolve().parent.parent / "data" / "config"


def test_no_file_gives_two_enabled_paper_brokers_fyers_and_hdfc() -> None:
    config = load_config(None)
    assert sorted(config.brokers) == ["fyers", "hdfc"]
    assert all(b.adapter == "paper" and b.enabled for b in config.brokers.values())


def test_no_file_gives_documented_breaker_retry_and_limit_defaults() -> None:
    config = load_config(None)
    assert config.breaker_for("fyers") == BreakerConfig(failure_threshold=5, reset_timeout_s=30.0)
    assert config.retry_for("hdfc") == RetryConfig(max_attempts=3, initial_backoff_ms=50.0,
                                                   max_backoff_ms=1000.0, call_timeout_s=10.0)
    assert config.limits.max_qty == 100_000
    assert config.daemon.idempotency_ttl_h == 24.0


def test_state_dir_argument_wins_and_the_token_file_defaults_into_it(tmp_path: Path) -> None:
    config = load_config(None, state_dir=tmp_path)
    assert config.daemon.state_dir == tmp_path
    assert config.token_file == tmp_path / "token"


def test_an_explicit_token_file_is_used_as_given(tmp_path: Path) -> None:
    config = config_from_mapping({"auth": {"token_file": str(tmp_path / "secret")}})
    assert config.token_file == tmp_path / "secret"


def test_a_broker_override_replaces_the_global_breaker_and_retry_for_that_broker_only() -> None:
    config = load_config(CONFIGS / "valid_per_broker_override.toml")
    assert config.breaker_for("fyers") == BreakerConfig(failure_threshold=2, reset_timeout_s=5.0)
    assert config.retry_for("fyers").max_attempts == 6
    assert config.retry_for("fyers").call_timeout_s == 2.0
    assert config.breaker_for("hdfc") == BreakerConfig(failure_threshold=5, reset_timeout_s=60.0)
    assert config.retry_for("hdfc").max_attempts == 3
    assert config.retry_for("hdfc").call_timeout_s == 4.0


def test_a_partial_broker_override_inherits_the_other_keys_from_the_global_table() -> None:
    config = config_from_mapping(
        {
            "retry": {"call_timeout_s": 3},
            "breaker": {"reset_timeout_s": 120},
            "brokers": {"hdfc": {"retry": {"max_attempts": 5}, "breaker": {"failure_threshold": 2}}},
        }
    )
    assert config.retry_for("hdfc").max_attempts == 5
    assert config.retry_for("hdfc").call_timeout_s == 3.0
    assert config.breaker_for("hdfc").reset_timeout_s == 120.0


def test_listing_brokers_replaces_the_default_pair() -> None:
    config = config_from_mapping({"brokers": {"paper1": {}}})
    assert list(config.brokers) == ["paper1"]


def test_a_disabled_broker_is_allowed_while_another_is_enabled() -> None:
    config = config_from_mapping({"brokers": {"fyers": {"enabled": False}, "hdfc": {}}})
    assert [name for name, b in config.brokers.items() if b.enabled] == ["hdfc"]


def test_floats_accept_toml_integers() -> None:
    config = config_from_mapping({"retry": {"call_timeout_s": 3}})
    assert config.retry.call_timeout_s == 3.0


def test_the_loaded_config_is_frozen() -> None:
    config = load_config(None)
    with pytest.raises(ValidationError):
        config.limits.max_qty = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("filename", "key"),
    [
        ("unknown_key.toml", "limit"),
        ("unknown_broker_key.toml", "brokers.fyers.latncy_ms"),
        ("bad_type.toml", "retry.max_attempts"),
        ("out_of_range.toml", "breaker.failure_threshold"),
        ("no_enabled_broker.toml", "enabled"),
        ("bad_broker_id.toml", "brokers.Fyers"),
        ("unknown_adapter.toml", "brokers.fyers.adapter"),
    ],
)
def test_each_bad_file_is_a_config_error_naming_the_key(filename: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIGS / filename)
    assert key in str(caught.value)


def test_no_enabled_broker_names_the_brokers_table() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIGS / "no_enabled_broker.toml")
    assert "invalid configuration: brokers" in str(caught.value)


def test_a_file_that_is_not_toml_is_a_config_error_with_the_position() -> None:
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 1"):
        load_config(CONFIGS / "not_toml.toml")


def test_a_missing_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match=r"cannot read config .*nowhere\.toml"):
        load_config(missing)


def test_every_problem_in_a_file_is_reported_not_just_the_first() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"retry": {"max_attempts": 0}, "limits": {"max_qty": "many"}})
    message = str(caught.value)
    assert "retry.max_attempts" in message and "limits.max_qty" in message
