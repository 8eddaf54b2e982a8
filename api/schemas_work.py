"""Query shapes of the case lists and the board's worklists (``routes/worklists.py``)."""
from __future__ import annotations

from marshmallow import fields, validate

from .schemas import Page, Text, day

PROCEEDING_STATUSES = ("open", "deferred", "dismissed", "decided")


class InspectionListQuery(Page):
    unit_id = fields.UUID(load_default=None)
    status = Text(load_default=None, validate=validate.OneOf(("open", "closed")))
    team_member = Text(load_default=None, validate=validate.Length(1, 100),
                       metadata={"description": "a user id on the inspection team"})


class ProceedingListQuery(Page):
    status = Text(load_default=None, validate=validate.OneOf(PROCEEDING_STATUSES))
    unit_id = fields.UUID(load_default=None)
    officer_id = fields.UUID(load_default=None)


class DecisionListQuery(Page):
    officer_id = fields.UUID(load_default=None)
    unit_id = fields.UUID(load_default=None)
    in_force_on = day(load_default=None, metadata={
        "description": "only decisions in force with an effect running on this day"})


class TermsEndingQuery(Page):
    within_days = fields.Integer(load_default=180, validate=validate.Range(0, 3660))
    unit_id = fields.UUID(load_default=None)


class UnitWorklistQuery(Page):
    unit_id = fields.UUID(load_default=None)
