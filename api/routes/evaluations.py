"""Monthly grades and annual ratings, and their corrections."""
from __future__ import annotations

from ..commands import link, run
from ..schemas import AnnualCorrection, AnnualCreate, MonthlyCorrection, MonthlyCreate
from ..services import services
from . import blueprint, write

blp = blueprint("evaluations", "Monthly grades and annual ratings of officers.")
BOARD = ("board",)


def _standing(body):
    return link("officers.standing", officer_id=str(body["officer_id"]))


@write(blp, "/evaluations/monthly", MonthlyCreate, BOARD, summary="Record a monthly grade")
def monthly(body):
    return run(services().service.record_monthly_grade, **body, location=_standing(body))


@write(blp, "/evaluations/monthly/corrections", MonthlyCorrection, BOARD,
       summary="Correct a monthly grade")
def monthly_correction(body):
    return run(services().service.correct_monthly_grade, **body, location=_standing(body))


@write(blp, "/evaluations/annual", AnnualCreate, BOARD, summary="Record an annual rating")
def annual(body):
    return run(services().service.record_annual_rating, **body, location=_standing(body))


@write(blp, "/evaluations/annual/corrections", AnnualCorrection, BOARD,
       summary="Correct an annual rating")
def annual_correction(body):
    return run(services().service.correct_annual_rating, **body, location=_standing(body))
