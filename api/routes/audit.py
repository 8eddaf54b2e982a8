"""Auditors' reads: the raw event stream and the access log."""
from __future__ import annotations

import base64
import json

from flask import Response

from auditing.records import record_of
from projections.readmodels import event_data, iso_ts

from ..auth import READERS
from ..schemas import (AccessLogQuery, CheckpointsQuery, EventsQuery, ExportQuery, Listing,
                       VerifyQuery)
from ..services import services
from . import blueprint, read

blp = blueprint("audit", "For auditors: the stored events and who read what.")
AUDITOR = ("auditor",)
NDJSON = "application/x-ndjson; charset=utf-8"  # NDJSON names no default encoding: say it


@read(blp, "/events", AUDITOR, query=EventsQuery,
      summary="Stored events after a position, as NDJSON (one event per line)")
def events(after=0, limit=1000):
    """Each line: position, originator id and version, topic, recorded-at, the exact stored
    state (base64) and the decoded fields (without personal identifiers)."""
    app = services().service
    notifications = app.recorder.select_notifications(start=after, limit=limit,
                                                      inclusive_of_start=False)

    def lines():
        for n in notifications:
            line = {"position": n.id, "originator_id": str(n.originator_id),
                    "originator_version": n.originator_version, "topic": n.topic}
            try:
                event = app.mapper.to_domain_event(n)
                line.update(recorded_at=iso_ts(event.timestamp),
                            state_b64=base64.b64encode(n.state).decode(), data=event_data(event))
            except Exception as exc:  # noqa: BLE001 - an event this code cannot decode is listed
                line.update(recorded_at=record_of(n, app.mapper)[4] or None,
                            state_b64=base64.b64encode(n.state).decode(), data=None,
                            decode_error=f"{type(exc).__name__}: {exc}")
            yield json.dumps(line, ensure_ascii=False) + "\n"

    last = notifications[-1].id if notifications else after
    return Response(lines(), content_type=NDJSON,
                    headers={"X-Next-After": str(last),
                             "X-Has-More": "true" if len(notifications) == limit else "false"})


@read(blp, "/access-log", AUDITOR, query=AccessLogQuery, schema=Listing,
      summary="Who read which officer's history, standing or eligibility, and when")
def access_log(officer_id=None, user_id=None, after=None, limit=100):
    return services().access_log.entries(officer_id=officer_id, user_id=user_id, after=after,
                                         limit=limit)


@read(blp, "/audit/public-key", READERS,
      summary="The public keys that sign checkpoints (Ed25519), oldest first")
def public_key():
    """Obtain them out of band too: an export carries its keys, but trust the ones you hold."""
    from auditing.integrity import public_keys

    keys = public_keys(services().db)
    return {"items": keys, "current": keys[-1] if keys else None, "next": None}


@read(blp, "/audit/checkpoints", READERS, query=CheckpointsQuery,
      summary="Checkpoints after a position, oldest first, for auditors to mirror")
def list_checkpoints(after=0, limit=100):
    """Keep them outside the service: ``verify --trusted-checkpoint DIR`` uses the newest."""
    from auditing.integrity import checkpoints_after

    found = checkpoints_after(services().db, after, limit)
    return {"checkpoints": found, "next_after": found[-1]["position"] if found else after,
            "has_more": len(found) == limit}


@read(blp, "/audit/checkpoints/latest", READERS,
      summary="The latest checkpoint (position, chain head, count, time, signature)")
def latest_checkpoint():
    from auditing.integrity import latest_checkpoint as latest

    found = latest(services().db)
    if found is None:
        from audit_service.errors import NotFound

        raise NotFound("no checkpoint has been made yet", code="checkpoint_not_found")
    return found


@read(blp, "/audit/export", AUDITOR, query=ExportQuery,
      summary="The export bundle (NDJSON: manifest, keys, checkpoints, events with their"
      " chain entries), streamed; verify it with scripts/verify_export.py")
def export(from_position=None, to_position=None):
    from auditing.export import export_stream
    from projections.db import ReadModelDB

    s = services()
    db = ReadModelDB(s.settings.database)  # owned by the stream, closed when it ends
    stream = export_stream(s.service, db, from_position=from_position, to_position=to_position)
    first = next(stream)  # errors (e.g. a bad range) surface before the 200 is sent

    def body():
        try:
            yield first
            yield from stream
        finally:
            db.close()

    return Response(body(), content_type=NDJSON, headers={
        "Content-Disposition": 'attachment; filename="audit-export.ndjson"'})


@read(blp, "/audit/verify", AUDITOR, query=VerifyQuery,
      summary="Check the live log against the hash chain, the checkpoints and the board"
      " hashes, bounded in time; says how far it got")
def verify(max_seconds=10.0, read_models=None):
    import time

    from auditing.readcheck import check_read_models, merge_read_models
    from auditing.signing import pinned_keys
    from auditing.verify import verify_store

    s = services()
    deadline = time.monotonic() + max_seconds
    report = verify_store(s.service, s.db, deadline=deadline, trusted_keys=pinned_keys())
    if read_models == "sample":
        merge_read_models(report, check_read_models(s.service, s.db, sample=20,
                                                    deadline=deadline))
    return report
