"""Domain errors: every rejection carries a stable machine code and a human message.

The HTTP layer maps these to problem+json and the CLI to one-line messages; the
codes are part of the contract, so never rename one.
"""
from __future__ import annotations

from typing import Any


class AuditError(Exception):
    """Base of every error the service reports to a user."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailed(AuditError):
    """Malformed input: the fields and what is wrong with each."""

    code = "validation_failed"
    status = 422


class RuleViolation(AuditError):
    """Well-formed input that a domain rule refuses."""

    code = "rule_violation"
    status = 409


class NotFound(AuditError):
    code = "not_found"
    status = 404


class Forbidden(AuditError):
    """The acting user may not do this (role or scope)."""

    code = "forbidden"
    status = 403


class Conflict(AuditError):
    """A concurrent or stale write lost the race; nothing was appended."""

    code = "conflict"
    status = 409


class ConfigurationError(AuditError):
    code = "configuration_error"
    status = 500
