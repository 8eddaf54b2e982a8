"""The auditor's pages: integrity status, a bounded verify, the access log, the export
and the event browser."""
from __future__ import annotations

import math
import time
from datetime import datetime

from flask import Response, render_template, request

from audit_service.errors import ValidationFailed
from audit_service.validation import EARLIEST_INSTANT, LATEST_INSTANT
from auditing.browse import browse_events
from auditing.integrity import chain_position, latest_checkpoint, public_keys
from auditing.signing import pinned_keys
from projections.readmodels import iso_ts

from ..auth import page
from ..sessions import services
from . import blp

AUDITOR = ("auditor",)


def integrity_status() -> dict:
    """Head of the log, the chain's reach, the latest (and latest signed) checkpoint, and
    the ranges not yet chained or not yet under a signed checkpoint."""
    s = services()
    head = s.service.recorder.max_notification_id() or 0
    chained = chain_position(s.db)
    latest = latest_checkpoint(s.db)
    signed = latest_checkpoint(s.db, signed_only=True)
    signed_to = signed["position"] if signed else 0
    return {"head": head, "chained": chained, "latest": latest, "signed": signed,
            "keys": public_keys(s.db),
            "unchained": (chained + 1, head) if chained < head else None,
            "unsigned": (signed_to + 1, head) if signed_to < head else None}


def _instant(name: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    if value.tzinfo is None:
        from audit_service.clock import VIETNAM

        value = value.replace(tzinfo=VIETNAM)  # the form's times are Vietnam time
    if not EARLIEST_INSTANT <= value <= LATEST_INSTANT:
        raise ValidationFailed(f"{name}: outside {EARLIEST_INSTANT:%Y-%m-%d}.."
                               f"{LATEST_INSTANT:%Y-%m-%d}", details={name: "out of range"})
    return value


@blp.route("/audit")
@page(*AUDITOR)
def audit():
    s = services()
    report = None
    if request.args.get("verify"):
        from auditing.verify import verify_store

        try:
            seconds = float(request.args.get("seconds") or 5)
        except ValueError:
            seconds = 5.0
        seconds = min(max(seconds, 0.5), 30.0) if math.isfinite(seconds) else 5.0
        # the keys the auditor pinned, never those stored in the database it checks (as the API)
        report = verify_store(s.service, s.db, deadline=time.monotonic() + seconds,
                              trusted_keys=pinned_keys())
    log_filters = {k: request.args.get(k) or None for k in ("officer_id", "user_id")}
    after = request.args.get("log_after", "")
    log = s.access_log.entries(**log_filters, after=int(after) if after.isdigit() else None,
                               limit=50)
    return render_template("audit.html", status=integrity_status(), report=report, log=log,
                           log_filters=log_filters)


@blp.route("/audit/events")
@page(*AUDITOR)
def audit_events():
    s = services()
    args = {k: (request.args.get(k) or "").strip() for k in
            ("officer_id", "actor", "type", "from", "to", "after")}
    if args["officer_id"]:
        rows = s.readmodels.timeline_rows(args["officer_id"])
        low, high = _instant("from"), _instant("to")
        items = [{"position": r["position"], "event_type": r["event_type"],
                  "recorded_at": r["recorded_at"], "originator_id": r["subject_id"],
                  "actor_id": r["actor_id"], "actor_role": r["actor_role"], "data": r["data"]}
                 for r in rows
                 if (not args["actor"] or r["actor_id"] == args["actor"])
                 and (not args["type"] or args["type"] in r["event_type"])
                 and (not low or r["recorded_at"] >= iso_ts(low))  # stored as UTC text
                 and (not high or r["recorded_at"] <= iso_ts(high))]
        page_ = {"items": items[:200], "next": None, "scanned": len(rows)}
    else:
        page_ = browse_events(s.service, after=int(args["after"] or 0)
                              if args["after"].isdigit() else 0,
                              actor=args["actor"] or None, kind=args["type"] or None,
                              since=_instant("from"), until=_instant("to"), limit=100)
    return render_template("audit_events.html", args=args, page=page_)


@blp.route("/audit/export.ndjson")
@page(*AUDITOR)
def audit_export():
    from auditing.export import export_stream
    from projections.db import ReadModelDB

    s = services()
    db = ReadModelDB(s.settings.database)
    stream = export_stream(s.service, db)

    def body():
        try:
            yield from stream
        finally:
            db.close()

    return Response(body(), mimetype="application/x-ndjson", headers={
        "Content-Disposition": 'attachment; filename="audit-export.ndjson"'})
