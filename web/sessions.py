"""Session cookies: signed with a key kept in the database (one per deployment, made on
first use), Secure whenever the request came over HTTPS, HttpOnly and SameSite=Lax.

Only the pages have sessions: the JSON API, health checks and metrics get none, so they
never read the key (nor need the database for it) and never set a cookie."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface

from auditing.accounts import Accounts

SESSIONLESS = ("/api/", "/healthz", "/readyz", "/metrics", "/openapi.json")


class LazyKeySessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request_):
        if request_.path.startswith(SESSIONLESS):
            return None  # Flask then uses a null session
        return super().open_session(app, request_)

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            services = app.extensions["audit_service"]
            app.secret_key = Accounts(services.db).session_secret()
        return super().get_signing_serializer(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def services():
    return current_app.extensions["audit_service"]
