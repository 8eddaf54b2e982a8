"""How every write route runs: as the authenticated actor, idempotently, shaped alike.

A POST with ``Idempotency-Key`` is run once per (user, key): the service saves an
idempotency record in the same transaction as the command's events, so a retry gets the
original answer and appends nothing, and the same key with another body is refused.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from flask import request, url_for

from audit_service.application import CommandResult, IdempotencyClaim
from audit_service.errors import ValidationFailed
from audit_service.validation import text_problem

from .auth import actor
from .services import services

IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "Makes the POST safe to retry: a repeat with the same key and body returns"
                   " the first response and appends nothing; the same key with another body"
                   " is refused (422 idempotency_key_reused).",
}


def request_fingerprint() -> bytes:
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "\n".join((request.method, request.path, canonical)).encode()


def run(command: Callable[..., CommandResult], *args: Any, status: int = 201,
        location: Callable[[CommandResult], str] | None = None, **kwargs: Any):
    """Run a service command for the current actor; returns (body, status, headers)."""
    who = actor()
    key = request.headers.get("Idempotency-Key")
    call = lambda: command(who, *args, **kwargs)  # noqa: E731
    if key is None:
        result, replayed = call(), False
    else:
        key = key.strip()
        problem = ("1 to 200 characters" if not 0 < len(key) <= 200 else text_problem(key))
        if problem:
            raise ValidationFailed("invalid Idempotency-Key", code="validation_failed",
                                   details={"Idempotency-Key": problem})
        claim = IdempotencyClaim.of(who, key, request_fingerprint())
        result, replayed = services().service.idempotent(claim, call)
    body = {"id": str(result.id), "position": result.position, "positions": result.positions,
            "replayed": replayed, **{k: str(v) for k, v in result.extra.items()}}
    headers = {"Location": location(result)} if location else {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return body, status, headers


def link(endpoint: str, **values: Any) -> Callable[[CommandResult], str]:
    """A Location header builder: the result id fills ``id_field``."""

    def build(result: CommandResult) -> str:
        filled = {k: (str(result.id) if v is ID else str(result.extra.get(v, v)))
                  for k, v in values.items()}
        return url_for(endpoint, **filled)

    return build


ID = object()


