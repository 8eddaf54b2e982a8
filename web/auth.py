"""Who is signed in, and which pages each role may open (the same roles as the API).

The session keeps the account name (or, for a token sign-in, only the token's hash) and
the time of the last request; every request looks the user up again, so a disabled
account or a revoked token stops working at once, and a session idle for longer than
``WEB_IDLE_MINUTES`` is signed out.
"""
from __future__ import annotations

import time
from functools import wraps
from typing import Callable

from flask import abort, current_app, g, redirect, request, session, url_for

from auditing.access import TokenStore, User, token_hash
from auditing.accounts import Accounts, SignInThrottle

from .sessions import services

READERS = ("inspector", "board", "auditor", "admin")
BOARD_AUDITOR = ("board", "auditor")
HOME = {"inspector": "web.inspections", "board": "web.board", "auditor": "web.audit",
        "admin": "web.officers"}


def accounts() -> Accounts:
    return Accounts(services().db)


def clock() -> float:
    """Seconds since the epoch (``WEB_CLOCK`` in the app's config replaces it in tests)."""
    return current_app.config.get("WEB_CLOCK", time.time)()


def throttle() -> SignInThrottle:
    return SignInThrottle(services().db, clock)


def sign_in(user: User, kind: str, token_sha256: str | None = None) -> None:
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session.update(kind=kind, uid=user.user_id, seen=clock())
    if token_sha256:
        session["token"] = token_sha256
    if lang:
        session["lang"] = lang


def sign_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def signed_in_user() -> User | None:
    """The signed-in user, or None (and the session cleared) when signed out or idle."""
    if "web_user" in g:
        return g.web_user
    user = None
    kind = session.get("kind")
    if kind:
        idle = current_app.config["WEB_IDLE_MINUTES"] * 60
        now = clock()
        if now - float(session.get("seen", 0)) > idle:
            sign_out()
            g.signed_out_idle = True
        elif kind == "account":
            user = accounts().user(session.get("uid", ""))
        elif kind == "token":
            user = TokenStore(services().db).by_hash(session.get("token", ""))
        if user is None:
            sign_out()
        else:
            session["seen"] = now
    g.web_user = user
    if user is not None:
        g.user = user  # the API's ``current_user()``: service calls act as this user
    return user


def page(*allowed: str) -> Callable:
    """Only signed-in users of these roles may open the page (others: sign-in or 403)."""

    def wrap(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            user = signed_in_user()
            if user is None:
                return redirect(url_for("web.login", next=request.full_path.rstrip("?"),
                                        idle=1 if g.get("signed_out_idle") else None))
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        checked._roles = allowed
        return checked

    return wrap


def token_user(token: str) -> tuple[User | None, str]:
    digest = token_hash(token.strip())
    return TokenStore(services().db).by_hash(digest), digest
