"""Session cookies: signed with a key kept in the database (one per deployment, made on
first use), Secure whenever the request came over HTTPS, HttpOnly and SameSite=Lax."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface

from audit_service.accounts import Accounts


class LazyKeySessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            services = app.extensions["audit_service"]
            app.secret_key = Accounts(services.db).session_secret()
        return super().get_signing_serializer(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def services():
    return current_app.extensions["audit_service"]
