"""The auditor's event browser: stored events filtered by actor, type and recorded time,
read from the log in bounded scans (a page never reads more than ``scan`` events)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.readmodels import event_data, event_type, iso_ts


def browse_events(app: Any, *, after: int = 0, actor: str | None = None,
                  kind: str | None = None, since: datetime | None = None,
                  until: datetime | None = None, limit: int = 100,
                  scan: int = 20_000) -> dict:
    """Events after position ``after`` that match every filter given, oldest first.

    ``next`` is the position to continue from (the last one scanned) when the scan stopped
    before the end of the log, else None."""
    low, high = (iso_ts(t) if t else None for t in (since, until))
    items: list[dict] = []
    position, scanned = after, 0
    while len(items) < limit and scanned < scan:
        batch = app.recorder.select_notifications(start=position, limit=min(1000, scan - scanned),
                                                  inclusive_of_start=False)
        if not batch:
            return {"items": items, "next": None, "scanned": scanned}
        for n in batch:
            position, scanned = n.id, scanned + 1
            event = app.mapper.to_domain_event(n)
            data = event_data(event)
            recorded = iso_ts(event.timestamp)
            name = event_type(event)
            if ((actor and data.get("actor_id") != actor) or (kind and kind not in name)
                    or (low and recorded < low) or (high and recorded > high)):
                continue
            items.append({"position": n.id, "event_type": name, "recorded_at": recorded,
                          "originator_id": str(n.originator_id),
                          "actor_id": data.get("actor_id"), "actor_role": data.get("actor_role"),
                          "data": data})
            if len(items) >= limit:
                break
    head = app.recorder.max_notification_id() or 0
    return {"items": items, "next": str(position) if position < head else None,
            "scanned": scanned}
