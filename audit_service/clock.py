"""The service's notion of 'today' for world dates: the calendar day in Vietnam (UTC+7).

One injectable clock: ``Clock`` answers 'today' and 'now' for every default and check that
depends on the date. ``AUDIT_TODAY=YYYY-MM-DD`` (a testing aid) fixes the day; 'now' is then
that day at the current time of day in Vietnam. Operational timestamps (when an event or an
access was recorded, checkpoints, tokens) always use the real time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

from .errors import ConfigurationError

VIETNAM = timezone(timedelta(hours=7), "ICT")


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


def parse_date(value: Any) -> date | None:
    """A world date from an ISO string (date or datetime), a date, a datetime, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text or " " in text.strip():
        return datetime.fromisoformat(text).date()
    return date.fromisoformat(text)


def local_date(moment: datetime) -> date:
    """The Vietnamese calendar day of an instant (naive instants are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM).date()


def parse_fixed_today(value: str | None) -> date | None:
    """``AUDIT_TODAY``'s day, None when unset; ConfigurationError when it is not a date."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(
            f"AUDIT_TODAY {value!r} is not a calendar date YYYY-MM-DD (e.g. 2028-02-29)",
            code="bad_today") from None


@dataclass(frozen=True)
class Clock:
    """Today and now in Vietnam, or a fixed day (``AUDIT_TODAY``) at the real time of day."""

    fixed_day: date | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Clock":
        import os

        environ = os.environ if environ is None else environ
        return cls(parse_fixed_today(environ.get("AUDIT_TODAY")))

    def today(self) -> date:
        return self.fixed_day or today_in_vietnam()

    def now(self) -> datetime:
        real = datetime.now(VIETNAM)
        if self.fixed_day is None:
            return real
        return datetime.combine(self.fixed_day, real.timetz())
