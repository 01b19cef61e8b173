"""Domain errors raised by services; the web layer maps each kind to one HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected failure; `code` is the contract's machine error code."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(DomainError):
    """Missing, or owned by someone else (never reveal which)."""

    code = "not_found"


class Conflict(DomainError):
    """The request is valid but the current state forbids it."""

    code = "conflict"


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a rule; `errors` maps field -> messages."""

    code = "validation_error"

    def __init__(self, message: str, errors: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = errors or {}


class InvalidCredentials(DomainError):
    code = "invalid_credentials"


class PermissionDenied(DomainError):
    code = "forbidden"


class ServiceUnavailable(DomainError):
    """A dependency (database, broker) is down; the client should retry."""

    code = "service_unavailable"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
