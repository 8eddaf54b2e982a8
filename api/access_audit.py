"""The access log's entry point, for the API and the pages alike.

Officer reads (and the decision and proceeding pages) are recorded by their views before
they answer, through ``audited_read``, which sets ``g.access_logged``; once a request is
answered, the reads the log must still hold (``auditing.access.logged_read``: refused
reads, reads of decisions, proceedings, events and exports) are recorded here.
"""
from __future__ import annotations

import logging

from typing import Any

from flask import Flask, g, request

from auditing.access import User, logged_read, officer_in

from .services import services

log = logging.getLogger("audit_service.api.access")


def reader() -> User | None:
    """Who is reading: the API's token user, else the signed-in page user."""
    return g.get("user") or g.get("web_user")


def audited_read(officer_id: Any, what: str, as_of: str | None = None,
                 query: str | None = None, user: User | None = None) -> None:
    """Record a read in the access log before it is answered (the one way views do it)."""
    services().access_log.record(user or reader(), officer_id, what, as_of, query)
    g.access_logged = True


def install(app: Flask) -> None:
    @app.after_request
    def _record_access(response):
        if logged_read(request.method, request.path, response.status_code,
                       bool(g.get("access_logged")), routed=request.url_rule is not None):
            try:
                services().access_log.record(
                    reader(), officer_in(request.path), request.path,
                    query=request.query_string.decode("utf-8", "replace") or None,
                    status=response.status_code)
            except Exception:  # noqa: BLE001 - a refused read is answered even if not logged
                log.exception("could not record %s %s in the access log", request.method,
                              request.path)
        return response
