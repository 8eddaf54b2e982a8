"""The chain's own history in the log: an explicit re-creation is an event, forever.

The integrity follower never starts the chain again by itself over a log it has chained
(see ``integrity.IntegrityFollower``); ``audit-service chain recreate --reason`` records a
``ChainRecreation.Recreated`` event first, and every later verification lists it.
"""
from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

RECREATED_TOPIC = "auditing.lifecycle:ChainRecreation.Recreated"


class ChainRecreation(Aggregate):
    """One re-creation of the integrity chain: a single event, never changed."""

    @event("Recreated")
    def __init__(self, reason: str, previous_position: int, previous_head: str | None,
                 previous_count: int, actor_id: str, actor_role: str):
        self.reason = reason


def recreations(app: Any) -> list[dict]:
    """Every ``Recreated`` event in the log: position, time, reason, what it replaced."""
    out = []
    start = None
    while True:
        batch = app.recorder.select_notifications(start=start, limit=500,
                                                  topics=[RECREATED_TOPIC],
                                                  inclusive_of_start=start is None)
        for n in batch:
            e = app.mapper.to_domain_event(n)
            out.append({"position": n.id, "recorded_at": e.timestamp.isoformat(),
                        "reason": e.reason, "actor_id": e.actor_id,
                        "previous_position": e.previous_position,
                        "previous_head": e.previous_head, "previous_count": e.previous_count})
        if len(batch) < 500:
            return out
        start = batch[-1].id
