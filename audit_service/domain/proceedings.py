"""Disciplinary proceedings and the decisions that end them.

A proceeding collects violations and ends dismissed or decided; a decision is its own
aggregate (appeals and annulments name it) created in the same save as the proceeding's
``Decided`` event.
"""
from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from ..errors import NotFound, RuleViolation
from .base import AuditAggregate, PackedMapping


class Proceeding(AuditAggregate):
    class Opened(AuditAggregate.Created):
        """Version 2 added ``ended_on`` and ``ongoing`` to each violation (the limitation
        clock's start); version-1 violations carried neither: not known to have ended
        later than they occurred, not recorded as ongoing."""

        class_version = 2
        officer_id: UUID
        violations: list
        opened_on: date
        actor_id: str
        actor_role: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            for v in state.get("violations") or []:
                v.setdefault("ended_on", None)
                v.setdefault("ongoing", False)

    @event(Opened)
    def __init__(self, officer_id: UUID, violations: list, opened_on: date,
                 actor_id: str, actor_role: str):
        self.officer_id = officer_id
        self.violations = list(violations)
        self.opened_on = opened_on
        self.deferred_until: date | None = None
        self.deferral_reason: str | None = None
        self.dismissed_on: date | None = None
        self.decision_id: UUID | None = None

    @property
    def status(self) -> str:
        if self.decision_id is not None:
            return "decided"
        if self.dismissed_on is not None:
            return "dismissed"
        return "open"

    def _check_open(self) -> None:
        if self.status != "open":
            raise RuleViolation(f"the proceeding is {self.status}", code=f"proceeding_{self.status}")

    def defer(self, reason: str, until: date, deferred_on: date, actor_id: str,
              actor_role: str) -> None:
        self._check_open()
        if until < deferred_on:
            raise RuleViolation("a deferral must end after it starts", code="deferral_backwards")
        self._deferred(reason=reason, until=until, deferred_on=deferred_on, actor_id=actor_id,
                       actor_role=actor_role)

    @event("Deferred")
    def _deferred(self, reason: str, until: date, deferred_on: date, actor_id: str,
                  actor_role: str) -> None:
        self.deferred_until = until
        self.deferral_reason = reason

    def dismiss(self, reason: str, dismissed_on: date, actor_id: str, actor_role: str) -> None:
        self._check_open()
        self._dismissed(reason=reason, dismissed_on=dismissed_on, actor_id=actor_id,
                        actor_role=actor_role)

    @event("Dismissed")
    def _dismissed(self, reason: str, dismissed_on: date, actor_id: str, actor_role: str) -> None:
        self.dismissed_on = dismissed_on

    def check_decidable(self, decided_on: date) -> None:
        """Refuse a decision on a dismissed, decided or currently deferred proceeding."""
        self._check_open()
        if self.deferred_until is not None and decided_on <= self.deferred_until:
            raise RuleViolation(
                f"the proceeding is deferred ({self.deferral_reason}) until {self.deferred_until}",
                code="proceeding_deferred",
            )
        if decided_on < self.opened_on:
            raise RuleViolation("a decision cannot predate its proceeding",
                                code="decision_before_proceeding")

    def decide(self, decision_id: UUID, decided_on: date, actor_id: str, actor_role: str) -> None:
        self.check_decidable(decided_on)
        self._decided(decision_id=decision_id, decided_on=decided_on, actor_id=actor_id,
                      actor_role=actor_role)

    @event("Decided")
    def _decided(self, decision_id: UUID, decided_on: date, actor_id: str, actor_role: str) -> None:
        self.decision_id = decision_id


#: Discipline systems: state (administrative, Decree 112/2020 then 172/2025) or Party
#: (Regulation 69-QĐ/TW); Party discipline does not replace administrative discipline.
DISCIPLINE_SYSTEMS = ("state", "party")


class Appeals(PackedMapping):
    """A decision's appeals by id: when each was lodged and its outcome (None while pending)."""

    @staticmethod
    def pack_entry(value: dict) -> list:
        return [value["lodged_on"].isoformat(), value["outcome"]]

    @staticmethod
    def unpack_entry(value: list) -> dict:
        return {"lodged_on": date.fromisoformat(value[0]), "outcome": value[1]}


class Decision(AuditAggregate):
    """A discipline decision (quyết định kỷ luật), its appeals and any annulment."""

    class Issued(AuditAggregate.Created):
        """Version 2 added ``discipline_system``; every version-1 decision was state
        (administrative) discipline, the only kind the service recorded then."""

        class_version = 2
        proceeding_id: UUID
        officer_id: UUID
        category: str
        form: str
        regime: str
        decision_ref: dict
        effective_from: date
        corruption_related: bool
        discipline_system: str
        actor_id: str
        actor_role: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["discipline_system"] = "state"

    @event(Issued)
    def __init__(self, proceeding_id: UUID, officer_id: UUID, category: str, form: str,
                 regime: str, decision_ref: dict, effective_from: date, corruption_related: bool,
                 discipline_system: str, actor_id: str, actor_role: str):
        self.discipline_system = discipline_system
        self.proceeding_id = proceeding_id
        self.officer_id = officer_id
        self.category = category
        self.form = form
        self.regime = regime
        self.decision_ref = decision_ref
        self.effective_from = effective_from
        self.corruption_related = corruption_related
        self.appeals = Appeals()
        self.status = "in_force"

    @classmethod
    def pack_state(cls, state: dict) -> None:
        state["appeals"] = state["appeals"].freeze()

    @classmethod
    def unpack_state(cls, state: dict) -> None:
        state["appeals"] = Appeals(state["appeals"])

    def _appeal(self, appeal_id: UUID) -> dict | None:
        """An appeal's entry; the pending one is kept apart so that resolving it never
        has to decode the others."""
        pending = self.__dict__.get("_pending_appeal")
        if pending is not None and pending[0] == appeal_id:
            return {"lodged_on": pending[1], "outcome": None}
        return self.appeals.get(appeal_id)

    def _check_in_force(self) -> None:
        if self.status != "in_force":
            raise RuleViolation(f"the decision is {self.status}", code=f"decision_{self.status}")

    def lodge_appeal(self, appeal_id: UUID, lodged_on: date, grounds: str, actor_id: str,
                     actor_role: str) -> None:
        self._check_in_force()
        if self.__dict__.get("_pending_appeal") is not None:
            raise RuleViolation("an appeal on this decision is still pending",
                                code="appeal_pending")
        if lodged_on < self.decision_ref_signed_on:
            raise RuleViolation("an appeal cannot predate the decision", code="appeal_before_decision")
        self._appeal_lodged(appeal_id=appeal_id, lodged_on=lodged_on, grounds=grounds,
                            actor_id=actor_id, actor_role=actor_role)

    @property
    def decision_ref_signed_on(self) -> date:
        return self.decision_ref["signed_on"]

    @event("AppealLodged")
    def _appeal_lodged(self, appeal_id: UUID, lodged_on: date, grounds: str, actor_id: str,
                       actor_role: str) -> None:
        self.appeals[appeal_id] = {"lodged_on": lodged_on, "outcome": None}
        self._pending_appeal = [appeal_id, lodged_on]

    def resolve_appeal(self, appeal_id: UUID, outcome: str, new_form: str | None,
                       resolved_on: date, decision_ref: dict | None, actor_id: str,
                       actor_role: str) -> None:
        appeal = self._appeal(appeal_id)
        if appeal is None:
            raise NotFound(f"no appeal {appeal_id} on decision {self.id}", code="appeal_not_found")
        if appeal["outcome"] is not None:
            raise RuleViolation("the appeal is already resolved", code="appeal_resolved")
        if resolved_on < appeal["lodged_on"]:
            raise RuleViolation("an appeal cannot be resolved before it was lodged",
                                code="resolution_before_appeal")
        self._appeal_resolved(appeal_id=appeal_id, outcome=outcome, new_form=new_form,
                              previous_form=self.form, resolved_on=resolved_on,
                              decision_ref=decision_ref, actor_id=actor_id, actor_role=actor_role)

    @event("AppealResolved")
    def _appeal_resolved(self, appeal_id: UUID, outcome: str, new_form: str | None,
                         previous_form: str, resolved_on: date, decision_ref: dict | None,
                         actor_id: str, actor_role: str) -> None:
        # Replaced, not updated in place: the entry need not be read back from a snapshot.
        self.appeals[appeal_id] = {"lodged_on": self._appeal(appeal_id)["lodged_on"],
                                   "outcome": outcome}
        self._pending_appeal = None
        if outcome == "overturned":
            self.status = "overturned"
        elif outcome == "form_changed" and new_form:
            self.form = new_form

    def annul(self, reason: str, decision_ref: dict, annulled_on: date, actor_id: str,
              actor_role: str) -> None:
        self._check_in_force()
        self._annulled(reason=reason, decision_ref=decision_ref, annulled_on=annulled_on,
                       actor_id=actor_id, actor_role=actor_role)

    @event("Annulled")
    def _annulled(self, reason: str, decision_ref: dict, annulled_on: date, actor_id: str,
                  actor_role: str) -> None:
        self.status = "annulled"
