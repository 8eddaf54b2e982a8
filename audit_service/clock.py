"""The service's notion of 'today' for world dates: the calendar day in Vietnam (UTC+7)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


def local_date(moment: datetime) -> date:
    """The Vietnamese calendar day of an instant (naive instants are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM).date()
