"""Monthly grades (Hanoi 3814-QĐ/TU) and annual ratings of officers.

Each (officer, period) and (officer, year) is its own aggregate with a derived id, so a
second rating for the same year collides instead of silently co-existing; a change is an
explicit ``Corrected`` event with a reason.
"""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from ..errors import RuleViolation
from .base import AuditAggregate, index_id


class MonthlyGrade(AuditAggregate):
    @staticmethod
    def id_for(officer_id: UUID, period: str) -> UUID:
        return index_id("monthly-grade", f"{officer_id}:{period}")

    @staticmethod
    def create_id(officer_id: UUID, period: str) -> UUID:
        return MonthlyGrade.id_for(officer_id, period)

    class Recorded(AuditAggregate.Created):
        """Version 2 added ``framework``; version-1 events were all graded under 3814-QĐ/TU."""

        class_version = 2
        officer_id: UUID
        period: str
        score: float
        grade: str
        framework: str
        actor_id: str
        actor_role: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["framework"] = "3814-QĐ/TU"

    @event(Recorded)
    def __init__(self, officer_id: UUID, period: str, score: float, grade: str, framework: str,
                 actor_id: str, actor_role: str):
        self.officer_id = officer_id
        self.period = period
        self.score = score
        self.grade = grade
        self.framework = framework

    def correct(self, score: float, grade: str, reason: str, actor_id: str,
                actor_role: str) -> None:
        if score == self.score and grade == self.grade:
            raise RuleViolation("the correction changes nothing", code="correction_changes_nothing")
        self._corrected(score=score, grade=grade, reason=reason, actor_id=actor_id,
                        actor_role=actor_role)

    @event("Corrected")
    def _corrected(self, score: float, grade: str, reason: str, actor_id: str,
                   actor_role: str) -> None:
        self.score = score
        self.grade = grade


class AnnualRating(AuditAggregate):
    @staticmethod
    def id_for(officer_id: UUID, year: int) -> UUID:
        return index_id("annual-rating", f"{officer_id}:{year}")

    @staticmethod
    def create_id(officer_id: UUID, year: int) -> UUID:
        return AnnualRating.id_for(officer_id, year)

    @event("Recorded")
    def __init__(self, officer_id: UUID, year: int, rating: str, actor_id: str, actor_role: str):
        self.officer_id = officer_id
        self.year = year
        self.rating = rating

    def correct(self, rating: str, reason: str, actor_id: str, actor_role: str) -> None:
        if rating == self.rating:
            raise RuleViolation("the correction changes nothing", code="correction_changes_nothing")
        self._corrected(rating=rating, previous_rating=self.rating, reason=reason,
                        actor_id=actor_id, actor_role=actor_role)

    @event("Corrected")
    def _corrected(self, rating: str, previous_rating: str, reason: str, actor_id: str,
                   actor_role: str) -> None:
        self.rating = rating
