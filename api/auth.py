"""Bearer-token authentication and role checks.

Who may do what is stated once, per route, with ``@roles(...)``; the service layer then
applies the finer rules (an inspector records findings only on their own team's
inspections) with the actor taken from here, so every event names the acting user.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import g, request

from auditing.access import User
from audit_service.application import Actor
from audit_service.errors import AuditError, Forbidden

from .services import services


class Unauthenticated(AuditError):
    code = "unauthenticated"
    status = 401


READERS = ("inspector", "board", "auditor", "admin")  # every authenticated role


def current_user() -> User:
    user = g.get("user")
    if user is not None:
        return user
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    user = services().tokens.authenticate(token.strip())
    if user is None:
        raise Unauthenticated("the token is unknown or revoked")
    g.user = user
    return user


def actor() -> Actor:
    user = current_user()
    return Actor(user.user_id, user.role, user.unit_id)


def roles(*allowed: str) -> Callable:
    """Only these roles may call the route: 401 without a valid token, 403 otherwise."""

    def wrap(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            user = current_user()
            if user.role not in allowed:
                raise Forbidden(f"the {user.role} role may not do this; allowed: "
                                f"{', '.join(allowed)}")
            return view(*args, **kwargs)

        checked._roles = allowed  # read by the OpenAPI document and the role-matrix test
        return checked

    return wrap
