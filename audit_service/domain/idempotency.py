"""Idempotency records: what a request with an ``Idempotency-Key`` appended.

A record is saved in the same ``save()`` as the command's own events, with an id derived
from (user, key), so a retried request finds it and gets the original answer, and two
concurrent copies of one request collide on version 1 and only one of them appends.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from .base import AuditAggregate, name_id


class IdempotencyRecord(AuditAggregate):
    @staticmethod
    def create_id(user_id: str, key_sha256: str, **_: Any) -> UUID:
        return name_id(f"idempotency-sha:{user_id}\n{key_sha256}")

    @event("Recorded")
    def __init__(self, user_id: str, key_sha256: str, request_sha256: str, result_id: UUID,
                 extra: dict, appended: list, actor_id: str, actor_role: str):
        self.user_id = user_id
        self.key_sha256 = key_sha256
        self.request_sha256 = request_sha256
        self.result_id = result_id
        self.extra = extra
        self.appended = appended
