"""The service's notion of 'today' for world dates: the calendar day in Vietnam (UTC+7)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()
