"""RFC 9457 problem+json for every error, each with a stable machine ``code``.

Domain errors carry their own code and status; malformed requests, authentication,
oversized bodies and an unreachable database are mapped here, so no bad input ever
becomes a 500 and every error body has the same shape.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from audit_service.errors import AuditError

log = logging.getLogger("audit_service.api")

PROBLEM = "application/problem+json"
HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
              413: "body_too_large", 415: "unsupported_media_type", 422: "validation_failed",
              429: "too_many_requests", 503: "unavailable"}


def problem(status: int, code: str, detail: str, *, errors: Any = None,
            headers: dict | None = None, **extra: Any) -> Response:
    body = {"type": f"https://audit-service.example/problems/{code}", "title": code.replace("_", " "),
            "status": status, "code": code, "detail": detail, "instance": request.path}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    text = json.dumps(body, ensure_ascii=False)
    if not text.isascii() and _unencodable(text):  # e.g. an unknown field named "\ud800"
        text = json.dumps(body, ensure_ascii=True)
    response = Response(text, status=status, mimetype=PROBLEM)
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _unencodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _database_errors() -> tuple[type, ...]:
    import sqlite3

    import psycopg
    import psycopg_pool
    from eventsourcing.persistence import PersistenceError

    return (PersistenceError, psycopg.Error, psycopg_pool.PoolTimeout, sqlite3.Error)


# SQLSTATEs (PostgreSQL) that mean "the database cannot take this now", not "a bug".
READ_ONLY_STATES = {"25006"}                       # read_only_sql_transaction
FULL_STATES = {"53100", "53200", "53400"}          # disk_full, out_of_memory, config limit
UNAVAILABLE_PREFIXES = ("08", "57P", "53300", "40001", "40P01", "55P03")


def classify_database_error(exc: BaseException) -> tuple[str, str, int] | None:
    """(code, message, retry-after seconds) for a database that is down, read-only or full;
    None for anything else (a programming error stays a 500)."""
    import sqlite3

    import psycopg
    import psycopg_pool
    from eventsourcing.persistence import InterfaceError, OperationalError

    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 6:
        seen.append(current)
        current = current.__cause__ or current.__context__
    for e in seen:
        state = getattr(e, "sqlstate", None) if isinstance(e, psycopg.Error) else None
        text = str(e).lower()
        if state in READ_ONLY_STATES or "readonly database" in text or "read-only" in text:
            return ("database_read_only", "the database accepts no writes at the moment"
                    " (read-only); nothing was saved", 30)
        if state in FULL_STATES or "disk is full" in text or "disk full" in text:
            return ("database_full", "the database is out of space; nothing was saved", 60)
        if state and state.startswith(UNAVAILABLE_PREFIXES):
            return ("database_unavailable", "the database cannot be reached; retry shortly", 2)
    if any(isinstance(e, (OperationalError, InterfaceError, psycopg.OperationalError,
                          psycopg.InterfaceError, psycopg_pool.PoolTimeout,
                          sqlite3.OperationalError)) for e in seen):
        return ("database_unavailable", "the database cannot be reached; retry shortly", 2)
    return None


class Unavailable(Exception):
    """A dependency is not ready; the client should retry after ``retry_after`` seconds."""

    def __init__(self, code: str, message: str, retry_after: int = 1):
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after


def http_problem(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "http_error")
    errors = None
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:  # webargs / marshmallow: {"json": {"field": ["msg"]}}
        errors = _flatten(messages.get("json", messages) if isinstance(messages, dict) else messages)
        code = "validation_failed"
    detail = exc.description or code
    if status == 422 and errors:
        detail = "invalid input: " + ", ".join(sorted(errors))
    if status == 413:
        detail = f"the request body is larger than {request.max_content_length} bytes"
    return problem(status, code, detail, errors=errors)


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """{"a": {"b": ["x"]}, "c": {0: {"d": ["y"]}}} -> {"a.b": "x", "c[0].d": "y"}."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = (f"{prefix}[{key}]" if isinstance(key, int) else
                    f"{prefix}.{key}" if prefix else str(key))
            out.update(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_body"] = " ".join(messages)
    else:
        out[prefix or "_body"] = str(messages)
    return out


def register(app: Flask) -> None:
    db_errors = _database_errors()

    @app.errorhandler(AuditError)
    def _audit_error(exc: AuditError):
        if exc.status >= 500:
            log.error("configuration error: %s", exc.message)
            return problem(503, exc.code, exc.message, headers={"Retry-After": "5"})
        details = exc.details
        errors = details if isinstance(details, dict) and exc.status == 422 else None
        extra = {"details": details} if details is not None and errors is None else {}
        return problem(exc.status, exc.code, exc.message, errors=errors, **extra)

    @app.errorhandler(Unavailable)
    def _unavailable(exc: Unavailable):
        return problem(503, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after)})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return http_problem(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, db_errors):
            found = classify_database_error(exc)
            if found is not None:
                from .services import services

                code, message, retry = found
                services().reset_connections()
                log.warning("%s: %s", code, str(exc).strip().splitlines()[:1])
                return problem(503, code, message, headers={"Retry-After": str(retry)})
        log.exception("unhandled error")
        return problem(500, "internal_error", "an unexpected error occurred; it was logged")
