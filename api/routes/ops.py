"""Health, readiness and Prometheus metrics (no authentication: loopback/infrastructure)."""
from __future__ import annotations

import os
import time

from flask import Blueprint, Response, current_app, g, request

from ..errors import problem

blp = Blueprint("ops", __name__)
LAG_READY_SECONDS = float(os.environ.get("AUDIT_READY_MAX_LAG_SECONDS", "30"))


def _metrics():
    return current_app.extensions["audit_metrics"]


@blp.route("/healthz")
@blp.route("/api/v1/healthz")
def healthz():
    """The process answers."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.route("/api/v1/readyz")
def readyz():
    """Ready when the database answers and the projector is not far behind; "degraded"
    (still 200) while events are quarantined, with their count."""
    from ..probe import ProbeFailed
    from ..services import services

    try:
        # The probe's own connection and short timeouts, never the request pool's.
        snapshot = services().probe.read()
    except ProbeFailed as exc:
        return problem(503, "database_unavailable", exc.reason, headers={"Retry-After": "2"})
    head, rows = snapshot.head, [(n, p, u) for n, (p, u) in snapshot.positions.items()]
    quarantined = snapshot.quarantined
    projections = {name: {"position": int(pos), "behind": max(0, head - int(pos)),
                          "updated_at": updated, "quarantined": quarantined.get(name, 0)}
                   for name, pos, updated in rows}
    behind = max((p["behind"] for p in projections.values()), default=0)
    stale = [n for n, p in projections.items() if p["behind"] and _age(p["updated_at"]) > LAG_READY_SECONDS]
    # Quarantined events leave the service serving (200) but "degraded": some reads may be
    # incomplete, and say so; an operator fixes and runs `projections retry`.
    aside = sum(quarantined.values())
    body = {"status": "lagging" if stale else "degraded" if aside else "ready", "head": head,
            "behind": behind, "quarantined": aside, "projections": projections}
    if stale:
        return problem(503, "projector_lagging",
                       f"projections {', '.join(sorted(stale))} are behind the log and have not"
                       f" moved for over {LAG_READY_SECONDS:g} s", headers={"Retry-After": "5"},
                       **{k: v for k, v in body.items() if k != "status"})
    return body


def _age(updated_at: str) -> float:
    from datetime import datetime, timezone

    try:
        then = datetime.fromisoformat(updated_at)
    except (TypeError, ValueError):
        return float("inf")
    return (datetime.now(timezone.utc) - then).total_seconds()


@blp.route("/metrics")
@blp.route("/api/v1/metrics")
def metrics():
    """Prometheus text format: request counts and latencies, log head, projection lag."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(_metrics().registry()), mimetype=CONTENT_TYPE_LATEST)


def install(app) -> None:
    """Count and time every request (labelled by route, not by raw path)."""

    @app.before_request
    def _start():
        g.started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = g.pop("started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            _metrics().observe(request.method, route, response.status_code,
                               time.perf_counter() - started)
        return response
