"""The HTTP API: ``create_app()`` builds one Flask app with its own service objects.

gunicorn calls ``create_app()`` in each worker after the fork (``gunicorn.conf.py``), so
every worker owns its eventsourcing application and connections; nothing is built at
import time.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from flask_smorest import Api

from audit_service.application import AuditService
from audit_service.config import Settings

from . import access_audit, errors
from .metrics import Metrics
from .services import Services

MAX_BODY_BYTES = 1024 * 1024
log = logging.getLogger("audit_service.api")


class ProblemApi(Api):
    """flask-smorest, with errors answered as problem+json by ``api.errors``."""

    def _register_error_handlers(self) -> None:  # errors.register() installs ours instead
        return None


def create_app(settings: Settings | None = None, *, service: AuditService | None = None,
               config: dict[str, Any] | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("audit_service.api")
    app.config.update(
        API_TITLE="audit-service", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={
            "info": {"description": "Event-sourced audit and discipline tracking for public"
                     " officials. Authenticate with `Authorization: Bearer <token>`"
                     " (`audit-service tokens create`)."},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    svc = Services(settings, service,
                   read_wait_seconds=float(os.environ.get("AUDIT_READ_WAIT_SECONDS", "5")))
    app.extensions["audit_service"] = svc
    app.extensions["audit_metrics"] = Metrics(lambda: _gauges(svc))

    api = ProblemApi(app)
    from .routes import (audit, evaluations, inspections, officers, proceedings, reference, units,
                         worklists)

    for module in (units, officers, inspections, proceedings, evaluations, reference, audit,
                   worklists):
        api.register_blueprint(module.blp)
    from .routes import ops

    app.register_blueprint(ops.blp)
    ops.install(app)
    access_audit.install(app)
    errors.register(app)
    from web import init_web

    init_web(app)

    @app.route("/openapi.json")
    def openapi_root():
        return api.spec.to_dict()

    @app.teardown_appcontext
    def _drop_broken(exc):
        if exc is not None:
            svc.reset_connections()

    return app


def _gauges(svc: Services) -> tuple[int, dict[str, int], dict[str, int]]:
    snapshot = svc.probe.read()  # bounded: a scrape never waits on the request pool
    return (snapshot.head, {name: pos for name, (pos, _) in snapshot.positions.items()},
            snapshot.quarantined)
