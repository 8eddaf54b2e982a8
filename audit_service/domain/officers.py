"""Officers: registration, transfers and rotations, leadership terms, reappointment, leaving."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from ..errors import RuleViolation
from ..validation import decision_ref_key
from .base import AuditAggregate


class Officer(AuditAggregate):
    @event("Registered")
    def __init__(self, personnel_code: str, full_name: str, category: str, unit_id: UUID,
                 position: str, national_id: str | None, national_id_hash: str | None,
                 joined_on: date | None, actor_id: str, actor_role: str):
        self.personnel_code = personnel_code
        self.full_name = full_name
        self.category = category
        self.unit_id = unit_id
        self.position = position
        self.national_id_hash = national_id_hash
        self.joined_on = joined_on
        self.left_on: date | None = None
        self.term: dict | None = None  # current leadership term
        # [start, end or None] of each time in a leading post; periods without a gap between
        # them are one period
        self.leadership: list[list] = []

    @classmethod
    def pack_state(cls, state: dict) -> None:
        # One text, not a list of tagged dates: an officer appointed many times still loads
        # its snapshot in about the same time.
        state["leadership"] = ";".join(
            f"{start.isoformat()}/{end.isoformat() if end else ''}"
            for start, end in state["leadership"])

    @classmethod
    def unpack_state(cls, state: dict) -> None:
        text = state["leadership"]
        state["leadership"] = [
            [date.fromisoformat(start), date.fromisoformat(end) if end else None]
            for start, end in (part.split("/") for part in text.split(";"))] if text else []

    def _check_in_service(self) -> None:
        if self.left_on is not None:
            raise RuleViolation(f"officer {self.personnel_code} left service on {self.left_on}",
                                code="officer_left_service")

    def transfer(self, to_unit_id: UUID, effective_on: date, decision_ref: dict, kind: str,
                 new_position: str | None, actor_id: str, actor_role: str,
                 rotation_exception: dict | None = None) -> None:
        self._check_in_service()
        if to_unit_id == self.unit_id:
            raise RuleViolation("the officer already serves in that unit", code="transfer_same_unit")
        self._transferred(from_unit_id=self.unit_id, to_unit_id=to_unit_id,
                          effective_on=effective_on, decision_ref=decision_ref, kind=kind,
                          new_position=new_position, rotation_exception=rotation_exception,
                          actor_id=actor_id, actor_role=actor_role)

    class Transferred(AuditAggregate.Event):
        """Version 2 added ``rotation_exception``: the board's reasoned exception to the
        weak-ward rotation rule ({rule_id, reason}), None when none was needed; no
        version-1 transfer carried one."""

        class_version = 2
        from_unit_id: UUID
        to_unit_id: UUID
        effective_on: date
        decision_ref: dict
        kind: str
        new_position: str | None
        rotation_exception: dict | None
        actor_id: str
        actor_role: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["rotation_exception"] = None

    @event(Transferred)
    def _transferred(self, from_unit_id: UUID, to_unit_id: UUID, effective_on: date,
                     decision_ref: dict, kind: str, new_position: str | None,
                     rotation_exception: dict | None, actor_id: str, actor_role: str) -> None:
        self.unit_id = to_unit_id
        if new_position:
            self.position = new_position

    def appoint(self, position: str, term_start: date, term_years: int, decision_ref: dict,
                actor_id: str, actor_role: str) -> None:
        self._check_in_service()
        self._appointed(position=position, term_start=term_start, term_years=term_years,
                        decision_ref=decision_ref, actor_id=actor_id, actor_role=actor_role)

    @event("Appointed")
    def _appointed(self, position: str, term_start: date, term_years: int, decision_ref: dict,
                   actor_id: str, actor_role: str) -> None:
        self.position = position
        self.last_reappointment = None
        self.term = {"position": position, "term_start": term_start, "term_years": term_years}
        last = self.leadership[-1] if self.leadership else None
        if last is not None and last[0] <= term_start and (last[1] is None
                                                           or term_start <= last[1]):
            # Leadership without a gap: the period goes on, so an officer appointed term
            # after term keeps one period (a snapshot that does not grow with the terms).
            # Its floor is where one period per appointment would have closed it at the
            # least: ending leadership earlier than that ends it there, as before.
            self.leadership_floor = max(self._floor(last), last[1] or term_start, term_start)
            last[1] = None
        else:
            self._end_leadership(term_start)
            self.leadership.append([term_start, None])
            self.leadership_floor = term_start

    #: The least end of the last leadership period (see ``_appointed``); None: its start
    #: (snapshots taken before periods were merged have no floor, and need none).
    leadership_floor: date | None = None

    def _floor(self, last: list) -> date:
        return self.leadership_floor if self.leadership_floor is not None else last[0]

    def _end_leadership(self, day: date) -> None:
        if self.leadership and self.leadership[-1][1] is None:
            self.leadership[-1][1] = max(day, self._floor(self.leadership[-1]))

    def _reopen_leadership(self) -> None:
        """Undo the end of the last period (a corrected refusal): its floor still holds."""
        self.leadership[-1][1] = None

    def led_on(self, day: date) -> bool:
        """Whether the officer held a leadership post (an appointment on record) on ``day``."""
        return any(start <= day and (end is None or day < end) for start, end in self.leadership)

    def decide_reappointment(self, outcome: str, decided_on: date, decision_ref: dict,
                             eligibility_hash: str | None, actor_id: str, actor_role: str,
                             eligibility_verdict: str | None = None,
                             override_reason: str | None = None,
                             dossier_hash: str | None = None) -> None:
        self._check_in_service()
        if self.term is None:
            raise RuleViolation(
                f"officer {self.personnel_code} holds no leadership term to reappoint",
                code="no_term",
            )
        if decided_on < self.term["term_start"]:
            raise RuleViolation("the reappointment decision predates the term it ends",
                                code="reappointment_before_term")
        self._reappointment_decided(
            outcome=outcome, decided_on=decided_on, decision_ref=decision_ref,
            eligibility_hash=eligibility_hash, term_start=self.term["term_start"],
            eligibility_verdict=eligibility_verdict, override_reason=override_reason,
            dossier_hash=dossier_hash, actor_id=actor_id, actor_role=actor_role)

    class ReappointmentDecided(AuditAggregate.Event):
        """Version 2 added ``eligibility_verdict`` (the verdict of the answer the service
        recomputed at write time for the quoted hash) and ``override_reason`` (required to
        reappoint against a not_eligible verdict); version-1 decisions carried neither.
        Version 3 added ``dossier_hash``: the hash of the board dossier the decision rests on
        (``audit-service dossier``), None when none was quoted."""

        class_version = 3
        outcome: str
        decided_on: date
        decision_ref: dict
        eligibility_hash: str | None
        term_start: date
        eligibility_verdict: str | None
        override_reason: str | None
        dossier_hash: str | None
        actor_id: str
        actor_role: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["eligibility_verdict"] = None
            state["override_reason"] = None

        @staticmethod
        def upcast_v2_v3(state: dict) -> None:
            state["dossier_hash"] = None

    @event(ReappointmentDecided)
    def _reappointment_decided(self, outcome: str, decided_on: date, decision_ref: dict,
                               eligibility_hash: str | None, term_start: date,
                               eligibility_verdict: str | None, override_reason: str | None,
                               dossier_hash: str | None, actor_id: str, actor_role: str) -> None:
        # what a correction needs to undo this decision: the term it ended, and whether it
        # closed the leadership period (this event's version is the next one)
        self.last_reappointment = {
            "version": self.version + 1, "decision_ref": decision_ref, "outcome": outcome,
            "decided_on": decided_on, "term": dict(self.term) if self.term else None,
            "eligibility_hash": eligibility_hash, "override_reason": override_reason,
            "corrected": False}
        self._apply_reappointment(outcome, decided_on)

    def _apply_reappointment(self, outcome: str, decided_on: date) -> None:
        if outcome == "reappointed" and self.term is not None:
            years = self.term["term_years"]
            start = self.term["term_start"]
            try:
                new_start = start.replace(year=start.year + years)
            except ValueError:  # 29 February
                new_start = start.replace(year=start.year + years, day=28)
            self.term = {**self.term, "term_start": new_start}
        elif outcome == "not_reappointed":
            self.term = None
            self._end_leadership(decided_on)

    #: The latest reappointment decision, while it is the last change to the officer's term
    #: (an appointment or leaving service clears it): what a correction undoes. A class
    #: default, so officers loaded from snapshots taken before corrections existed load too
    #: (the service then reads the officer from its events).
    last_reappointment: dict | None = None

    def reappointment_to_correct(self, corrects_decision_ref: dict) -> dict:
        """The reappointment decision a correction names, if it may be corrected: the
        officer's latest, not corrected yet, with no appointment or leaving after it."""
        self._check_in_service()
        last = self.last_reappointment
        if last is None or decision_ref_key(last["decision_ref"]) != decision_ref_key(
                corrects_decision_ref):
            raise RuleViolation(
                "no reappointment decision of this officer with that reference can be"
                " corrected: only the latest one, while no appointment or leaving followed it",
                code="reappointment_decision_not_found")
        if last["corrected"]:
            raise RuleViolation("that reappointment decision was already corrected",
                                code="reappointment_already_corrected")
        return last

    def correct_reappointment(self, corrects_decision_ref: dict, outcome: str, reason: str,
                              corrected_on: date, decision_ref: dict,
                              eligibility_hash: str | None, eligibility_verdict: str | None,
                              override_reason: str | None, actor_id: str,
                              actor_role: str) -> None:
        """Correct the board's latest reappointment decision by a new event that names it:
        nothing stored is changed; the term is what the corrected outcome gives."""
        last = self.reappointment_to_correct(corrects_decision_ref)
        if corrected_on < last["decided_on"]:
            raise RuleViolation("a correction cannot predate the decision it corrects",
                                code="correction_before_decision")
        if (outcome, eligibility_hash, override_reason) == (
                last["outcome"], last["eligibility_hash"], last["override_reason"]):
            raise RuleViolation("the correction changes nothing",
                                code="correction_changes_nothing")
        self._reappointment_decision_corrected(
            corrects_version=last["version"], corrects_decision_ref=corrects_decision_ref,
            outcome=outcome, decided_on=last["decided_on"], corrected_on=corrected_on,
            reason=reason, decision_ref=decision_ref, term=last["term"],
            eligibility_hash=eligibility_hash, eligibility_verdict=eligibility_verdict,
            override_reason=override_reason, actor_id=actor_id, actor_role=actor_role)

    @event("ReappointmentDecisionCorrected")
    def _reappointment_decision_corrected(
            self, corrects_version: int, corrects_decision_ref: dict, outcome: str,
            decided_on: date, corrected_on: date, reason: str, decision_ref: dict,
            term: dict | None, eligibility_hash: str | None, eligibility_verdict: str | None,
            override_reason: str | None, actor_id: str, actor_role: str) -> None:
        # Back to the state before the corrected decision, then the corrected outcome. From
        # the event alone (an officer loaded from an older snapshot has no record of the
        # decision): nothing changed the term since, so no term now means it was refused.
        if self.term is None and term is not None and self.leadership:
            self._reopen_leadership()
        self.term = dict(term) if term else None
        self._apply_reappointment(outcome, decided_on)
        self.last_reappointment = {
            "version": corrects_version, "decision_ref": corrects_decision_ref,
            "outcome": outcome, "decided_on": decided_on, "term": term,
            "eligibility_hash": eligibility_hash, "override_reason": override_reason,
            "corrected": True}

    def leave_service(self, left_on: date, reason: str, actor_id: str, actor_role: str) -> None:
        self._check_in_service()
        self._left_service(left_on=left_on, reason=reason, actor_id=actor_id, actor_role=actor_role)

    @event("LeftService")
    def _left_service(self, left_on: date, reason: str, actor_id: str, actor_role: str) -> None:
        self.last_reappointment = None
        self.left_on = left_on
        self._end_leadership(left_on)
