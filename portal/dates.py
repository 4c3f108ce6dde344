"""Dates and times the way people in the US write them, for every page, email, letter and
calendar file: "Monday, December 7", "Mon, Dec 7", "2:30 PM", "Monday, December 7 at 2:30 PM",
"December 7, 2026" and the zone as people say it ("Central Time"). One place, so every page says
a moment the same way.

The year: a day in the current year is written without it ("Monday, December 7"); a day in
another year, or any day when no `today` is given, with it ("Monday, January 4, 2027"). Letters
and dates of birth always carry the year (`dated`). Pure: no Flask, no database; a moment is an
aware datetime, shown in the zone the caller gives.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

__all__ = ["STYLES", "date_and_time", "dated", "long_date", "moment_in_style", "month_day", "short_date",
           "short_dated", "short_month_day", "signed_moment", "style_of_strftime", "time_of_day", "zone_name"]

# The US zones as people name them; any other zone is shown by its key ("Europe/Paris").
_SPOKEN_ZONES = {
    "Eastern Time": ("America/New_York", "America/Detroit", "America/Indiana/Indianapolis",
                     "America/Kentucky/Louisville", "US/Eastern", "EST5EDT"),
    "Central Time": ("America/Chicago", "America/Indiana/Knox", "America/Menominee",
                     "America/North_Dakota/Center", "US/Central", "CST6CDT"),
    "Mountain Time": ("America/Denver", "America/Boise", "America/Phoenix", "US/Mountain", "US/Arizona",
                      "MST7MDT"),
    "Pacific Time": ("America/Los_Angeles", "US/Pacific", "PST8PDT"),
    "Alaska Time": ("America/Anchorage", "America/Juneau", "America/Nome", "America/Sitka", "US/Alaska"),
    "Hawaii Time": ("Pacific/Honolulu", "US/Hawaii"),
}
_ZONE_WORDS = {key: words for words, keys in _SPOKEN_ZONES.items() for key in keys}


def zone_name(zone: ZoneInfo | str) -> str:
    """ "Central Time" for America/Chicago (and the other US zones likewise); the key otherwise."""
    key = zone if isinstance(zone, str) else zone.key
    return _ZONE_WORDS.get(key, key.replace("_", " "))


def _year(day: date, today: date | None) -> str:
    return "" if today is not None and today.year == day.year else f", {day.year}"


def long_date(day: date, today: date | None = None) -> str:
    """ "Monday, December 7" (", 2027" added when the day is not in today's year)."""
    return f"{day:%A}, {day:%B} {day.day}{_year(day, today)}"


def short_date(day: date, today: date | None = None) -> str:
    """ "Mon, Dec 7" (", 2027" added when the day is not in today's year)."""
    return f"{day:%a}, {day:%b} {day.day}{_year(day, today)}"


def dated(day: date) -> str:
    """ "December 7, 2026": a letter's date or a date of birth, always with the year."""
    return f"{day:%B} {day.day}, {day.year}"


def short_dated(day: date) -> str:
    """ "Dec 7, 2026": the same in a table."""
    return f"{day:%b} {day.day}, {day.year}"


def signed_moment(moment: datetime, zone: ZoneInfo) -> str:
    """ "November 30, 2026 at 8:05 AM Central Time": when a letter was signed, for the record."""
    local = moment.astimezone(zone)
    return f"{dated(local.date())} at {time_of_day(local)} {zone_name(zone)}"


def month_day(day: date) -> str:
    """ "December 7": one end of a range whose other end names the year."""
    return f"{day:%B} {day.day}"


def short_month_day(day: date) -> str:
    """ "Dec 7": under a weekday on a small tab."""
    return f"{day:%b} {day.day}"


def time_of_day(moment: time | datetime, *, seconds: bool = False) -> str:
    """ "2:30 PM", "12:00 PM" (noon), "12:05 AM" (just after midnight); "2:30:15 PM" with seconds.
    A datetime is read as it is: convert it to the clinic's zone first."""
    hour = moment.hour % 12 or 12
    text = f"{hour}:{moment.minute:02d}" + (f":{moment.second:02d}" if seconds else "")
    return f"{text} {'AM' if moment.hour < 12 else 'PM'}"


def date_and_time(moment: datetime, zone: ZoneInfo, today: date | None = None, *, short: bool = False) -> str:
    """ "Monday, December 7 at 2:30 PM", or short "Mon, Dec 7, 2:30 PM", in `zone`."""
    local = moment.astimezone(zone)
    if short:
        return f"{short_date(local.date(), today)}, {time_of_day(local)}"
    return f"{long_date(local.date(), today)} at {time_of_day(local)}"


# The styles the template filters take, by name: how a moment (an aware datetime, shown in the
# clinic's zone) or a day is written.
STYLES = ("long", "short", "date", "short_date", "dated", "short_dated", "month_day", "short_month_day", "weekday",
          "time", "weekday_time", "exact", "iso")


def moment_in_style(moment: datetime | date, style: str, zone: ZoneInfo, today: date | None) -> str:
    """A moment (shown in `zone`) or a day in one of STYLES. "exact" (the audit log) is a short date
    always with its year and the time to the second: "Dec 7, 2026, 2:30:15 PM". A day given where
    a style shows a time is written as a date."""
    if not isinstance(moment, datetime):
        day_styles = {"long": "date", "short": "short_date", "time": "date", "weekday_time": "weekday",
                      "exact": "short_dated"}
        return _day_in_style(moment, day_styles.get(style, style), today)
    local = moment.astimezone(zone)
    if style == "long":
        return date_and_time(local, zone, today)
    if style == "short":
        return date_and_time(local, zone, today, short=True)
    if style == "time":
        return time_of_day(local)
    if style == "weekday_time":
        return f"{local:%A} at {time_of_day(local)}"
    if style == "exact":
        return f"{short_dated(local.date())}, {time_of_day(local, seconds=True)}"
    return _day_in_style(local.date(), style, today)


def _day_in_style(day: date, style: str, today: date | None) -> str:
    if style == "date":
        return long_date(day, today)
    if style == "short_date":
        return short_date(day, today)
    if style == "weekday":
        return f"{day:%A}"
    if style == "iso":  # for addresses and forms ("2026-12-07"), never for people
        return day.isoformat()
    if style in _DAY_STYLES:
        return _DAY_STYLES[style](day)
    raise ValueError(f"no date style called {style!r}; the styles are {', '.join(STYLES)}")


_DAY_STYLES = {"dated": dated, "short_dated": short_dated, "month_day": month_day, "short_month_day": short_month_day}

_TIME_DIRECTIVES = re.compile(r"%-?[HIMSp]")


def style_of_strftime(fmt: str) -> str:
    """The style closest to an strftime format written the old way ("%A %-d %B, %-I:%M %p" is
    "long"), so a template that still passes one shows the US way too."""
    if fmt == "%Y-%m-%d":
        return "iso"
    has_time = bool(_TIME_DIRECTIVES.search(fmt))
    has_day = "%d" in fmt.replace("%-d", "%d")
    long_words = "%A" in fmt or "%B" in fmt
    if "%S" in fmt:
        return "exact"
    if has_time and not has_day:
        return "weekday_time" if "%A" in fmt or "%a" in fmt else "time"
    if has_time:
        return "long" if long_words else "short"
    if "%Y" in fmt and "%A" not in fmt and "%a" not in fmt:
        return "dated" if "%B" in fmt else "short_dated"
    return "date" if long_words else "short_date"
