"""The access log's entry point: record the reads the log must hold once they are answered.

Which reads those are is decided in ``auditing.access.logged_read``; the officer reads that
the routes record themselves (before answering) set ``g.access_logged``.
"""
from __future__ import annotations

import logging

from flask import Flask, g, request

from auditing.access import logged_read, officer_in

from .services import services

log = logging.getLogger("audit_service.api.access")


def install(app: Flask) -> None:
    @app.after_request
    def _record_access(response):
        if logged_read(request.method, request.path, response.status_code,
                       bool(g.get("access_logged"))):
            try:
                services().access_log.record(
                    g.get("user"), officer_in(request.path), request.path,
                    query=request.query_string.decode("utf-8", "replace") or None,
                    status=response.status_code)
            except Exception:  # noqa: BLE001 - a refused read is answered even if not logged
                log.exception("could not record %s %s in the access log", request.method,
                              request.path)
        return response
