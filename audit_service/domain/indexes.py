"""Tiny aggregates that own a unique key (personnel code, unit code, decision reference).

An index is created in the same ``save()`` as the change that claims the key, with an id
derived from the key, so two writers claiming one key collide on version 1 and the whole
save is refused atomically: no check-then-write race.
"""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from .base import AuditAggregate, index_id


class Index(AuditAggregate):
    @staticmethod
    def create_id(kind: str, key: str) -> UUID:
        return index_id(kind, key)

    @event("Claimed")
    def __init__(self, kind: str, key: str, owner_id: UUID, actor_id: str, actor_role: str):
        self.kind = kind
        self.key = key
        self.owner_id = owner_id
