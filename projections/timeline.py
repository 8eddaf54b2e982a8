"""Pure folding of an officer's timeline rows into the officer's state, "as of" a time.

A timeline row is a plain dict written by the projector, one per event that concerns the
officer::

    {"position": 17, "event_type": "Decision.Issued",
     "recorded_at": "2024-03-01T02:03:04.123456+00:00", "occurred_on": "2024-02-28",
     "subject_id": "…", "actor_id": "u1", "actor_role": "board", "data": {...}}

``fold(rows, as_of)`` ignores rows recorded after ``as_of`` and applies the rest in log
position order; ``entry_statuses(rows, as_of)`` says, for every row kept, whether it still
stands (``active``) or was superseded by a later row (``corrected``, ``withdrawn``,
``annulled``, ``overturned``). Superseded rows are never dropped: only their status changes.

No I/O, no clock, no import of the service: the offline verifier may reuse this module.
"""
from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping
from uuid import UUID

from audit_service.clock import parse_date  # noqa: F401 - the rows' dates, re-exported
from audit_service.limitation import add_years

__all__ = [
    "ACTIVE", "CORRECTED", "WITHDRAWN", "ANNULLED", "OVERTURNED",
    "OfficerState", "Term", "DecisionState", "ProceedingState", "RatingState", "GradeState",
    "FindingState", "fold", "entry_statuses", "entry_status_changes", "visible_rows",
    "parse_date", "parse_instant", "add_months", "add_years", "day_before", "jsonable",
]

ACTIVE = "active"
CORRECTED = "corrected"
WITHDRAWN = "withdrawn"
ANNULLED = "annulled"
OVERTURNED = "overturned"


# --------------------------------------------------------------------------- small helpers

def parse_instant(value: Any) -> datetime | None:
    """A recorded time: ISO string or datetime; a naive value is taken as UTC."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; the day of month is clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def jsonable(value: Any) -> Any:
    """Instants as UTC ISO strings, dates as ISO strings, UUIDs as strings, mapping keys as
    strings, tuples as lists (recursively)."""
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- state

@dataclass
class Term:
    """The current leadership term. ``term_end`` = ``term_start`` + ``term_years``: the day the
    next term would start (a reappointment starts the next term on it)."""

    position: str | None
    term_start: date
    term_years: int
    term_end: date
    appointed_position: int  # log position of the row that started this term
    decision_ref: dict | None = None
    positions: list[int] = field(default_factory=list)  # every row that shaped the term

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


@dataclass
class DecisionState:
    decision_id: str
    proceeding_id: str | None = None
    category: str | None = None
    form: str | None = None  # current form, after any form_changed appeal
    original_form: str | None = None
    regime: str | None = None
    decision_ref: dict | None = None
    effective_from: date | None = None
    signed_on: date | None = None
    corruption_related: bool = False
    discipline_system: str = "state"  # state (administrative) | party; absent before v2
    status: str = "in_force"  # in_force | annulled | overturned
    status_position: int | None = None  # the row that annulled or overturned it
    status_on: date | None = None
    appeal_pending: bool = False
    appeals: dict[str, dict] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)

    @property
    def in_force(self) -> bool:
        return self.status == "in_force"

    @property
    def issued_position(self) -> int | None:
        return self.positions[0] if self.positions else None


@dataclass
class ProceedingState:
    proceeding_id: str
    status: str = "open"  # open | deferred | dismissed | decided
    opened_on: date | None = None
    opened_position: int | None = None
    deferred_until: date | None = None
    deferral_reason: str | None = None
    deferred_on: date | None = None
    deferrals: list[dict] = field(default_factory=list)  # every deferral, in order
    dismissed_on: date | None = None
    decided_on: date | None = None  # the first decision's, of either system
    decision_id: str | None = None  # the state decision (any, before Decided v2)
    party_decision_id: str | None = None  # the Party decision on the same act
    decided_positions: dict[str, int] = field(default_factory=dict)  # decision -> its Decided row
    conduct_codes: list[str] = field(default_factory=list)
    #: the violations' dates: ``{occurred_on, detected_on, ended_on}`` (dates or None)
    violations: list[dict] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)


@dataclass
class RatingState:
    year: int
    rating: str
    status: str = "recorded"  # recorded | corrected
    rating_id: str | None = None
    positions: list[int] = field(default_factory=list)


@dataclass
class GradeState:
    period: str
    score: float | None
    grade: str | None
    framework: str | None = None
    status: str = "recorded"  # recorded | corrected
    grade_id: str | None = None
    positions: list[int] = field(default_factory=list)


@dataclass
class FindingState:
    finding_id: str
    status: str = ACTIVE  # active | withdrawn
    conduct_code: str | None = None
    observed_on: date | None = None
    officer_id: str | None = None
    inspection_id: str | None = None
    corrected: bool = False
    positions: list[int] = field(default_factory=list)


@dataclass
class OfficerState:
    officer_id: str | None = None
    personnel_code: str | None = None
    full_name: str | None = None
    category: str | None = None
    unit_id: str | None = None
    position: str | None = None
    joined_on: date | None = None
    left_on: date | None = None
    left_reason: str | None = None
    term: Term | None = None
    terms: list[Term] = field(default_factory=list)  # every term started, in log order
    decisions: dict[str, DecisionState] = field(default_factory=dict)
    proceedings: dict[str, ProceedingState] = field(default_factory=dict)
    ratings: dict[int, RatingState] = field(default_factory=dict)
    monthly_grades: dict[str, GradeState] = field(default_factory=dict)
    findings: dict[str, FindingState] = field(default_factory=dict)
    last_position: int | None = None  # the highest log position folded in
    row_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, years as string keys."""
        return jsonable(asdict(self))

    def term_on(self, day: date) -> Term | None:
        """The term in force on ``day``: the latest-started term with term_start <= day;
        None before the first term (a term decided for the future is not yet in force).
        It may have ended before ``day`` (then no later term had started)."""
        started = [t for t in self.terms if t.term_start <= day]
        return max(started, key=lambda t: (t.term_start, t.appointed_position), default=None)


# --------------------------------------------------------------------------- folding

def visible_rows(rows: Iterable[Mapping[str, Any]], as_of: datetime | str | None = None
                 ) -> list[Mapping[str, Any]]:
    """The rows recorded at or before ``as_of`` (all rows if None), in log position order."""
    cutoff = parse_instant(as_of)
    kept = [r for r in rows
            if cutoff is None or parse_instant(r.get("recorded_at")) is None
            or parse_instant(r["recorded_at"]) <= cutoff]
    return sorted(kept, key=lambda r: int(r["position"]))


class _Folder:
    def __init__(self) -> None:
        self.state = OfficerState()
        self.statuses: dict[int, tuple[str, int | None]] = {}
        self.rows_by_subject: dict[str, list[int]] = {}
        self.decided_rows: dict[str, list[int]] = {}  # decision id -> Proceeding.Decided rows
        self.rating_years: dict[str, int] = {}
        self.grade_periods: dict[str, str] = {}
        # (row, term before it, number of terms before it) of the latest reappointment
        # decision, while nothing else changed the term since
        self.last_reappointment: tuple[int, Term | None, int] | None = None

    # -- plumbing

    def apply(self, row: Mapping[str, Any]) -> None:
        pos = int(row["position"])
        subject = _text(row.get("subject_id"))
        self.statuses[pos] = (ACTIVE, None)
        if subject is not None:
            self.rows_by_subject.setdefault(subject, []).append(pos)
        st = self.state
        st.last_position = pos if st.last_position is None else max(st.last_position, pos)
        st.row_count += 1
        handler = getattr(self, "_" + str(row.get("event_type", "")).replace(".", "_"), None)
        if handler is not None:
            handler(pos, subject, row.get("data") or {}, row)

    def _supersede(self, subject: str | None, upto: int, status: str, by: int,
                   include_self: bool = False) -> None:
        """Mark the subject's earlier (still active) rows with ``status``."""
        for p in self.rows_by_subject.get(subject or "", []):
            if (p < upto or (include_self and p == upto)) and self.statuses[p][0] == ACTIVE:
                self.statuses[p] = (status, by)

    def finish(self) -> None:
        for decision_id, d in self.state.decisions.items():
            if d.status in (ANNULLED, OVERTURNED):
                for p in self.rows_by_subject.get(decision_id, []) + self.decided_rows.get(
                        decision_id, []):
                    self.statuses[p] = (d.status, d.status_position)

    # -- Officer

    def _Officer_Registered(self, pos: int, subject: str | None, data: dict, row) -> None:
        st = self.state
        st.officer_id = subject
        st.personnel_code = data.get("personnel_code")
        st.full_name = data.get("full_name")
        st.category = data.get("category")
        st.unit_id = _text(data.get("unit_id"))
        st.position = data.get("position")
        st.joined_on = parse_date(data.get("joined_on"))

    def _Officer_Transferred(self, pos: int, subject, data: dict, row) -> None:
        self.state.unit_id = _text(data.get("to_unit_id"))
        if data.get("new_position"):
            self.state.position = data["new_position"]

    def _Officer_Appointed(self, pos: int, subject, data: dict, row) -> None:
        self.last_reappointment = None
        start = parse_date(data.get("term_start"))
        years = int(data.get("term_years") or 0)
        self.state.position = data.get("position") or self.state.position
        if start is None:
            return
        self.state.term = Term(position=data.get("position"), term_start=start,
                               term_years=years, term_end=add_years(start, years),
                               appointed_position=pos, decision_ref=data.get("decision_ref"),
                               positions=[pos])
        self.state.terms.append(self.state.term)

    def _Officer_ReappointmentDecided(self, pos: int, subject, data: dict, row) -> None:
        # what a correction of this decision undoes
        self.last_reappointment = (pos, self.state.term, len(self.state.terms))
        self._reappointment(pos, data)

    def _Officer_ReappointmentDecisionCorrected(self, pos: int, subject, data: dict,
                                                row) -> None:
        """The latest reappointment decision corrected: its row is marked corrected (by
        this one), the term is what it was before it, then the corrected outcome applies."""
        last = self.last_reappointment
        if last is None:
            return
        decided_pos, term_before, terms_before = last
        self.statuses[decided_pos] = (CORRECTED, pos)
        self.state.term = term_before
        del self.state.terms[terms_before:]
        self.last_reappointment = None
        self._reappointment(pos, data)

    def _reappointment(self, pos: int, data: dict) -> None:
        term = self.state.term
        outcome = data.get("outcome")
        if outcome == "reappointed" and term is not None:
            start = term.term_end
            self.state.term = Term(position=term.position, term_start=start,
                                   term_years=term.term_years,
                                   term_end=add_years(start, term.term_years),
                                   appointed_position=pos, decision_ref=data.get("decision_ref"),
                                   positions=[*term.positions, pos])
            self.state.terms.append(self.state.term)
        elif outcome == "not_reappointed":
            self.state.term = None

    def _Officer_LeftService(self, pos: int, subject, data: dict, row) -> None:
        self.last_reappointment = None
        self.state.left_on = parse_date(data.get("left_on"))
        self.state.left_reason = data.get("reason")

    # -- Inspection findings

    def _finding(self, finding_id: str) -> FindingState:
        return self.state.findings.setdefault(finding_id, FindingState(finding_id=finding_id))

    def _Inspection_FindingRecorded(self, pos: int, subject, data: dict, row) -> None:
        fid = _text(data.get("finding_id")) or subject
        f = self._finding(fid)
        f.conduct_code = data.get("conduct_code")
        f.observed_on = parse_date(row.get("occurred_on")) or parse_date(data.get("observed_at"))
        f.officer_id = _text(data.get("officer_id"))
        f.inspection_id = _text(data.get("inspection_id"))
        f.positions.append(pos)

    def _Inspection_FindingCorrected(self, pos: int, subject, data: dict, row) -> None:
        fid = _text(data.get("finding_id")) or subject
        f = self._finding(fid)
        f.conduct_code = data.get("conduct_code", f.conduct_code)
        f.observed_on = (parse_date(row.get("occurred_on")) or parse_date(data.get("observed_at"))
                         or f.observed_on)
        if "officer_id" in data:
            f.officer_id = _text(data.get("officer_id"))
        f.status = ACTIVE
        f.corrected = True
        f.positions.append(pos)
        self._supersede(subject or fid, pos, CORRECTED, pos)

    def _Inspection_FindingWithdrawn(self, pos: int, subject, data: dict, row) -> None:
        fid = _text(data.get("finding_id")) or subject
        f = self._finding(fid)
        f.status = WITHDRAWN
        f.positions.append(pos)
        for p in self.rows_by_subject.get(subject or fid, []):
            self.statuses[p] = (WITHDRAWN, pos)

    # -- Proceedings

    def _proceeding(self, pid: str) -> ProceedingState:
        return self.state.proceedings.setdefault(pid, ProceedingState(proceeding_id=pid))

    def _Proceeding_Opened(self, pos: int, subject, data: dict, row) -> None:
        p = self._proceeding(subject)
        p.opened_on = parse_date(data.get("opened_on")) or parse_date(row.get("occurred_on"))
        p.opened_position = pos
        given = [v for v in data.get("violations") or [] if isinstance(v, Mapping)]
        p.conduct_codes = [v.get("conduct_code") for v in given]
        p.violations = [{k: parse_date(v.get(k)) for k in ("occurred_on", "detected_on",
                                                           "ended_on")} for v in given]
        p.positions.append(pos)

    def _Proceeding_Deferred(self, pos: int, subject, data: dict, row) -> None:
        p = self._proceeding(subject)
        p.status = "deferred"
        p.deferred_until = parse_date(data.get("until"))
        p.deferral_reason = data.get("reason")
        p.deferred_on = parse_date(data.get("deferred_on")) or parse_date(row.get("occurred_on"))
        p.deferrals.append({"reason": p.deferral_reason, "until": p.deferred_until,
                            "deferred_on": p.deferred_on, "position": pos})
        p.positions.append(pos)

    def _Proceeding_Dismissed(self, pos: int, subject, data: dict, row) -> None:
        p = self._proceeding(subject)
        p.status = "dismissed"
        p.dismissed_on = parse_date(data.get("dismissed_on")) or parse_date(row.get("occurred_on"))
        p.positions.append(pos)

    def _Proceeding_Decided(self, pos: int, subject, data: dict, row) -> None:
        p = self._proceeding(subject)
        p.status = "decided"
        decided_on = parse_date(data.get("decided_on")) or parse_date(row.get("occurred_on"))
        if p.decided_on is None or (decided_on is not None and decided_on < p.decided_on):
            p.decided_on = decided_on
        decision_id = _text(data.get("decision_id"))
        if data.get("discipline_system") == "party":
            p.party_decision_id = decision_id
        else:  # state, or a version-1 Decided (the proceeding's one decision)
            p.decision_id = decision_id
        p.positions.append(pos)
        if decision_id:
            p.decided_positions[decision_id] = pos
            self.decided_rows.setdefault(decision_id, []).append(pos)

    # -- Decisions

    def _decision(self, did: str) -> DecisionState:
        return self.state.decisions.setdefault(did, DecisionState(decision_id=did))

    def _Decision_Issued(self, pos: int, subject, data: dict, row) -> None:
        d = self._decision(subject)
        ref = data.get("decision_ref") or {}
        d.proceeding_id = _text(data.get("proceeding_id"))
        d.category = data.get("category")
        d.form = d.original_form = data.get("form")
        d.regime = data.get("regime")
        d.decision_ref = dict(ref) if ref else None
        d.effective_from = parse_date(data.get("effective_from")) or parse_date(
            row.get("occurred_on"))
        d.signed_on = parse_date(ref.get("signed_on")) if ref else None
        d.corruption_related = bool(data.get("corruption_related"))
        d.discipline_system = data.get("discipline_system") or "state"
        d.positions.append(pos)

    def _Decision_AppealLodged(self, pos: int, subject, data: dict, row) -> None:
        d = self._decision(subject)
        appeal_id = _text(data.get("appeal_id")) or str(pos)
        d.appeals[appeal_id] = {"lodged_on": parse_date(data.get("lodged_on")),
                                "outcome": None, "resolved_on": None, "position": pos}
        d.appeal_pending = True
        d.positions.append(pos)

    def _Decision_AppealResolved(self, pos: int, subject, data: dict, row) -> None:
        d = self._decision(subject)
        appeal_id = _text(data.get("appeal_id")) or str(pos)
        outcome = data.get("outcome")
        resolved_on = parse_date(data.get("resolved_on")) or parse_date(row.get("occurred_on"))
        appeal = d.appeals.setdefault(appeal_id, {"lodged_on": None, "position": None})
        appeal.update(outcome=outcome, resolved_on=resolved_on, resolved_position=pos,
                      new_form=data.get("new_form"), previous_form=data.get("previous_form"))
        d.appeal_pending = any(a.get("outcome") is None for a in d.appeals.values())
        if outcome == OVERTURNED and d.status == "in_force":
            d.status, d.status_position, d.status_on = OVERTURNED, pos, resolved_on
        elif outcome == "form_changed" and data.get("new_form"):
            d.form = data["new_form"]
        d.positions.append(pos)

    def _Decision_Annulled(self, pos: int, subject, data: dict, row) -> None:
        d = self._decision(subject)
        if d.status == "in_force":
            d.status, d.status_position = ANNULLED, pos
            d.status_on = parse_date(data.get("annulled_on")) or parse_date(row.get("occurred_on"))
        d.positions.append(pos)

    # -- Ratings and grades

    def _AnnualRating_Recorded(self, pos: int, subject, data: dict, row) -> None:
        year = int(data["year"])
        self.rating_years[subject] = year
        self.state.ratings[year] = RatingState(year=year, rating=data.get("rating"),
                                               rating_id=subject, positions=[pos])

    def _AnnualRating_Corrected(self, pos: int, subject, data: dict, row) -> None:
        year = self.rating_years.get(subject)
        if year is None:  # the Recorded row is not visible: fall back on the world date
            occurred = parse_date(row.get("occurred_on"))
            if occurred is None:
                return
            year = occurred.year
            self.rating_years[subject] = year
        r = self.state.ratings.setdefault(year, RatingState(year=year, rating=data.get("rating"),
                                                            rating_id=subject))
        r.rating = data.get("rating")
        r.status = "corrected"
        r.positions.append(pos)
        self._supersede(subject, pos, CORRECTED, pos)

    def _MonthlyGrade_Recorded(self, pos: int, subject, data: dict, row) -> None:
        period = str(data.get("period"))
        self.grade_periods[subject] = period
        self.state.monthly_grades[period] = GradeState(
            period=period, score=data.get("score"), grade=data.get("grade"),
            framework=data.get("framework"), grade_id=subject, positions=[pos])

    def _MonthlyGrade_Corrected(self, pos: int, subject, data: dict, row) -> None:
        period = self.grade_periods.get(subject)
        if period is None:
            occurred = parse_date(row.get("occurred_on"))
            if occurred is None:
                return
            period = f"{occurred.year:04d}-{occurred.month:02d}"
            self.grade_periods[subject] = period
        g = self.state.monthly_grades.setdefault(period, GradeState(
            period=period, score=None, grade=None, grade_id=subject))
        g.score = data.get("score")
        g.grade = data.get("grade")
        g.status = "corrected"
        g.positions.append(pos)
        self._supersede(subject, pos, CORRECTED, pos)


def _run(rows: Iterable[Mapping[str, Any]], as_of: datetime | str | None) -> _Folder:
    folder = _Folder()
    for row in visible_rows(rows, as_of):
        folder.apply(row)
    folder.finish()
    return folder


def fold(rows: Iterable[Mapping[str, Any]], as_of: datetime | str | None = None) -> OfficerState:
    """The officer's state from the rows recorded at or before ``as_of``, in position order."""
    return _run(rows, as_of).state


def entry_status_changes(rows: Iterable[Mapping[str, Any]], as_of: datetime | str | None = None
                         ) -> dict[int, dict[str, Any]]:
    """``{position: {"status": ..., "changed_by": position or None}}`` for every visible row."""
    folder = _run(rows, as_of)
    return {p: {"status": s, "changed_by": by} for p, (s, by) in sorted(folder.statuses.items())}


def entry_statuses(rows: Iterable[Mapping[str, Any]], as_of: datetime | str | None = None
                   ) -> dict[int, str]:
    """``{position: status}``: ``active``, ``corrected`` (a rating, grade, finding or
    reappointment decision row superseded by a later correction), ``withdrawn`` (every row of a withdrawn finding),
    ``annulled`` / ``overturned`` (every row of such a decision, and the ``Proceeding.Decided``
    row that names it)."""
    return {p: v["status"] for p, v in entry_status_changes(rows, as_of).items()}


def day_before(day: date) -> date:
    return day - timedelta(days=1)
