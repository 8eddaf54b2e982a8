"""The eligibility answers the service gives now, for the domain's reappointment check.

The domain cannot import the read models (they sit above it), so this module registers a
reader with it: bring this store's read models up to the log head, then ask them for every
answer a board may have been shown for (officer, day) — with and without leadership, for the
same and for a higher post.
"""
from __future__ import annotations

from datetime import date
from uuid import UUID

from audit_service.application import AuditService, register_eligibility_reader

from .projector import Projector
from .queries import ReadModels


def answers_now(app: AuditService, officer_id: UUID, on: date) -> list[dict]:
    projector = Projector(app)
    try:
        projector.catch_up()
        models = ReadModels(projector.db, app.reference, today=app.today)
        with models.one_read():  # the timeline read once for the four questions
            return [models.eligibility(str(officer_id), on=on, leadership=lead, post=post)
                    for lead in (True, False) for post in ("same", "higher")]
    finally:
        projector.db.close()


register_eligibility_reader(answers_now)
