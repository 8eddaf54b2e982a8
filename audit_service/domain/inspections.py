"""Inspections by public-service inspection teams (đoàn kiểm tra công vụ) and their findings.

Findings are never edited: a correction or withdrawal is a new event naming the finding.
"""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import event

from ..clock import local_date
from ..errors import NotFound, RuleViolation
from .base import AuditAggregate, PackedMapping


_FIELDS = ("officer_id", "conduct_code", "description", "observed_at", "evidence_sha256", "status")


def _pack_finding(f: dict) -> list:
    return [None if f["officer_id"] is None else str(f["officer_id"]), f["conduct_code"],
            f["description"], f["observed_at"].isoformat(), list(f["evidence_sha256"]),
            f["status"]]


def _unpack_finding(row: list) -> dict:
    f = dict(zip(_FIELDS, row))
    f["officer_id"] = None if f["officer_id"] is None else UUID(f["officer_id"])
    f["observed_at"] = datetime.fromisoformat(f["observed_at"])
    return f


class Findings(PackedMapping):
    """An inspection's findings by id (see ``PackedMapping``)."""

    pack_entry = staticmethod(_pack_finding)
    unpack_entry = staticmethod(_unpack_finding)


class Inspection(AuditAggregate):
    @classmethod
    def pack_state(cls, state: dict) -> None:
        state["findings"] = state["findings"].freeze()

    @classmethod
    def unpack_state(cls, state: dict) -> None:
        state["findings"] = Findings(state["findings"])

    @event("Opened")
    def __init__(self, unit_id: UUID, team: list, basis_ref: str | None, announced: bool,
                 started_on: date, actor_id: str, actor_role: str):
        self.unit_id = unit_id
        self.team = list(team)
        self.basis_ref = basis_ref
        self.announced = announced
        self.started_on = started_on
        self.closed_on: date | None = None
        self.findings = Findings()

    def _check_open(self, what: str) -> None:
        if self.closed_on is not None:
            raise RuleViolation(f"the inspection was closed on {self.closed_on}; {what}",
                                code="inspection_closed")

    def _check_team(self, actor_id: str, actor_role: str) -> None:
        if actor_role == "inspector" and actor_id not in self.team:
            raise RuleViolation("only members of the inspection team may record findings",
                                code="not_on_team")

    def finding(self, finding_id: UUID) -> dict:
        try:
            return self.findings[finding_id]
        except KeyError:
            raise NotFound(f"no finding {finding_id} in inspection {self.id}",
                           code="finding_not_found") from None

    def record_finding(self, finding_id: UUID, officer_id: UUID | None, conduct_code: str,
                       description: str, observed_at: datetime, evidence_sha256: list,
                       actor_id: str, actor_role: str) -> None:
        self._check_open("no finding can be added")
        self._check_team(actor_id, actor_role)
        if local_date(observed_at) < self.started_on:
            raise RuleViolation("a finding cannot be observed before the inspection started",
                                code="finding_before_inspection")
        self._finding_recorded(finding_id=finding_id, officer_id=officer_id,
                               conduct_code=conduct_code, description=description,
                               observed_at=observed_at, evidence_sha256=list(evidence_sha256),
                               actor_id=actor_id, actor_role=actor_role)

    @event("FindingRecorded")
    def _finding_recorded(self, finding_id: UUID, officer_id: UUID | None, conduct_code: str,
                          description: str, observed_at: datetime, evidence_sha256: list,
                          actor_id: str, actor_role: str) -> None:
        self.findings[finding_id] = {
            "officer_id": officer_id, "conduct_code": conduct_code, "description": description,
            "observed_at": observed_at, "evidence_sha256": list(evidence_sha256),
            "status": "active",
        }

    def correct_finding(self, finding_id: UUID, reason: str, officer_id: UUID | None,
                        conduct_code: str, description: str, observed_at: datetime,
                        evidence_sha256: list, actor_id: str, actor_role: str) -> None:
        self._check_team(actor_id, actor_role)
        if self.finding(finding_id)["status"] == "withdrawn":
            raise RuleViolation("a withdrawn finding cannot be corrected",
                                code="finding_withdrawn")
        self._finding_corrected(finding_id=finding_id, reason=reason, officer_id=officer_id,
                                conduct_code=conduct_code, description=description,
                                observed_at=observed_at, evidence_sha256=list(evidence_sha256),
                                actor_id=actor_id, actor_role=actor_role)

    @event("FindingCorrected")
    def _finding_corrected(self, finding_id: UUID, reason: str, officer_id: UUID | None,
                           conduct_code: str, description: str, observed_at: datetime,
                           evidence_sha256: list, actor_id: str, actor_role: str) -> None:
        # Replaced whole (the event carries every field): no need to read it back.
        self.findings[finding_id] = {
            "officer_id": officer_id, "conduct_code": conduct_code, "description": description,
            "observed_at": observed_at, "evidence_sha256": list(evidence_sha256),
            "status": "active"}

    def withdraw_finding(self, finding_id: UUID, reason: str, actor_id: str,
                         actor_role: str) -> None:
        self._check_team(actor_id, actor_role)
        if self.finding(finding_id)["status"] == "withdrawn":
            raise RuleViolation("the finding is already withdrawn", code="finding_withdrawn")
        self._finding_withdrawn(finding_id=finding_id, reason=reason, actor_id=actor_id,
                                actor_role=actor_role)

    @event("FindingWithdrawn")
    def _finding_withdrawn(self, finding_id: UUID, reason: str, actor_id: str,
                           actor_role: str) -> None:
        self.findings[finding_id] = {**self.findings[finding_id], "status": "withdrawn"}

    def close(self, closed_on: date, conclusion_ref: str | None, actor_id: str,
              actor_role: str) -> None:
        self._check_open("it cannot be closed again")
        self._check_team(actor_id, actor_role)
        if closed_on < self.started_on:
            raise RuleViolation("an inspection cannot close before it started",
                                code="close_before_start")
        self._closed(closed_on=closed_on, conclusion_ref=conclusion_ref, actor_id=actor_id,
                     actor_role=actor_role)

    @event("Closed")
    def _closed(self, closed_on: date, conclusion_ref: str | None, actor_id: str,
                actor_role: str) -> None:
        self.closed_on = closed_on
