"""How a page form runs a command: as the signed-in user, through the same service call
as the API, once per Idempotency-Key (a hidden field each form carries), with the
service's own error shown on the page when it refuses."""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable

from flask import flash, redirect, request
from flask_babel import gettext as _

from audit_service.application import Actor, CommandResult, IdempotencyClaim
from audit_service.errors import AuditError

from .auth import signed_in_user
from .sessions import services

SKIP = {"csrf_token", "idempotency_key"}


def new_key() -> str:
    return str(uuid.uuid4())


def fingerprint() -> bytes:
    fields = {k: request.form.getlist(k) for k in sorted(request.form) if k not in SKIP}
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return "\n".join(("POST", request.path, body)).encode()


def field(name: str) -> str | None:
    """A form field, stripped; empty means not given."""
    value = request.form.get(name, "").strip()
    return value or None


def decision_ref(prefix: str = "ref") -> dict | None:
    parts = {k: field(f"{prefix}_{k}") for k in ("number", "symbol", "issuer", "signed_on")}
    return parts if any(parts.values()) else None


def number(name: str) -> Any:
    value = field(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return value  # the service names the field and says what it must be


def perform(command: Callable[..., CommandResult], *args: Any, done: str,
            back: str, message: str | None = None, **kwargs: Any):
    """Run ``command`` for the signed-in user; redirect to ``done`` (with the position to
    wait for) or back to the form with the error."""
    user = signed_in_user()
    who = Actor(user.user_id, user.role, user.unit_id)
    key = (request.form.get("idempotency_key") or "").strip()[:200]
    call = lambda: command(who, *args, **kwargs)  # noqa: E731
    try:
        if key:
            claim = IdempotencyClaim.of(who, key, fingerprint())
            result, replayed = services().service.idempotent(claim, call)
        else:
            result, replayed = call(), False
    except AuditError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in (getattr(exc, "details", None) or {}).items())
        flash(f"{exc.message}" + (f" ({details})" if details else "") + f" [{exc.code}]", "error")
        return redirect(back)
    flash(message or (_("Đã ghi lại (đã có từ trước).") if replayed else _("Đã ghi lại.")),
          "ok")
    joiner = "&" if "?" in done else "?"
    return redirect(f"{done}{joiner}at={result.position}")
