"""Typed errors with stable codes: the one vocabulary every interface answers in."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Request-level codes: ``ok: false`` means nothing reached any broker."""

    BAD_REQUEST = "BAD_REQUEST"
    UNKNOWN_OP = "UNKNOWN_OP"
    IDEMPOTENCY_KEY_MISSING = "IDEMPOTENCY_KEY_MISSING"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    KILL_SWITCH_ACTIVE = "KILL_SWITCH_ACTIVE"
    NOT_FOUND = "NOT_FOUND"
    IDEMPOTENCY_KEY_IN_FLIGHT = "IDEMPOTENCY_KEY_IN_FLIGHT"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    KILL_SWITCH_HOLD = "KILL_SWITCH_HOLD"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL = "INTERNAL"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    LOGIN_FAILED = "LOGIN_FAILED"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNKNOWN_OP: 400,
    ErrorCode.IDEMPOTENCY_KEY_MISSING: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.KILL_SWITCH_ACTIVE: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT: 409,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.KILL_SWITCH_HOLD: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.STORAGE_UNAVAILABLE: 503,
    ErrorCode.SHUTTING_DOWN: 503,
    ErrorCode.LOGIN_FAILED: 502,
}


class BrokerErrorCode(StrEnum):
    """Per-broker codes carried in ``results[].error_code``."""

    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    ORDER_REJECTED = "ORDER_REJECTED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    INVALID_SYMBOL = "INVALID_SYMBOL"
    KILL_SWITCH_ACTIVE = "KILL_SWITCH_ACTIVE"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"


class OrdoError(Exception):
    """Root of every request-level error; ``code`` is what clients act on."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


class BadRequest(OrdoError):
    code = ErrorCode.BAD_REQUEST


class UnknownOp(OrdoError):
    code = ErrorCode.UNKNOWN_OP


class IdempotencyKeyMissing(OrdoError):
    """HTTP only: ``POST /api/v1/orders`` without an ``Idempotency-Key`` header."""

    code = ErrorCode.IDEMPOTENCY_KEY_MISSING


class Unauthorized(OrdoError):
    code = ErrorCode.UNAUTHORIZED


class Forbidden(OrdoError):
    code = ErrorCode.FORBIDDEN


class KillSwitchActive(OrdoError):
    code = ErrorCode.KILL_SWITCH_ACTIVE


class KillSwitchHold(OrdoError):
    """The switch was turned on too recently to be turned off: no accidental flip-back."""

    code = ErrorCode.KILL_SWITCH_HOLD


class NotFound(OrdoError):
    code = ErrorCode.NOT_FOUND


class IdempotencyKeyInFlight(OrdoError):
    code = ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT


class MethodNotAllowed(OrdoError):
    """HTTP only: the path exists but not with this method."""

    code = ErrorCode.METHOD_NOT_ALLOWED


class PayloadTooLarge(OrdoError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(OrdoError):
    """HTTP only: a request body that is not ``application/json`` (UTF-8)."""

    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class IdempotencyKeyReused(OrdoError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class ValidationFailed(OrdoError):
    code = ErrorCode.VALIDATION_ERROR


class RateLimited(OrdoError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, field: str | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s


class StorageUnavailable(OrdoError):
    code = ErrorCode.STORAGE_UNAVAILABLE


class ShuttingDown(OrdoError):
    code = ErrorCode.SHUTTING_DOWN


class LoginFailed(OrdoError):
    """A broker refused a login step (wrong code or OTP, expired login) or could not be reached."""

    code = ErrorCode.LOGIN_FAILED


class InternalError(OrdoError):
    code = ErrorCode.INTERNAL
