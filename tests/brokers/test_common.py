"""The shared adapter pieces: rate limiter, JWT expiry, credentials, encrypted token store,
session states."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from ordod.brokers.common.config import RateLimitConfig, SecretRef
from ordod.brokers.common.credentials import CredentialError, read_secret
from ordod.brokers.common.http import retry_after_s
from ordod.brokers.common.jwt import jwt_expiry
from ordod.brokers.common.ratelimit import RateLimiter
from ordod.brokers.common.session import SessionHolder
from ordod.brokers.common.token_store import StoredToken, TokenStore, fernet_from_material, token_store_for
from ordod.brokers.errors import RateLimitExceeded, SessionExpired
from ordod.clock import ManualClock
from ordod.config import ConfigError, config_from_mapping
from tests.brokers.helpers import RecordingSleep
from tests.fakes.server import make_jwt


def windows_hold(times: list[float], count: int, window_s: float) -> bool:
    """No ``window_s``-long window holds more than ``count`` of ``times``."""
    ordered = sorted(times)
    return all(ordered[i + count] - ordered[i] >= window_s - 1e-9 for i in range(len(ordered) - count))


async def test_a_burst_of_orders_is_held_to_the_configured_rate() -> None:
    clock = ManualClock()
    sleep = RecordingSleep(clock)
    limiter = RateLimiter(RateLimitConfig(orders_per_second=10, requests_per_second=0, requests_per_minute=0,
                                          max_wait_s=10), clock, sleep)
    start = clock.monotonic()
    admitted = [await limiter.acquire("order") for _ in range(35)]
    assert windows_hold(admitted, 10, 1.0)
    assert admitted[:10] == [start] * 10  # the first ten go at once
    assert admitted[-1] - start >= 3.0  # 35 orders need at least three more seconds
    assert sum(sleep.waits) == pytest.approx(admitted[-1] - start)


async def test_concurrent_callers_are_queued_in_order_and_held_to_every_limit() -> None:
    clock = ManualClock()
    limiter = RateLimiter(RateLimitConfig(orders_per_second=3, requests_per_second=8, requests_per_minute=12,
                                          max_wait_s=60), clock, RecordingSleep())
    kinds = ["order", "request"] * 9
    admitted = await asyncio.gather(*(limiter.acquire(k) for k in kinds))  # type: ignore[arg-type]
    orders = [t for t, k in zip(admitted, kinds, strict=True) if k == "order"]
    assert windows_hold(orders, 3, 1.0)
    assert windows_hold(list(admitted), 8, 1.0)
    assert windows_hold(list(admitted), 12, 60.0)
    assert admitted[-1] - admitted[0] >= 60.0
    assert list(admitted) == sorted(admitted)  # first come, first served


async def test_a_call_whose_turn_is_past_the_bound_fails_without_waiting() -> None:
    clock = ManualClock()
    sleep = RecordingSleep(clock)
    limiter = RateLimiter(RateLimitConfig(orders_per_second=2, max_wait_s=0.4), clock, sleep)
    await limiter.acquire("order")
    await limiter.acquire("order")
    with pytest.raises(RateLimitExceeded) as caught:
        await limiter.acquire("order")
    assert caught.value.sent is False
    assert caught.value.retry_after_s == pytest.approx(1.0)
    assert sleep.waits == []
    clock.advance(1.0)
    await limiter.acquire("order")  # the refused call took no slot


async def test_background_calls_never_wait_and_always_leave_room_for_orders() -> None:
    clock = ManualClock()
    sleep = RecordingSleep()
    limiter = RateLimiter(RateLimitConfig(orders_per_second=10, requests_per_second=10, requests_per_minute=0,
                                          background_share=0.5, max_wait_s=2), clock, sleep)
    start = clock.monotonic()
    for _ in range(5):
        await limiter.acquire("background")  # status polls, session checks
    with pytest.raises(RateLimitExceeded) as refused:
        await limiter.acquire("background")  # past its share of the second: refused at once, unsent
    assert refused.value.sent is False
    orders = [await limiter.acquire("order") for _ in range(5)]
    assert orders == [start] * 5  # the other half of the second is still there for orders
    queued = await limiter.acquire("order")  # the next order waits its turn...
    assert queued == pytest.approx(start + 1.0)
    with pytest.raises(RateLimitExceeded):
        await limiter.acquire("background")  # ...and no background call slips in ahead of it
    assert sleep.waits == [pytest.approx(1.0)]


async def test_a_broker_back_off_pauses_every_call() -> None:
    clock = ManualClock()
    limiter = RateLimiter(RateLimitConfig(max_wait_s=5), clock, RecordingSleep(clock))
    limiter.pause(2.5)
    start = clock.monotonic()
    assert await limiter.acquire("request") == pytest.approx(start + 2.5)


def _token(payload: object) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{body}.sig"


@pytest.mark.parametrize("token, expected", [
    (_token({"sub": "X", "exp": 1722958997}), datetime.fromtimestamp(1722958997, UTC)),
    (_token({"sub": "X"}), None),
    (_token({"exp": "tomorrow"}), None),
    (_token({"exp": True}), None),
    (_token(["not", "a", "dict"]), None),
    ("not-a-jwt", None),
    ("a.!!!.c", None),
    ("", None),
])
def test_jwt_expiry_is_read_without_trusting_anything_else(token: str, expected: datetime | None) -> None:
    assert jwt_expiry(token) == expected


def test_secrets_come_from_env_file_or_systemd_credentials(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("  from-file\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "fyers_secret").write_text("from-credential")
    env = {"SECRET": "from-env", "CREDENTIALS_DIRECTORY": str(creds)}
    assert read_secret(SecretRef(env="SECRET"), "x", env).get_secret_value() == "from-env"
    assert read_secret(SecretRef(file=tmp_path / "secret.txt"), "x", env).get_secret_value() == "from-file"
    assert read_secret(SecretRef(credential="fyers_secret"), "x", env).get_secret_value() == "from-credential"


@pytest.mark.parametrize("ref, env, complaint", [
    (SecretRef(env="MISSING"), {}, "MISSING is not set"),
    (SecretRef(env="EMPTY"), {"EMPTY": "  "}, "is empty"),
    (SecretRef(file=Path("/nonexistent/secret")), {}, "cannot read"),
    (SecretRef(credential="x"), {}, "CREDENTIALS_DIRECTORY is not set"),
])
def test_a_missing_secret_is_a_config_error_naming_where_it_was_looked_for(
    ref: SecretRef, env: dict[str, str], complaint: str,
) -> None:
    with pytest.raises(CredentialError, match=complaint) as caught:
        read_secret(ref, "brokers.fyers.app_secret", env)
    assert str(caught.value).startswith("brokers.fyers.app_secret:")


def test_config_refuses_inline_secrets_and_ambiguous_references() -> None:
    base = {"adapter": "fyers", "app_id": "AB12-100", "redirect_uri": "http://127.0.0.1:7752/fyers/callback"}
    with pytest.raises(ConfigError, match="never the secret itself") as inline:
        config_from_mapping({"brokers": {"f": {**base, "app_secret": "s3cr3t-value"}}})
    assert "s3cr3t-value" not in str(inline.value)
    with pytest.raises(ConfigError, match="exactly one of file, env or credential"):
        config_from_mapping({"brokers": {"f": {**base, "app_secret": {"env": "A", "file": "/x"}}}})
    with pytest.raises(ConfigError, match=r"brokers\.f\.rate_limit\.burst: Extra inputs"):
        config_from_mapping({"brokers": {"f": {**base, "app_secret": {"env": "A"}, "rate_limit": {"burst": 3}}}})
    with pytest.raises(ConfigError, match=r"brokers\.f\.latency_ms: Extra inputs"):
        config_from_mapping({"brokers": {"f": {**base, "app_secret": {"env": "A"}, "latency_ms": 1}}})
    with pytest.raises(ConfigError, match="adapter must be one of: paper, fyers, hdfc"):
        config_from_mapping({"brokers": {"f": {"adapter": "zerodha"}}})


async def test_tokens_are_encrypted_at_rest_in_a_0600_file(tmp_path: Path) -> None:
    store = token_store_for("fyers", None, tmp_path)
    secret = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.very-secret-signature"
    await store.save(StoredToken(SecretStr(secret), 1.0))
    raw = store.path.read_bytes()
    assert secret.encode() not in raw and b"very-secret" not in raw
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    key_file = tmp_path / "sessions" / "token.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    again = token_store_for("fyers", None, tmp_path)  # a restart reuses the generated key
    loaded = await again.load()
    assert loaded is not None and loaded.access_token.get_secret_value() == secret


async def test_a_token_stored_under_another_key_is_ignored_not_fatal(tmp_path: Path) -> None:
    await token_store_for("fyers", SecretStr("k" * 40), tmp_path).save(StoredToken(SecretStr("t"), 1.0))
    other = token_store_for("fyers", SecretStr("z" * 40), tmp_path)
    assert await other.load() is None


def test_key_material_is_a_fernet_key_or_long_enough_to_derive_one() -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    token = fernet_from_material(SecretStr(key)).encrypt(b"x")
    assert Fernet(key.encode()).decrypt(token) == b"x"
    with pytest.raises(ValueError, match="shorter than 32 bytes"):
        fernet_from_material(SecretStr("short"))
    with pytest.raises(ConfigError, match=r"brokers\.b\.token_key"):
        token_store_for("b", SecretStr("short"), Path("/nonexistent"))


async def test_session_states_follow_the_tokens_expiry(tmp_path: Path) -> None:
    clock = ManualClock()
    holder = SessionHolder("fyers", TokenStore(tmp_path / "t", fernet_from_material(SecretStr("k" * 32))), clock,
                           expiry_margin_s=600)
    assert holder.info().state == "login_required"
    with pytest.raises(SessionExpired):
        holder.token()
    await holder.adopt(make_jwt("S", clock.time() + 3600))
    assert holder.info().state == "valid"
    assert holder.info().expires_at == datetime.fromtimestamp(int(clock.time() + 3600), UTC)
    clock.advance(3000)
    assert holder.info().state == "expiring"
    holder.token()  # still usable
    clock.advance(600)
    assert holder.info().state == "expired"
    with pytest.raises(SessionExpired) as caught:
        holder.token()
    assert caught.value.sent is False
    await holder.adopt(make_jwt("S", clock.time() + 3600))
    holder.mark_dead()
    assert holder.info().state == "login_required"
    reloaded = SessionHolder("fyers", TokenStore(tmp_path / "t", fernet_from_material(SecretStr("k" * 32))), clock,
                             expiry_margin_s=600)
    await reloaded.load()
    assert reloaded.info().state == "valid"  # a restart trusts the stored token until the broker says otherwise


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "2", "X-Retry-After-Ms": "1500"}, 1.5),  # the finer hint wins
    ({"Retry-After": "3"}, 3.0),
    ({"X-Retry-After-Ms": "250"}, 0.25),
    ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
    ({"Retry-After": "-1"}, None),
    ({}, None),
])
def test_retry_after_hints_are_read_from_the_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(headers) == expected


async def test_every_admitted_call_reports_its_wait_for_the_metrics() -> None:
    clock = ManualClock()
    limiter = RateLimiter(RateLimitConfig(orders_per_second=2, requests_per_second=0, requests_per_minute=0,
                                          max_wait_s=10), clock, RecordingSleep(clock))
    waits: list[float] = []
    limiter.on_wait = waits.append
    for _ in range(3):
        await limiter.acquire("order")
    assert waits == [0.0, 0.0, pytest.approx(1.0)]
