"""Evaluations: monthly grades and annual ratings of officers, and their corrections."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from ..domain import AnnualRating, MonthlyGrade
from ..errors import RuleViolation, ValidationFailed
from .core import _BATCH, Actor, CommandResult, ServiceCore


class EvaluationCommands(ServiceCore):
    """Commands on monthly grades and annual ratings (đánh giá, xếp loại)."""

    def record_monthly_grade(self, actor: Actor, *, officer_id: Any, period: Any, score: Any,
                             grade: Any = None) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        period = c.period("period", period)
        score = c.number("score", score, lo=0, hi=100)
        if grade is not None:
            c.choice("grade", grade, ("A", "B", "C", "D"))
        c.done()
        computed = self.reference.monthly_grade_for(score)
        if grade is not None and grade != computed:
            raise ValidationFailed("invalid input", details={
                "grade": f"a score of {score:g} is grade {computed}, not {grade}"})
        officer = self.get_officer(officer_uuid)
        month = date.fromisoformat(f"{period}-01")
        if officer.left_on is not None and month > officer.left_on:
            raise RuleViolation(f"officer {officer.personnel_code} left service on"
                                f" {officer.left_on}, before {period}", code="officer_left_service")
        officer_uuid = officer.id
        grade_id = MonthlyGrade.id_for(officer_uuid, period)
        if self._rating_taken(grade_id):
            raise RuleViolation(f"a grade for {period} is already recorded; send a correction",
                                code="rating_exists")
        record = MonthlyGrade(officer_id=officer_uuid, period=period, score=score, grade=computed,
                              framework="3814-QĐ/TU", **actor.kw)
        return self._save(grade_id, record)

    def correct_monthly_grade(self, actor: Actor, *, officer_id: Any, period: Any, score: Any,
                              reason: Any) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        period = c.period("period", period)
        score = c.number("score", score, lo=0, hi=100)
        reason = c.text("reason", reason)
        c.done()
        record = self._get(MonthlyGrade, MonthlyGrade.id_for(officer_uuid, period), "monthly_grade")
        record.correct(score=score, grade=self.reference.monthly_grade_for(score), reason=reason,
                       **actor.kw)
        return self._save(record.id, record)

    def _rating_taken(self, rating_id: UUID) -> bool:
        """Outside a batch the save's unique key says so (``rating_exists``); in a batch,
        another record of the batch may hold it, or (careful batches) the store."""
        batch = _BATCH.get()
        if batch is None:
            return False
        return rating_id in batch.aggregates or (batch.careful and self._exists(rating_id))

    def record_annual_rating(self, actor: Actor, *, officer_id: Any, year: Any,
                             rating: Any) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        year = c.integer("year", year, lo=1990, hi=self.today().year)
        rating = c.text("rating", rating, max_len=20)
        if rating is not None and year is not None and self.reference.annual_level(rating, year) is None:
            c.fail("rating", f"{rating!r} is not an annual rating level for {year}")
        c.done()
        if self.today() < date(year, 12, 1):
            raise RuleViolation(
                f"the year {year} has not reached its evaluation month (December): an annual"
                " rating is recorded from December of its year", code="rating_year_not_ended")
        officer = self.get_officer(officer_uuid)
        if officer.left_on is not None and year > officer.left_on.year:
            raise RuleViolation(f"officer {officer.personnel_code} left service on"
                                f" {officer.left_on}, before {year}", code="officer_left_service")
        officer_uuid = officer.id
        rating_id = AnnualRating.id_for(officer_uuid, year)
        if self._rating_taken(rating_id):
            raise RuleViolation(f"the officer already has a rating for {year};"
                                " send a correction", code="rating_exists")
        record = AnnualRating(officer_id=officer_uuid, year=year, rating=rating, **actor.kw)
        return self._save(rating_id, record)

    def correct_annual_rating(self, actor: Actor, *, officer_id: Any, year: Any, rating: Any,
                              reason: Any) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        year = c.integer("year", year, lo=1990, hi=self.today().year)
        rating = c.text("rating", rating, max_len=20)
        reason = c.text("reason", reason)
        if rating is not None and year is not None and self.reference.annual_level(rating, year) is None:
            c.fail("rating", f"{rating!r} is not an annual rating level for {year}")
        c.done()
        record = self._get(AnnualRating, AnnualRating.id_for(officer_uuid, year), "annual_rating")
        record.correct(rating=rating, reason=reason, **actor.kw)
        return self._save(record.id, record)
