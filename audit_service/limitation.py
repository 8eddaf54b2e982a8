"""Statute of limitations for discipline (thời hiệu xử lý kỷ luật), as pure functions.

The clock runs from each violation's end (``ended_on``), from its discovery while it is
``ongoing``, from its occurrence otherwise, and restarts when a new violation occurs within
the period; exempt violations (national security, fake diplomas, …) never expire where the
period's exemptions apply. Which period applies is dated (limitation_periods.toml): a
violation is time-barred when its period, as set by the regime in force on the day that
period would run out, ran out before the decision (see ``expired_under_regimes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def clock_start(violation: dict) -> date:
    """Where a violation's clock starts: its end; its discovery while ongoing; else its date."""
    if violation.get("ended_on"):
        return violation["ended_on"]
    if violation.get("ongoing") and violation.get("detected_on"):
        return violation["detected_on"]
    return violation["occurred_on"]


@dataclass(frozen=True)
class Expired:
    index: int
    occurred_on: date
    clock_start: date
    expired_on: date
    rule: str = ""
    source: str = ""
    years: int = 0


def expired_violations(violations: list[dict], years: int, decided_on: date,
                       exemptions: set[str], restart: bool = True) -> list[Expired]:
    """The violations whose limitation period had run out by ``decided_on``."""
    order = sorted(range(len(violations)), key=lambda i: violations[i]["occurred_on"])
    starts: dict[int, date] = {}
    next_occurred: date | None = None
    next_start: date | None = None
    for i in reversed(order):  # latest first: each clock may restart at the next one's
        occurred = violations[i]["occurred_on"]
        own = clock_start(violations[i])
        start = own
        if restart and next_occurred is not None and next_occurred <= add_years(own, years):
            start = max(own, next_start)
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


def expired_under_regimes(violations: list[dict], periods: Iterable[Any], form: str,
                          decided_on: date, exemptions: set[str],
                          restart: bool = True) -> list[Expired]:
    """The violations time-barred by ``decided_on`` under dated ``periods`` (one category's
    LimitationPeriod entries). Transitional reading (chosen, documented in the data): a
    period counts as run out when it ran out while the regime that set it was in force; a
    period that ran out under old rules is not revived by a longer later one."""
    found: dict[int, Expired] = {}
    for period in periods:
        if period.valid_from > decided_on:
            continue
        years = period.years_for(form)
        last_day = min(period.valid_until or date.max, decided_on - timedelta(days=1))
        ex = exemptions if getattr(period, "exemptions_apply", True) else set()
        for e in expired_violations(violations, years, decided_on, ex, restart):
            # the first day free of the violation falls within this regime's window
            if period.valid_from <= e.expired_on + timedelta(days=1) <= last_day + timedelta(days=1):
                found.setdefault(e.index, Expired(e.index, e.occurred_on, e.clock_start,
                                                  e.expired_on, period.id, period.source, years))
    return [found[i] for i in sorted(found)]
