"""Inspections: opening one on a unit, its findings (recorded, corrected, withdrawn)
and closing it."""
from __future__ import annotations

from typing import Any
from uuid import uuid4

from ..clock import local_date
from ..domain import Inspection, Unit
from ..errors import Forbidden, RuleViolation, ValidationFailed
from ..validation import Checker
from .core import Actor, CommandResult, ServiceCore


class InspectionCommands(ServiceCore):
    """Commands and reads on inspections (thanh tra, kiểm tra) and their findings."""

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
        inspection = Inspection(unit_id=unit.id, team=members, basis_ref=basis,
                                announced=announced, started_on=started, **actor.kw)
        return self._save(inspection.id, inspection)

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
            self.get_officer(fields["officer_id"])
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
