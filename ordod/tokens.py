"""Turns ``[auth]`` into the daemon's authenticator: the admin token named "default" plus
every ``[auth.tokens.<name>]``, each kept only as its SHA-256 digest."""

from __future__ import annotations

from ordod.auth import Principal, TokenAuthenticator, TokenFileError, ensure_token_file, token_digest
from ordod.config import Config, RateLimitConfig

DEFAULT_TOKEN_NAME = "default"  # noqa: S105 - a principal name, not a secret


def load_authenticator(config: Config) -> TokenAuthenticator:
    """Read (or create) every token file. Two names sharing one token are refused: the audit
    log must be able to say which of them acted."""
    digests: dict[bytes, Principal] = {
        token_digest(ensure_token_file(config.token_file)): Principal(DEFAULT_TOKEN_NAME, "admin")
    }
    for name, token_cfg in config.auth.tokens.items():
        if token_cfg.token_file is not None:
            digest = token_digest(ensure_token_file(token_cfg.token_file))
        else:
            assert token_cfg.token_sha256 is not None  # the config model requires one of the two
            digest = bytes.fromhex(token_cfg.token_sha256)
        if digest in digests:
            raise TokenFileError(f"auth.tokens.{name}: the same token as {digests[digest].name!r}; "
                                 "every name needs its own token")
        digests[digest] = Principal(name, token_cfg.role)
    return TokenAuthenticator(digests=digests)


def rate_limits(config: Config) -> dict[str, RateLimitConfig]:
    """The order rate limit of every token name (the default token uses [auth.rate_limit])."""
    limits = {DEFAULT_TOKEN_NAME: config.auth.rate_limit}
    for name, token_cfg in config.auth.tokens.items():
        limits[name] = token_cfg.rate_limit or config.auth.rate_limit
    return limits
