"""What every aggregate shares: who acted, and a deterministic id scheme for keyed aggregates.

Every event carries ``actor_id`` and ``actor_role`` (who) and the library's ``timestamp``
(when it was recorded, UTC, set by the system). Each event also names its own world date
(``occurred_on``, ``effective_from``, …); the two times are never the same field.
"""
from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate

# Fixed forever: ids of keyed aggregates (indexes, evaluations) are derived from it.
NAMESPACE = uuid.UUID("6f1c1d2e-8a53-4c0e-9d55-0b7d3c2a9e41")


def index_id(kind: str, key: str) -> uuid.UUID:
    """The id of the aggregate that owns a unique key, e.g. ('personnel-code', 'HN-0001')."""
    return uuid.uuid5(NAMESPACE, f"{kind}:{key}")


class AuditAggregate(Aggregate):
    """Base aggregate: event classes carry an explicit version for upcasting."""

    class Event(Aggregate.Event):
        class_version = 1

    class Created(Event, Aggregate.Created):
        class_version = 1
