"""What the pages say for a day or a moment at the clinic (America/Chicago), written by the same
pure module the portal uses (portal/dates.py, tested in tests/unit/test_dates.py), so a test
says "the page shows this appointment's time" without spelling the format out again."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal import dates

CHICAGO = ZoneInfo("America/Chicago")


def clinic_today() -> date:
    return datetime.now(CHICAGO).date()


def when(moment: datetime, *, short: bool = False) -> str:
    """ "Monday, December 7 at 2:30 PM" (short: "Mon, Dec 7, 2:30 PM"), the year only when not this year."""
    return dates.date_and_time(moment, CHICAGO, clinic_today(), short=short)


def long_day(day: date) -> str:
    """ "Monday, December 7", the year only when not this year."""
    return dates.long_date(day, clinic_today())


def short_day(day: date) -> str:
    return dates.short_date(day, clinic_today())
