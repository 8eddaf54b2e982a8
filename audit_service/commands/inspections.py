"""Inspections: opening one on a unit, its findings (recorded, corrected, withdrawn)
and closing it."""
from __future__ import annotations

from typing import Any, Protocol, Sequence
from uuid import uuid4

from ..clock import local_date
from ..domain import Inspection, Officer, Unit
from ..errors import Forbidden, RuleViolation, ValidationFailed
from ..validation import Checker
from .core import Actor, CommandResult, ServiceCore


class UserDirectory(Protocol):
    """The service's users, as the layer that keeps them (API tokens, web accounts) tells
    them: the domain has no users of its own."""

    def active_with_role(self, role: str, user_ids: Sequence[str]) -> set[str]:
        """Which of ``user_ids`` are users not revoked or disabled, holding ``role``."""


class InspectionCommands(ServiceCore):
    """Commands and reads on inspections (thanh tra, kiểm tra) and their findings."""

    #: Who the users are, for the team check. Wired per process by the entry points that
    #: serve users (``api.services`` for the API and the web pages). A service with none
    #: (a bare domain, a demo generator) takes team members as given: it has no users to
    #: check them against.
    user_directory: UserDirectory | None = None

    def open_inspection(self, actor: Actor, *, unit_id: Any, team: Any, started_on: Any,
                        announced: Any = True, basis_ref: Any = None) -> CommandResult:
        c = self._checker()
        unit_uuid = c.uuid("unit_id", unit_id)
        members = c.str_list("team", [] if team is None else team,
                             required=actor.role != "inspector")
        started = c.date("started_on", started_on)
        announced = c.boolean("announced", announced, default=True)
        basis = c.text("basis_ref", basis_ref, required=False, max_len=300)
        c.done()
        unit = self._get(Unit, unit_uuid, "unit")
        if unit.merged_by(started):
            raise RuleViolation(f"unit {unit.code} was merged into another unit on"
                                f" {unit.merged_on}, before {started}", code="unit_merged")
        if actor.role == "inspector" and actor.unit_id and not self._within(unit, actor.unit_id):
            raise Forbidden(f"your token is limited to unit {actor.unit_id} and the units under"
                            f" it; {unit.code} is outside", code="outside_user_unit")
        if actor.role == "inspector" and actor.user_id not in members:
            members = [actor.user_id, *members]  # the opener is on the team
        self._check_team_members(members)
        inspection = Inspection(unit_id=unit.id, team=members, basis_ref=basis,
                                announced=announced, started_on=started, **actor.kw)
        return self._save(inspection.id, inspection)

    def _check_team_members(self, members: list[str]) -> None:
        """An inspection team (đoàn kiểm tra) is made of inspector users, known and active."""
        if self.user_directory is None or not members:
            return
        inspectors = self.user_directory.active_with_role("inspector", members)
        strangers = [m for m in members if m not in inspectors]
        if strangers:
            raise RuleViolation(
                f"team members must be active inspector users: {', '.join(strangers)}"
                " is not", code="team_member_not_inspector", details={"team": strangers})

    def _check_officer_in_scope(self, actor: Actor, officer: Officer) -> None:
        """An inspector limited to a unit records findings only against officers serving in
        that unit or the units under it (the officer's unit on record now)."""
        if actor.role != "inspector" or not actor.unit_id:
            return
        if not self._within(self._get(Unit, officer.unit_id, "unit"), actor.unit_id):
            raise RuleViolation(
                f"your token is limited to unit {actor.unit_id} and the units under it;"
                f" officer {officer.personnel_code} serves outside it",
                code="officer_outside_user_unit", details={"officer_id": str(officer.id)})

    def get_inspection(self, inspection_id: Any) -> Inspection:
        return self._get(Inspection, inspection_id, "inspection")

    def _finding_fields(self, c: Checker, officer_id: Any, conduct_code: Any, description: Any,
                        observed_at: Any, evidence_sha256: Any) -> dict:
        officer_uuid = c.uuid("officer_id", officer_id, required=False)
        code = c.text("conduct_code", conduct_code, max_len=80)
        observed = c.datetime("observed_at", observed_at)
        if code is not None and observed is not None:
            day = local_date(observed)
            if self.reference.conduct_code(code, day) is None:
                c.fail("conduct_code", f"unknown conduct-code clause {code!r} on {day}")
        return {
            "officer_id": officer_uuid, "conduct_code": code,
            "description": c.text("description", description, max_len=5000),
            "observed_at": observed,
            "evidence_sha256": c.sha256_list("evidence_sha256", evidence_sha256),
        }

    def record_finding(self, actor: Actor, inspection_id: Any, *, conduct_code: Any,
                       description: Any, observed_at: Any, officer_id: Any = None,
                       evidence_sha256: Any = None) -> CommandResult:
        c = self._checker()
        fields = self._finding_fields(c, officer_id, conduct_code, description, observed_at,
                                      evidence_sha256)
        c.done()
        inspection = self.get_inspection(inspection_id)
        if fields["officer_id"] is not None:
            officer = self.get_officer(fields["officer_id"])
            self._check_officer_in_scope(actor, officer)
            observed = local_date(fields["observed_at"])
            if officer.left_on is not None and observed > officer.left_on:
                raise RuleViolation(f"officer {officer.personnel_code} left service on"
                                    f" {officer.left_on}, before {observed}",
                                    code="officer_left_service")
        finding_id = uuid4()
        inspection.record_finding(finding_id=finding_id, **fields, **actor.kw)
        # the idempotency record holds the answer given: a replay returns the same ids
        return self._save(finding_id, inspection, extra={"inspection_id": inspection.id})

    def correct_finding(self, actor: Actor, inspection_id: Any, finding_id: Any, *,
                        reason: Any, **changes: Any) -> CommandResult:
        """A corrected finding: fields not given keep their current values."""
        unknown = set(changes) - {"officer_id", "conduct_code", "description", "observed_at",
                                  "evidence_sha256"}
        if unknown:
            raise ValidationFailed("unknown fields", details={k: "unknown field" for k in unknown})
        c = self._checker()
        reason = c.text("reason", reason)
        finding_uuid = c.uuid("finding_id", finding_id)
        c.done()
        inspection = self.get_inspection(inspection_id)
        current = inspection.finding(finding_uuid)
        merged = {k: current[k] for k in ("officer_id", "conduct_code", "description",
                                           "observed_at", "evidence_sha256")}
        merged.update(changes)
        c = self._checker()
        fields = self._finding_fields(c, **merged)
        c.done()
        if fields["officer_id"] is not None:
            officer = self.get_officer(fields["officer_id"])
            if fields["officer_id"] != current["officer_id"]:  # a finding moved to another
                self._check_officer_in_scope(actor, officer)
        if all(fields[k] == current[k] for k in fields):
            raise RuleViolation("the correction changes nothing", code="correction_changes_nothing")
        inspection.correct_finding(finding_id=finding_uuid, reason=reason, **fields, **actor.kw)
        return self._save(finding_uuid, inspection, extra={"inspection_id": inspection.id})

    def withdraw_finding(self, actor: Actor, inspection_id: Any, finding_id: Any, *,
                         reason: Any) -> CommandResult:
        c = self._checker()
        reason = c.text("reason", reason)
        finding_uuid = c.uuid("finding_id", finding_id)
        c.done()
        inspection = self.get_inspection(inspection_id)
        inspection.withdraw_finding(finding_id=finding_uuid, reason=reason, **actor.kw)
        return self._save(finding_uuid, inspection, extra={"inspection_id": inspection.id})

    def close_inspection(self, actor: Actor, inspection_id: Any, *, closed_on: Any,
                         conclusion_ref: Any = None) -> CommandResult:
        c = self._checker()
        day = c.date("closed_on", closed_on)
        ref = c.text("conclusion_ref", conclusion_ref, required=False, max_len=300)
        c.done()
        inspection = self.get_inspection(inspection_id)
        inspection.close(closed_on=day, conclusion_ref=ref, **actor.kw)
        return self._save(inspection.id, inspection)
