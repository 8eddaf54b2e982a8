"""Units: city, departments, districts (until 2025-07-01), wards and communes."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from ..errors import RuleViolation
from .base import AuditAggregate


class Unit(AuditAggregate):
    @event("Registered")
    def __init__(self, code: str, name: str, level: str, parent_id: UUID | None,
                 established_on: date | None, actor_id: str, actor_role: str):
        self.code = code
        self.name = name
        self.level = level
        self.parent_id = parent_id
        self.established_on = established_on
        self.merged_into: UUID | None = None
        self.merged_on: date | None = None
        self.ratings: dict[int, str] = {}

    @classmethod
    def pack_state(cls, state: dict) -> None:
        state["ratings"] = {str(year): rating for year, rating in state["ratings"].items()}

    @classmethod
    def unpack_state(cls, state: dict) -> None:
        state["ratings"] = {int(year): rating for year, rating in state["ratings"].items()}

    @event("Renamed")
    def rename(self, new_name: str, effective_on: date, decision_ref: dict | None,
               actor_id: str, actor_role: str) -> None:
        self.name = new_name

    def merge_into(self, into_unit_id: UUID, effective_on: date, decision_ref: dict | None,
                   actor_id: str, actor_role: str) -> None:
        if self.merged_into is not None:
            raise RuleViolation(f"unit {self.code} was already merged", code="unit_already_merged")
        if into_unit_id == self.id:
            raise RuleViolation("a unit cannot merge into itself", code="unit_merge_self")
        self._merged(into_unit_id=into_unit_id, effective_on=effective_on,
                     decision_ref=decision_ref, actor_id=actor_id, actor_role=actor_role)

    @event("Merged")
    def _merged(self, into_unit_id: UUID, effective_on: date, decision_ref: dict | None,
                actor_id: str, actor_role: str) -> None:
        self.merged_into = into_unit_id
        self.merged_on = effective_on

    def merged_by(self, day: date | None) -> bool:
        """Whether the unit no longer existed on ``day`` (today when None)."""
        return self.merged_on is not None and (day is None or day >= self.merged_on)

    def rate(self, year: int, rating: str, source: str | None, actor_id: str,
             actor_role: str, correction_reason: str | None = None) -> None:
        if year in self.ratings and not correction_reason:
            raise RuleViolation(
                f"unit {self.code} already has a rating for {year}; send a correction with a reason",
                code="unit_rating_exists",
            )
        if correction_reason and year not in self.ratings:
            raise RuleViolation(f"unit {self.code} has no rating for {year} to correct",
                                code="unit_rating_missing")
        self._rated(year=year, rating=rating, source=source,
                    correction_reason=correction_reason, actor_id=actor_id, actor_role=actor_role)

    @event("Rated")
    def _rated(self, year: int, rating: str, source: str | None, correction_reason: str | None,
               actor_id: str, actor_role: str) -> None:
        self.ratings[year] = rating
