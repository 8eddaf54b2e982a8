"""Request and response shapes; the OpenAPI document is generated from these.

Schemas check types and required fields (422 with a message per field); the service then
checks the domain rules. Unknown fields are refused, so a typo is never silently dropped.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from audit_service.access import TOKEN_ROLES
from audit_service.application import (APPEAL_OUTCOMES, FORMS, REAPPOINTMENT_OUTCOMES,
                                       TRANSFER_KINDS, UNIT_RATINGS)

CATEGORIES = ("can_bo", "cong_chuc", "vien_chuc")
ANNUAL = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")
SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="must be a 64-character SHA-256 hex digest")


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


def text(required: bool = True, max_len: int = 2000, **kw):
    return fields.String(required=required, validate=validate.Length(min=1, max=max_len),
                         **({} if required else {"load_default": None, "allow_none": True}), **kw)


class DecisionRef(Strict):
    number = text(max_len=20, metadata={"example": "123"})
    symbol = text(max_len=60, metadata={"example": "QĐ-UBND"})
    issuer = text(max_len=300, metadata={"example": "UBND quận Tây Hồ"})
    signed_on = fields.Date(required=True, metadata={"example": "2018-05-02"})


def ref(required: bool = True):
    return fields.Nested(DecisionRef, required=required,
                         **({} if required else {"load_default": None, "allow_none": True}))


def opt_date():
    return fields.Date(load_default=None, allow_none=True)


# ---------------------------------------------------------------- commands
class UnitCreate(Strict):
    code = text(max_len=40)
    name = text(max_len=300)
    level = fields.String(required=True, validate=validate.OneOf(("city", "district", "ward")))
    parent_id = fields.UUID(load_default=None, allow_none=True)
    established_on = opt_date()


class UnitRatingCreate(Strict):
    year = fields.Integer(required=True, strict=True)
    rating = fields.String(required=True, validate=validate.OneOf(UNIT_RATINGS))
    source = text(required=False, max_len=300)
    correction_reason = text(required=False)


class OfficerCreate(Strict):
    personnel_code = text(max_len=40)
    full_name = text(max_len=200)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    unit_id = fields.UUID(required=True)
    position = text(max_len=200)
    national_id = fields.String(load_default=None, allow_none=True,
                                validate=validate.Regexp(r"^\d{12}$", error="must be 12 digits"))
    joined_on = opt_date()


class TransferCreate(Strict):
    to_unit_id = fields.UUID(required=True)
    effective_on = fields.Date(required=True)
    decision_ref = ref()
    kind = fields.String(load_default="transfer", validate=validate.OneOf(TRANSFER_KINDS))
    new_position = text(required=False, max_len=200)
    rotation_exception_reason = text(required=False, max_len=2000)


class AppointmentCreate(Strict):
    position = text(max_len=200)
    term_start = fields.Date(required=True)
    term_years = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validate.Range(1, 10))
    decision_ref = ref()


class ReappointmentCreate(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(REAPPOINTMENT_OUTCOMES))
    decided_on = fields.Date(required=True)
    decision_ref = ref()
    eligibility_hash = text(required=False, max_len=128)
    override_reason = text(required=False, max_len=2000)


class LeavingCreate(Strict):
    left_on = fields.Date(required=True)
    reason = text()


class InspectionCreate(Strict):
    unit_id = fields.UUID(required=True)
    team = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                       load_default=list, validate=validate.Length(max=50))
    basis_ref = text(required=False, max_len=300)
    announced = fields.Boolean(load_default=True)
    started_on = fields.Date(required=True)


class FindingCreate(Strict):
    officer_id = fields.UUID(load_default=None, allow_none=True)
    conduct_code = text(max_len=80, metadata={"example": "qd522-late"})
    description = text(max_len=5000)
    observed_at = fields.AwareDateTime(required=True, default_timezone=None,
                                       metadata={"example": "2026-11-02T08:15:00+07:00"})
    evidence_sha256 = fields.List(fields.String(validate=SHA256), load_default=list,
                                  validate=validate.Length(max=100))


class FindingCorrection(Strict):
    """Name only the fields that change; the others keep their current values."""

    reason = text()
    officer_id = fields.UUID(allow_none=True)
    conduct_code = fields.String(validate=validate.Length(min=1, max=80))
    description = fields.String(validate=validate.Length(min=1, max=5000))
    observed_at = fields.AwareDateTime(default_timezone=None)
    evidence_sha256 = fields.List(fields.String(validate=SHA256), validate=validate.Length(max=100))


class Withdrawal(Strict):
    reason = text()


class InspectionClose(Strict):
    closed_on = fields.Date(required=True)
    conclusion_ref = text(required=False, max_len=300)


class Violation(Strict):
    finding_id = fields.UUID(load_default=None, allow_none=True)
    inspection_id = fields.UUID(load_default=None, allow_none=True)
    source = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(("finding", "complaint", "other")))
    conduct_code = text(max_len=80)
    occurred_on = fields.Date(required=True)
    detected_on = fields.Date(required=True)
    ended_on = fields.Date(load_default=None, allow_none=True,
                           metadata={"description": "when the violation ended (limitation"
                                     " clock start)"})
    ongoing = fields.Boolean(load_default=False, metadata={
        "description": "still going on: the limitation clock runs from detected_on"})
    description = text(max_len=5000)
    exemption = fields.String(load_default=None, allow_none=True)


class ProceedingCreate(Strict):
    officer_id = fields.UUID(required=True)
    violations = fields.List(fields.Nested(Violation), required=True,
                             validate=validate.Length(min=1, max=50))
    opened_on = opt_date()


class Deferral(Strict):
    reason = fields.String(required=True, metadata={"example": "illness"})
    until = fields.Date(required=True)
    deferred_on = opt_date()


class Dismissal(Strict):
    reason = text()
    dismissed_on = opt_date()


class DecisionCreate(Strict):
    form = fields.String(required=True, validate=validate.OneOf(FORMS))
    decision_ref = ref()
    effective_from = fields.Date(required=True)
    corruption_related = fields.Boolean(load_default=False)
    discipline_system = fields.String(load_default="state",
                                      validate=validate.OneOf(["state", "party"]),
                                      metadata={"description": "state (administrative) or"
                                                " Party discipline"})


class AppealCreate(Strict):
    lodged_on = fields.Date(required=True)
    grounds = text(max_len=5000)


class AppealResolution(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(APPEAL_OUTCOMES))
    resolved_on = fields.Date(required=True)
    new_form = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(FORMS))
    decision_ref = ref(required=False)


class Annulment(Strict):
    reason = text(max_len=5000)
    decision_ref = ref()
    annulled_on = opt_date()


class MonthlyCreate(Strict):
    officer_id = fields.UUID(required=True)
    period = fields.String(required=True, validate=validate.Regexp(
        r"^\d{4}-(0[1-9]|1[0-2])$", error="must be a month as YYYY-MM"))
    score = fields.Float(required=True, allow_nan=False, validate=validate.Range(0, 100))
    grade = fields.String(load_default=None, allow_none=True,
                          validate=validate.OneOf(("A", "B", "C", "D")))


class MonthlyCorrection(Strict):
    officer_id = fields.UUID(required=True)
    period = MonthlyCreate._declared_fields["period"]
    score = fields.Float(required=True, allow_nan=False, validate=validate.Range(0, 100))
    reason = text()


class AnnualCreate(Strict):
    officer_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True)
    rating = fields.String(required=True, validate=validate.Length(min=1, max=20),
                           metadata={"enum": list(ANNUAL)})


class AnnualCorrection(AnnualCreate):
    reason = text()


class TokenCreate(Strict):
    role = fields.String(required=True, validate=validate.OneOf(TOKEN_ROLES))
    name = text(max_len=200)
    unit_id = fields.UUID(load_default=None, allow_none=True)


# ---------------------------------------------------------------- queries
class AsOf(Strict):
    as_of = fields.AwareDateTime(load_default=None, default_timezone=None,
                                 metadata={"description": "a recorded time: answer with what"
                                           " the log held then"})
    min_position = fields.Integer(load_default=None, validate=validate.Range(min=0),
                                  metadata={"description": "wait until the read models include"
                                            " this log position (read-your-writes)"})


class EligibilityQuery(AsOf):
    on = fields.Date(load_default=None, metadata={"description": "evaluation date (default"
                                                 " today in Vietnam)"})
    leadership = fields.Boolean(load_default=True)
    post = fields.String(load_default="same", validate=validate.OneOf(["same", "higher"]),
                         metadata={"description": "same: reappointment to the post held"
                                   " (bổ nhiệm lại); higher: appointment to a higher post"})


class RotationQuery(AsOf):
    to_unit_id = fields.UUID(required=True)
    on = fields.Date(load_default=None, metadata={"description": "the move's effective date"
                                                 " (default today in Vietnam)"})


class StatisticsQuery(AsOf):
    year = fields.Integer(required=True)
    subunits = fields.Boolean(load_default=True)


class Page(Strict):
    after = fields.String(load_default=None, validate=validate.Length(max=100),
                          metadata={"description": "the `next` cursor of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    min_position = AsOf._declared_fields["min_position"]


class OfficerQuery(Page):
    unit_id = fields.UUID(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=200))


class UnitQuery(Page):
    parent_id = fields.UUID(load_default=None)


class EventsQuery(Strict):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 10000))


class ExportQuery(Strict):
    from_position = fields.Integer(load_default=None, validate=validate.Range(min=1))
    to_position = fields.Integer(load_default=None, validate=validate.Range(min=1))


class VerifyQuery(Strict):
    max_seconds = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=60),
                               metadata={"description": "stop after this long and say how"
                                         " far the check got"})


class AccessLogQuery(Strict):
    officer_id = fields.UUID(load_default=None)
    user_id = fields.String(load_default=None, validate=validate.Length(max=100))
    after = fields.Integer(load_default=None, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


# ---------------------------------------------------------------- responses
class Created(Schema):
    id = fields.String(required=True)
    position = fields.Integer(required=True, metadata={"description": "log position of the"
                                                       " last event appended"})
    positions = fields.List(fields.Integer(), required=True,
                            metadata={"description": "every event the request appended"})
    replayed = fields.Boolean(metadata={"description": "true when this answers a retried"
                                        " Idempotency-Key"})
    inspection_id = fields.String()
    proceeding_id = fields.String()
    decision_id = fields.String()
    finding_id = fields.String()


class Listing(Schema):
    items = fields.List(fields.Dict(), required=True)
    next = fields.String(allow_none=True)




# -- documented read shapes (dumped as they are; nested details stay free-form) ---
class Actor(Schema):
    id = fields.String()
    role = fields.String()


class HistoryEntry(Schema):
    position = fields.Integer(metadata={"description": "log position of the event"})
    event_type = fields.String(metadata={"example": "Decision.Issued"})
    recorded_at = fields.String(metadata={"description": "when the log recorded it (UTC)"})
    occurred_on = fields.String(allow_none=True, metadata={"description": "its date in the world"})
    actor = fields.Nested(Actor)
    summary_vi = fields.String()
    summary_en = fields.String()
    status = fields.String(metadata={"enum": ["active", "corrected", "withdrawn", "annulled",
                                              "overturned"]})
    status_changed_by = fields.Raw(allow_none=True)
    subject_id = fields.String(allow_none=True)
    data = fields.Dict(metadata={"description": "the event's own fields"})


class History(Schema):
    officer_id = fields.String()
    as_of = fields.String(allow_none=True)
    entries = fields.List(fields.Nested(HistoryEntry))


class Reason(Schema):
    rule_id = fields.String()
    outcome = fields.String(metadata={"enum": ["not_eligible", "needs_review", "inconsistent",
                                               "info"]})
    citation = fields.String(metadata={"description": "the legal source of the rule"})
    message_vi = fields.String()
    message_en = fields.String()
    positions = fields.List(fields.Integer(), metadata={"description": "log positions of the"
                                                        " events the reason rests on"})


class Eligibility(Schema):
    officer_id = fields.String()
    evaluated_on = fields.String()
    as_of = fields.String(allow_none=True)
    leadership = fields.Boolean()
    post = fields.String(metadata={"enum": ["same", "higher"]})
    verdict = fields.String(metadata={"enum": ["eligible", "not_eligible", "needs_review"]})
    reasons = fields.List(fields.Nested(Reason))
    rules_checked = fields.List(fields.String())
    rules_not_in_force = fields.List(fields.String())
    rules_version = fields.String()
    term = fields.Raw(allow_none=True)
    last_position = fields.Integer(allow_none=True)
    hash = fields.String(metadata={"description": "SHA-256 of the canonical result; a"
                                   " reappointment decision may carry it as eligibility_hash"})


class Standing(Schema):
    officer_id = fields.String()
    as_of = fields.String(allow_none=True)
    on = fields.String()
    personnel_code = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    unit_id = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    left_on = fields.String(allow_none=True)
    term = fields.Raw(allow_none=True)
    effects_in_force = fields.List(fields.Dict())
    open_proceedings = fields.List(fields.Dict())
    ratings = fields.Dict(keys=fields.String(), values=fields.String())
    decisions = fields.Raw()


class Statistics(Schema):
    unit_id = fields.String()
    year = fields.Integer()
    as_of = fields.String(allow_none=True)
    subunits = fields.Boolean()
    units_counted = fields.Integer()
    inspections = fields.Integer()
    findings = fields.Integer()
    findings_by_conduct_code = fields.Dict(keys=fields.String(), values=fields.Integer())
    officers_with_findings = fields.Integer()
    proceedings_opened = fields.Integer()
    officers_disciplined = fields.Integer()
    disciplined_by_form = fields.Dict(keys=fields.String(), values=fields.Integer())
    rating_distribution = fields.Dict(keys=fields.String(), values=fields.Integer())
