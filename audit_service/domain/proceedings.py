"""Disciplinary proceedings and the decisions that end them.

A proceeding collects violations and ends dismissed or decided; a decision is its own
aggregate (appeals and annulments name it) created in the same save as the proceeding's
``Decided`` event. A proceeding takes one state (administrative) and one Party decision on
the same act, in either order; both name the proceeding, which links them.
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
        self.party_decision_id: UUID | None = None
        self._system_unrecorded = False

    #: The Party decision on this proceeding (``decision_id`` holds the state one: for a
    #: Party member both are expected, Decree 71/2023, then Decree 172/2025); a class
    #: default, so snapshots taken before a proceeding could hold both still load.
    party_decision_id: UUID | None = None

    @property
    def decided_system_unrecorded(self) -> bool:
        """Whether ``decision_id`` came from a version-1 ``Decided`` event, which did not
        say which system the decision was; the service reads it from the decision itself.
        A snapshot taken before version 2 lacks the flag: its decision is such a one."""
        return vars(self).get("_system_unrecorded", self.decision_id is not None)

    @property
    def status(self) -> str:
        """decided once a decision of either system is recorded; the decision of the other
        system may still follow (``check_decidable``)."""
        if self.decision_id is not None or self.party_decision_id is not None:
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
        """Close the proceeding without a decision; after a Party decision alone, close its
        administrative side without a state decision (Decree 112/2020 Art. 2(6) as amended
        by Decree 71/2023: the administrative process follows a Party decision "if any")."""
        if self.dismissed_on is not None:
            raise RuleViolation("the proceeding is dismissed", code="proceeding_dismissed")
        if not self.dismissible:
            self._check_open()
        elif self.status == "decided" and dismissed_on < self.opened_on:
            raise RuleViolation("a dismissal cannot predate its proceeding",
                                code="dismissal_before_proceeding")
        self._dismissed(reason=reason, dismissed_on=dismissed_on, actor_id=actor_id,
                        actor_role=actor_role)

    @property
    def dismissible(self) -> bool:
        """Whether ``dismiss`` takes a dismissal (its date aside): once, on an open
        proceeding or on one decided by a Party decision alone (no state decision on
        record: a decision whose system was not recorded counts as both)."""
        return self.dismissed_on is None and "state" not in self.decisions()

    def undecided_systems(self, unrecorded_system: str | None = None) -> tuple[str, ...]:
        """The discipline systems whose decision ``check_decidable`` may still take (dates
        and deferral aside): none once dismissed, else those with no decision on record."""
        if self.dismissed_on is not None:
            return ()
        taken = self.decisions(unrecorded_system)
        return tuple(s for s in DISCIPLINE_SYSTEMS if s not in taken)

    @event("Dismissed")
    def _dismissed(self, reason: str, dismissed_on: date, actor_id: str, actor_role: str) -> None:
        self.dismissed_on = dismissed_on

    def decisions(self, unrecorded_system: str | None = None) -> dict[str, UUID]:
        """The decisions on record by discipline system (at most one each). A decision from a
        version-1 ``Decided`` is filed under ``unrecorded_system`` (the caller reads it from
        the decision), else under both systems: it closed the proceeding when recorded."""
        if self.decided_system_unrecorded:
            systems = (unrecorded_system,) if unrecorded_system else DISCIPLINE_SYSTEMS
            return {s: self.decision_id for s in systems}
        found = {"state": self.decision_id, "party": self.party_decision_id}
        return {s: d for s, d in found.items() if d is not None}

    def check_decidable(self, decided_on: date, system: str = "state",
                        unrecorded_system: str | None = None) -> None:
        """Refuse a decision on a dismissed or currently deferred proceeding, or a second
        decision of the same discipline system: one state and one Party decision at most."""
        if self.dismissed_on is not None:
            raise RuleViolation("the proceeding is dismissed", code="proceeding_dismissed")
        existing = self.decisions(unrecorded_system).get(system)
        if existing is not None:
            if system == "party":
                raise RuleViolation(
                    f"the proceeding already has a Party decision ({existing})",
                    code="proceeding_party_decided", details={"decision_id": str(existing)})
            raise RuleViolation(f"the proceeding is decided (decision {existing})",
                                code="proceeding_decided",
                                details={"decision_id": str(existing)})
        if self.deferred_until is not None and decided_on <= self.deferred_until:
            raise RuleViolation(
                f"the proceeding is deferred ({self.deferral_reason}) until {self.deferred_until}",
                code="proceeding_deferred",
            )
        if decided_on < self.opened_on:
            raise RuleViolation("a decision cannot predate its proceeding",
                                code="decision_before_proceeding")

    def decide(self, decision_id: UUID, decided_on: date, actor_id: str, actor_role: str,
               discipline_system: str = "state", unrecorded_system: str | None = None) -> None:
        self.check_decidable(decided_on, discipline_system, unrecorded_system)
        self._decided(decision_id=decision_id, decided_on=decided_on,
                      discipline_system=discipline_system, actor_id=actor_id,
                      actor_role=actor_role)

    class Decided(AuditAggregate.Event):
        """Version 2 added ``discipline_system``: a proceeding takes one state and one Party
        decision, each its own ``Decided``. A version-1 ``Decided`` (None here) was the one
        decision of its proceeding, of either system, and closed it."""

        class_version = 2
        decision_id: UUID
        decided_on: date
        discipline_system: str | None
        actor_id: str
        actor_role: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["discipline_system"] = None

    @event(Decided)
    def _decided(self, decision_id: UUID, decided_on: date, discipline_system: str | None,
                 actor_id: str, actor_role: str) -> None:
        if self.decided_system_unrecorded:
            # the old decision is of the other system: a second of the same was refused
            if discipline_system == "state":
                self.party_decision_id = self.decision_id
            self._system_unrecorded = False
        if discipline_system == "party":
            self.party_decision_id = decision_id
        else:
            self.decision_id = decision_id
            self._system_unrecorded = discipline_system is None


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
