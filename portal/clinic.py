"""The clinic's clock: its zone (CLINIC_TIMEZONE) and what day it is there. Every page that needs
"today" asks here, so the server's own date and UTC's never stand in for the clinic's."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from portal.database import utc_now
from portal.phone_hours import PhoneHours, is_open, parse_phone_hours


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def today(now: datetime | None = None) -> date:
    """The date at the clinic now (or at `now`)."""
    return (now or utc_now()).astimezone(zone()).date()


# A date further than this from today is a typo or a probe, never a day the clinic plans for; it
# also keeps date arithmetic far from the calendar's ends (9999-12-31 + 1 day).
FARTHEST_DAY = timedelta(days=3660)


def plausible_day(day: date) -> bool:
    return abs(day - today()) <= FARTHEST_DAY


def asked_day(asked: str, shown_instead: date) -> tuple[date, str | None]:
    """The day a page was asked for (YYYY-MM-DD in its address), or `shown_instead` when none was
    asked, with what to tell the person when the one asked was not understood or is years away
    (a typo or a probe)."""
    if not asked:
        return shown_instead, None
    try:
        chosen = date.fromisoformat(asked)
    except ValueError:
        return shown_instead, "That date was not understood, so today is shown."
    if not plausible_day(chosen):
        return shown_instead, "That date is more than ten years from today, so today is shown."
    return chosen, None


def phone_hours() -> tuple[PhoneHours, ...]:
    """When the clinic answers its phone (CLINIC_PHONE_HOURS)."""
    return parse_phone_hours(current_app.config["CLINIC_PHONE_HOURS"])


def phone_open(now: datetime | None = None) -> bool:
    """Is the clinic's phone answered now (or at `now`), at the clinic's own clock?"""
    return is_open(phone_hours(), (now or utc_now()).astimezone(zone()))
