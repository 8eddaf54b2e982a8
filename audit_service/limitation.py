"""Statute of limitations for discipline (thời hiệu xử lý kỷ luật), as a pure function.

The clock runs from each violation's date and restarts when a new violation occurs
within the period; exempt violations (national security, fake diplomas, …) never expire.
Which period applies (2/5 or 5/10 years, by the form decided) comes from the reference
data in force on the decision date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Expired:
    index: int
    occurred_on: date
    clock_start: date
    expired_on: date


def expired_violations(violations: list[dict], years: int, decided_on: date,
                       exemptions: set[str], restart: bool = True) -> list[Expired]:
    """The violations whose limitation period had run out by ``decided_on``."""
    order = sorted(range(len(violations)), key=lambda i: violations[i]["occurred_on"])
    starts: dict[int, date] = {}
    next_occurred: date | None = None
    next_start: date | None = None
    for i in reversed(order):  # latest first: each clock may restart at the next one's
        occurred = violations[i]["occurred_on"]
        start = occurred
        if restart and next_occurred is not None and next_occurred <= add_years(occurred, years):
            start = next_start
        starts[i] = start
        next_occurred, next_start = occurred, start
    out = []
    for i, v in enumerate(violations):
        if v.get("exemption") in exemptions:
            continue
        end = add_years(starts[i], years)
        if decided_on > end:
            out.append(Expired(i, v["occurred_on"], starts[i], end))
    return out
