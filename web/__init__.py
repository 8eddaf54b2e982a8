"""The web pages: server-rendered Jinja2 templates for inspectors, boards and auditors.

``init_web(app)`` adds them to the API's Flask app (same service objects, same roles):
Vietnamese by default with English by ``?lang=en`` (remembered in the session), a CSRF
token on every form (Flask-WTF), sign-in by password or API token with an idle timeout.
"""
from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from .labels import status_badge
from .sessions import LazyKeySessionInterface
from .vietnamese import show_date, show_time

LANGUAGES = ("vi", "en")
csrf = CSRFProtect()


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        session["lang"] = wanted
        return wanted
    return session.get("lang", "vi") if session.get("lang") in LANGUAGES else "vi"


def form_title(code: str | None) -> str:
    """A discipline form's name in the page's language ("khien_trach" -> "Khiển trách")."""
    from flask import current_app
    from flask_babel import get_locale

    catalogues = current_app.extensions["audit_service"].reference_catalogues()
    english = str(get_locale()) == "en"
    for entry in catalogues["discipline_forms"]:
        if entry["form"] == code:
            return entry["title_en"] if english else entry["title_vi"]
    return code or ""


def init_web(app: Flask) -> None:
    here = os.path.dirname(__file__)
    overrides = dict(app.config.get("WEB_OVERRIDES") or {})
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="audit_session",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
                      # behind a TLS-terminating proxy the request looks like plain HTTP
                      SESSION_COOKIE_SECURE=os.environ.get("AUDIT_WEB_SECURE_COOKIES") == "1")
    app.config.update(overrides)
    app.config.setdefault("WEB_IDLE_MINUTES", int(os.environ.get("AUDIT_WEB_IDLE_MINUTES", "30")))
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked on the pages only
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's idle timeout rules
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "vi")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", os.path.join(here, "translations"))
    if os.environ.get("AUDIT_SECRET_KEY"):
        app.secret_key = os.environ["AUDIT_SECRET_KEY"]
    app.session_interface = LazyKeySessionInterface()
    Babel(app, locale_selector=select_locale)
    csrf.init_app(app)
    app.jinja_env.filters["vndate"] = show_date
    app.jinja_env.filters["vntime"] = show_time
    app.jinja_env.filters["form_title"] = form_title
    app.jinja_env.globals["badge"] = status_badge
    from .views import blp

    app.register_blueprint(blp)
