"""Request and response shapes; the OpenAPI document is generated from these.

Schemas check types and required fields (422 with a message per field); the service then
checks the domain rules. Unknown fields are refused, so a typo is never silently dropped.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from auditing.access import TOKEN_ROLES
from audit_service.application import (APPEAL_OUTCOMES, FORMS, REAPPOINTMENT_OUTCOMES,
                                       TRANSFER_KINDS, UNIT_RATINGS)
from audit_service.validation import (EARLIEST_DATE, EARLIEST_INSTANT, LATEST_DATE,
                                      LATEST_INSTANT, MAX_POSITION, field_text_problem)

CATEGORIES = ("can_bo", "cong_chuc", "vien_chuc")
ANNUAL = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")
SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="must be a 64-character SHA-256 hex digest")
# The documented range of every date, instant, year and log position (OpenAPI shows them
# as x-minimum/x-maximum or minimum/maximum); the domain checks the same bounds.
DATES = validate.Range(min=EARLIEST_DATE, max=LATEST_DATE,
                       error=f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
INSTANTS = validate.Range(min=EARLIEST_INSTANT, max=LATEST_INSTANT,
                          error=f"must be between {EARLIEST_INSTANT.isoformat()} and"
                                f" {LATEST_INSTANT.isoformat()}")
YEARS = validate.Range(min=EARLIEST_DATE.year, max=LATEST_DATE.year)
RATING_YEARS = validate.Range(min=1990, max=LATEST_DATE.year)
POSITIONS = validate.Range(min=0, max=MAX_POSITION)


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class Text(fields.String):
    """A string that can be stored and read back: no control characters (tab and line
    breaks only in the multi-line fields, ``validation.MULTILINE_FIELDS``), no lone
    surrogates, no Unicode non-characters. Every string the API takes is one of these."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        problem = field_text_problem(self.name or attr or "", value)
        if problem:
            raise ValidationError(problem)
        return value


def text(required: bool = True, max_len: int = 2000, **kw):
    return Text(required=required, validate=validate.Length(min=1, max=max_len),
                **({} if required else {"load_default": None, "allow_none": True}), **kw)


def day(**kw) -> fields.Date:
    return fields.Date(validate=DATES, **kw)


def instant(**kw) -> fields.AwareDateTime:
    """A date-time with its offset (``Z`` or ``+07:00``)."""
    return fields.AwareDateTime(default_timezone=None, validate=INSTANTS, **kw)


class DecisionRef(Strict):
    number = text(max_len=20, metadata={"example": "123"})
    symbol = text(max_len=60, metadata={"example": "QĐ-UBND"})
    issuer = text(max_len=300, metadata={"example": "UBND quận Tây Hồ"})
    signed_on = day(required=True, metadata={"example": "2018-05-02"})


def ref(required: bool = True):
    return fields.Nested(DecisionRef, required=required,
                         **({} if required else {"load_default": None, "allow_none": True}))


def opt_date():
    return day(load_default=None, allow_none=True)


# ---------------------------------------------------------------- commands
class UnitCreate(Strict):
    code = text(max_len=40)
    name = text(max_len=300)
    level = Text(required=True, validate=validate.OneOf(("city", "district", "ward")))
    parent_id = fields.UUID(load_default=None, allow_none=True)
    established_on = opt_date()


class UnitRatingCreate(Strict):
    year = fields.Integer(required=True, strict=True, validate=RATING_YEARS,
                          metadata={"description": "not after the current year"})
    rating = Text(required=True, validate=validate.OneOf(UNIT_RATINGS))
    source = text(required=False, max_len=300)
    correction_reason = text(required=False)


class OfficerCreate(Strict):
    personnel_code = text(max_len=40)
    full_name = text(max_len=200)
    category = Text(required=True, validate=validate.OneOf(CATEGORIES))
    unit_id = fields.UUID(required=True)
    position = text(max_len=200)
    national_id = Text(load_default=None, allow_none=True,
                       validate=validate.Regexp(r"^[0-9]{12}$", error="must be 12 digits"))
    joined_on = opt_date()


class TransferCreate(Strict):
    to_unit_id = fields.UUID(required=True)
    effective_on = day(required=True)
    decision_ref = ref()
    kind = Text(load_default="transfer", validate=validate.OneOf(TRANSFER_KINDS))
    new_position = text(required=False, max_len=200)
    rotation_exception_reason = text(required=False, max_len=2000)


class AppointmentCreate(Strict):
    position = text(max_len=200)
    term_start = day(required=True)
    term_years = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validate.Range(1, 10))
    decision_ref = ref()


class ReappointmentCreate(Strict):
    outcome = Text(required=True, validate=validate.OneOf(REAPPOINTMENT_OUTCOMES))
    decided_on = day(required=True)
    decision_ref = ref()
    eligibility_hash = text(required=False, max_len=128)
    override_reason = text(required=False, max_len=2000)
    dossier_hash = text(required=False, max_len=64)


class ReappointmentCorrection(Strict):
    """A mistaken reappointment decision corrected by a new one that names it."""

    corrects_decision_ref = ref()
    outcome = Text(required=True, validate=validate.OneOf(REAPPOINTMENT_OUTCOMES))
    reason = text(max_len=2000)
    decision_ref = ref()
    corrected_on = opt_date()
    eligibility_hash = text(required=False, max_len=128)
    override_reason = text(required=False, max_len=2000)


class LeavingCreate(Strict):
    left_on = day(required=True)
    reason = text()


class InspectionCreate(Strict):
    unit_id = fields.UUID(required=True)
    team = fields.List(Text(validate=validate.Length(min=1, max=100)),
                       load_default=list, validate=validate.Length(max=50))
    basis_ref = text(required=False, max_len=300)
    announced = fields.Boolean(load_default=True)
    started_on = day(required=True)


class FindingCreate(Strict):
    officer_id = fields.UUID(load_default=None, allow_none=True)
    conduct_code = text(max_len=80, metadata={"example": "qd522-late"})
    description = text(max_len=5000)
    observed_at = instant(required=True, metadata={"example": "2026-11-02T08:15:00+07:00"})
    evidence_sha256 = fields.List(Text(validate=SHA256), load_default=list,
                                  validate=validate.Length(max=100))


class FindingCorrection(Strict):
    """Name only the fields that change; the others keep their current values."""

    reason = text()
    officer_id = fields.UUID(allow_none=True)
    conduct_code = Text(validate=validate.Length(min=1, max=80))
    description = Text(validate=validate.Length(min=1, max=5000))
    observed_at = instant()
    evidence_sha256 = fields.List(Text(validate=SHA256), validate=validate.Length(max=100))


class Withdrawal(Strict):
    reason = text()


class InspectionClose(Strict):
    closed_on = day(required=True)
    conclusion_ref = text(required=False, max_len=300)


class Violation(Strict):
    finding_id = fields.UUID(load_default=None, allow_none=True)
    inspection_id = fields.UUID(load_default=None, allow_none=True)
    source = Text(load_default=None, allow_none=True,
                  validate=validate.OneOf(("finding", "complaint", "other")))
    conduct_code = text(max_len=80)
    occurred_on = day(required=True)
    detected_on = day(required=True)
    ended_on = day(load_default=None, allow_none=True,
                           metadata={"description": "when the violation ended (limitation"
                                     " clock start)"})
    ongoing = fields.Boolean(load_default=False, metadata={
        "description": "still going on: the limitation clock runs from detected_on"})
    description = text(max_len=5000)
    exemption = Text(load_default=None, allow_none=True)


class ProceedingCreate(Strict):
    officer_id = fields.UUID(required=True)
    violations = fields.List(fields.Nested(Violation), required=True,
                             validate=validate.Length(min=1, max=50))
    opened_on = opt_date()


class Deferral(Strict):
    reason = Text(required=True, metadata={"example": "illness"})
    until = day(required=True)
    deferred_on = opt_date()


class Dismissal(Strict):
    reason = text()
    dismissed_on = opt_date()


class DecisionCreate(Strict):
    form = Text(required=True, validate=validate.OneOf(FORMS))
    decision_ref = ref()
    effective_from = day(required=True)
    corruption_related = fields.Boolean(load_default=False)
    discipline_system = fields.String(load_default="state",
                                      validate=validate.OneOf(["state", "party"]),
                                      metadata={"description": "state (administrative) or"
                                                " Party discipline"})


class AppealCreate(Strict):
    lodged_on = day(required=True)
    grounds = text(max_len=5000)


class AppealResolution(Strict):
    outcome = Text(required=True, validate=validate.OneOf(APPEAL_OUTCOMES))
    resolved_on = day(required=True)
    new_form = Text(load_default=None, allow_none=True, validate=validate.OneOf(FORMS))
    decision_ref = ref(required=False)


class Annulment(Strict):
    reason = text(max_len=5000)
    decision_ref = ref()
    annulled_on = opt_date()


class MonthlyCreate(Strict):
    officer_id = fields.UUID(required=True)
    period = Text(required=True, validate=validate.Regexp(
        r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="must be a month as YYYY-MM"))
    score = fields.Float(required=True, allow_nan=False, validate=validate.Range(0, 100))
    grade = Text(load_default=None, allow_none=True,
                 validate=validate.OneOf(("A", "B", "C", "D")))


class MonthlyCorrection(Strict):
    officer_id = fields.UUID(required=True)
    period = MonthlyCreate._declared_fields["period"]
    score = fields.Float(required=True, allow_nan=False, validate=validate.Range(0, 100))
    reason = text()


class AnnualCreate(Strict):
    officer_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True, validate=RATING_YEARS,
                          metadata={"description": "not after the current year"})
    rating = Text(required=True, validate=validate.Length(min=1, max=20),
                  metadata={"enum": list(ANNUAL)})


class AnnualCorrection(AnnualCreate):
    reason = text()


class TokenCreate(Strict):
    role = Text(required=True, validate=validate.OneOf(TOKEN_ROLES))
    name = text(max_len=200)
    unit_id = fields.UUID(load_default=None, allow_none=True)


# ---------------------------------------------------------------- queries
class AsOf(Strict):
    as_of = instant(load_default=None, metadata={"description": "a recorded time: answer with"
                                                 " what the log held then"})
    min_position = fields.Integer(load_default=None, validate=POSITIONS,
                                  metadata={"description": "wait until the read models include"
                                            " this log position (read-your-writes)"})


HISTORY_ORDERS = ("asc", "desc")


class HistoryQuery(AsOf):
    after = fields.Integer(load_default=None, validate=POSITIONS, metadata={
        "description": "only entries after this log position (the `next_after` of a page)"})
    before = fields.Integer(load_default=None, validate=POSITIONS, metadata={
        "description": "only entries before this log position (the `next_before` of a page"
                       " read newest first)"})
    order = Text(load_default="asc", validate=validate.OneOf(HISTORY_ORDERS), metadata={
        "description": "`asc`: oldest first, the next page from `next_after`; `desc`: newest"
                       " first, the next page from `next_before`"})
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 5000),
                           metadata={"description": "at most this many entries"})
    kind = fields.List(Text(validate=validate.Length(max=100)), load_default=None,
                       validate=validate.Length(max=20), metadata={
                           "description": "only entries of these kinds (repeatable): an event"
                           " type (`MonthlyGrade.Recorded`) or its record (`MonthlyGrade`)"})


class EligibilityQuery(AsOf):
    on = day(load_default=None, metadata={"description": "evaluation date (default the"
                                          " service's today in Vietnam: AUDIT_TODAY when set)"})
    leadership = fields.Boolean(load_default=True)
    post = fields.String(load_default="same", validate=validate.OneOf(["same", "higher"]),
                         metadata={"description": "same: reappointment to the post held"
                                   " (bổ nhiệm lại); higher: appointment to a higher post"})


class DossierQuery(Strict):
    on = day(load_default=None, metadata={"description": "date of the eligibility questions"
                                          " (default the service's today in Vietnam)"})


class RotationQuery(AsOf):
    to_unit_id = fields.UUID(required=True)
    on = day(load_default=None, metadata={"description": "the move's effective date (default"
                                          " the service's today in Vietnam: AUDIT_TODAY when"
                                          " set)"})


class StatisticsQuery(AsOf):
    year = fields.Integer(required=True, validate=YEARS)
    subunits = fields.Boolean(load_default=True)


class Page(Strict):
    after = Text(load_default=None, validate=validate.Length(max=100),
                 metadata={"description": "the `next` cursor of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    min_position = AsOf._declared_fields["min_position"]


class OfficerQuery(Page):
    unit_id = fields.UUID(load_default=None)
    q = Text(load_default=None, validate=validate.Length(max=200))


class UnitQuery(Page):
    parent_id = fields.UUID(load_default=None)


class EventsQuery(Strict):
    after = fields.Integer(load_default=0, validate=POSITIONS)
    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 10000))


class ExportQuery(Strict):
    from_position = fields.Integer(load_default=None, validate=validate.Range(1, MAX_POSITION))
    to_position = fields.Integer(load_default=None, validate=validate.Range(1, MAX_POSITION))


class VerifyQuery(Strict):
    max_seconds = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=60),
                               metadata={"description": "stop after this long and say how"
                                         " far the check got"})
    read_models = fields.String(load_default=None, validate=validate.OneOf(["sample"]),
                                metadata={"description": "sample: also replay the log and"
                                          " compare 20 random officers' answers with it"})


class CheckpointsQuery(Strict):
    after = fields.Integer(load_default=0, validate=POSITIONS,
                           metadata={"description": "only checkpoints at a later position"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class AccessLogQuery(Strict):
    officer_id = fields.UUID(load_default=None)
    user_id = Text(load_default=None, validate=validate.Length(max=100))
    after = fields.Integer(load_default=None, validate=POSITIONS)
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


class ReadWarning(Schema):
    code = fields.String(metadata={"enum": ["quarantined_events"]})
    message = fields.String()
    positions = fields.List(fields.Integer(), metadata={
        "description": "log positions of quarantined events that may concern the officer"})
    projections = fields.List(fields.String())
    undecoded_positions = fields.List(fields.Integer(), metadata={
        "description": "of those, the events that could not be decoded (their officer is"
                       " unknown, so they are reported on every officer read)"})


def read_warnings():
    return fields.List(fields.Nested(ReadWarning), metadata={
        "description": "empty unless events that may concern this officer are quarantined"
                       " (not applied to the read models): then the answer may be incomplete"})


class History(Schema):
    officer_id = fields.String()
    as_of = fields.String(allow_none=True)
    next_after = fields.Integer(allow_none=True, metadata={
        "description": "pass as `after` for the next page (oldest first); null on the last"
                       " page and newest first"})
    next_before = fields.Integer(allow_none=True, metadata={
        "description": "pass as `before` for the next page (newest first, `order=desc`);"
                       " null on the last page and oldest first"})
    entries = fields.List(fields.Nested(HistoryEntry))
    warnings = read_warnings()


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
    warnings = read_warnings()  # not hashed: it says the verdict may rest on missing rows


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
    warnings = read_warnings()


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
