"""Vietnamese working days for deadlines counted in working days (the reappointment notice).

The calendar is the ``holidays`` package's Vietnam calendar: Tết and the other lunar
holidays, observed and substituted days off, and the weekend make-up working days it knows.
The government announces make-up days year by year; those the package does not know yet are
data (reference/workdays.toml), so a new announcement is an edit, not a code change.
"""
from __future__ import annotations

import tomllib
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import holidays

WORKDAYS_FILE = Path(__file__).resolve().parent / "reference" / "workdays.toml"


class Calendar:
    """Working days: Mon–Fri that are not public holidays, plus announced make-up days."""

    def __init__(self, make_up_workdays: frozenset[date] = frozenset(),
                 extra_days_off: frozenset[date] = frozenset()):
        self._vn = holidays.country_holidays("VN")
        self.make_up_workdays = make_up_workdays
        self.extra_days_off = extra_days_off

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_days_off:
            return False
        if day in self.make_up_workdays:
            return True
        return bool(self._vn.is_working_day(day))

    def working_days(self, after: date, through: date) -> int:
        """Working days in (after, through]."""
        n, day = 0, after + timedelta(days=1)
        while day <= through:
            n += self.is_working_day(day)
            day += timedelta(days=1)
        return n

    def notice_deadline(self, term_end: date, notice_days: int) -> date:
        """The last working day that still leaves ``notice_days`` working days before the
        term ends."""
        left, day = 0, term_end
        while left < notice_days:
            left += self.is_working_day(day)
            day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day


def _dates(values: list) -> frozenset[date]:
    return frozenset(v if isinstance(v, date) else date.fromisoformat(str(v))
                     for v in values)


@lru_cache(maxsize=1)
def default_calendar() -> Calendar:
    data = tomllib.loads(WORKDAYS_FILE.read_text(encoding="utf-8"))
    return Calendar(_dates([e["date"] for e in data.get("make_up_workday", [])]),
                    _dates([e["date"] for e in data.get("extra_day_off", [])]))
