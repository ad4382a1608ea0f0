"""Reads a JWT's ``exp`` without verifying it: only the broker can say whether a token is
good (the health probe asks it); the expiry is what Ordo shows and plans the login by."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime


def jwt_expiry(token: str) -> datetime | None:
    """The token's ``exp`` as an aware UTC datetime, or None when it is not a JWT with one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):  # bad base64, bad UTF-8 or bad JSON
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
