"""Auditors' reads: the raw event stream and the access log."""
from __future__ import annotations

import base64
import json

from flask import Response

from projections.readmodels import event_data, iso_ts

from ..schemas import AccessLogQuery, EventsQuery, Listing
from ..services import services
from . import blueprint, read

blp = blueprint("audit", "For auditors: the stored events and who read what.")
AUDITOR = ("auditor",)


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
            event = app.mapper.to_domain_event(n)
            yield json.dumps({
                "position": n.id, "originator_id": str(n.originator_id),
                "originator_version": n.originator_version, "topic": n.topic,
                "recorded_at": iso_ts(event.timestamp),
                "state_b64": base64.b64encode(n.state).decode(),
                "data": event_data(event),
            }, ensure_ascii=False) + "\n"

    last = notifications[-1].id if notifications else after
    return Response(lines(), mimetype="application/x-ndjson",
                    headers={"X-Next-After": str(last),
                             "X-Has-More": "true" if len(notifications) == limit else "false"})


@read(blp, "/access-log", AUDITOR, query=AccessLogQuery, schema=Listing,
      summary="Who read which officer's history, standing or eligibility, and when")
def access_log(officer_id=None, user_id=None, after=None, limit=100):
    return services().access_log.entries(officer_id=officer_id, user_id=user_id, after=after,
                                         limit=limit)
