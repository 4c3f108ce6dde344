"""Dates and times the US way (portal/dates.py): one module writes them for every page, email,
letter and calendar file."""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import dates

CHICAGO = ZoneInfo("America/Chicago")
TODAY = date(2026, 12, 7)


def test_a_long_date_names_the_weekday_and_the_month_and_the_year_only_when_not_this_year():
    assert dates.long_date(date(2026, 12, 7), TODAY) == "Monday, December 7"
    assert dates.long_date(date(2027, 1, 4), TODAY) == "Monday, January 4, 2027"
    assert dates.long_date(date(2026, 12, 7)) == "Monday, December 7, 2026"  # no today: always the year


def test_a_short_date_abbreviates():
    assert dates.short_date(date(2026, 12, 7), TODAY) == "Mon, Dec 7"
    assert dates.short_date(date(2025, 3, 1), TODAY) == "Sat, Mar 1, 2025"


def test_letters_and_birth_dates_always_carry_the_year():
    assert dates.dated(date(1961, 3, 4)) == "March 4, 1961"
    assert dates.short_dated(date(1961, 3, 4)) == "Mar 4, 1961"
    assert dates.month_day(date(2026, 12, 7)) == "December 7"
    assert dates.short_month_day(date(2026, 12, 7)) == "Dec 7"


@pytest.mark.parametrize("clock, said", [
    (time(0, 5), "12:05 AM"), (time(9, 0), "9:00 AM"), (time(12, 0), "12:00 PM"), (time(14, 30), "2:30 PM"),
    (time(23, 59), "11:59 PM")])
def test_times_are_twelve_hour_with_am_and_pm(clock, said):
    assert dates.time_of_day(clock) == said


def test_seconds_when_asked():
    assert dates.time_of_day(time(14, 30, 15), seconds=True) == "2:30:15 PM"


def test_a_moment_is_shown_in_the_zone_given():
    moment = datetime(2026, 12, 7, 20, 30, tzinfo=UTC)  # 2:30 PM in Chicago (CST, UTC-6)
    assert dates.date_and_time(moment, CHICAGO, TODAY) == "Monday, December 7 at 2:30 PM"
    assert dates.date_and_time(moment, CHICAGO, TODAY, short=True) == "Mon, Dec 7, 2:30 PM"
    late = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # still New Year's Eve in Chicago
    assert dates.date_and_time(late, CHICAGO, TODAY) == "Thursday, December 31 at 9:00 PM"


def test_across_daylight_saving_the_wall_clock_is_shown():
    summer = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)  # CDT, UTC-5
    assert dates.date_and_time(summer, CHICAGO, TODAY) == "Wednesday, July 1 at 9:00 AM"


@pytest.mark.parametrize("key, said", [
    ("America/New_York", "Eastern Time"), ("America/Chicago", "Central Time"), ("America/Denver", "Mountain Time"),
    ("America/Phoenix", "Mountain Time"), ("America/Los_Angeles", "Pacific Time"),
    ("America/Anchorage", "Alaska Time"), ("Pacific/Honolulu", "Hawaii Time"), ("Europe/Paris", "Europe/Paris"),
    ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos Aires"), ("UTC", "UTC")])
def test_the_zone_is_named_as_people_say_it(key, said):
    assert dates.zone_name(key) == said
    assert dates.zone_name(ZoneInfo(key)) == said


def test_the_signature_of_a_letter():
    signed = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    assert dates.signed_moment(signed, CHICAGO) == "November 30, 2026 at 8:05 AM Central Time"
    assert dates.signed_moment(signed, ZoneInfo("UTC")) == "November 30, 2026 at 2:05 PM UTC"


@pytest.mark.parametrize("old, style", [
    ("%A %-d %B %Y, %-I:%M %p", "long"), ("%A %-d %B, %-I:%M %p", "long"), ("%a %-d %b, %-I:%M %p", "short"),
    ("%-d %b %Y, %-I:%M %p", "short"), ("%-I:%M %p", "time"), ("%H:%M", "time"), ("%A %-I:%M %p", "weekday_time"),
    ("%-d %b %Y %H:%M:%S", "exact"), ("%A %-d %B", "date"), ("%a %-d %b", "short_date"), ("%-d %B %Y", "dated"),
    ("%-d %b %Y", "short_dated"), ("%Y-%m-%d", "iso")])
def test_an_old_strftime_format_is_read_as_the_nearest_style(old, style):
    assert dates.style_of_strftime(old) == style


def test_every_style_writes_a_moment_and_a_day():
    moment = datetime(2026, 12, 7, 20, 30, 15, tzinfo=UTC)
    written = {style: dates.moment_in_style(moment, style, CHICAGO, TODAY) for style in dates.STYLES}
    assert written == {
        "long": "Monday, December 7 at 2:30 PM", "short": "Mon, Dec 7, 2:30 PM", "date": "Monday, December 7",
        "short_date": "Mon, Dec 7", "dated": "December 7, 2026", "short_dated": "Dec 7, 2026",
        "month_day": "December 7", "short_month_day": "Dec 7", "weekday": "Monday", "time": "2:30 PM",
        "weekday_time": "Monday at 2:30 PM", "exact": "Dec 7, 2026, 2:30:15 PM", "iso": "2026-12-07"}
    for style in dates.STYLES:  # a day alone is written as a date
        assert dates.moment_in_style(date(2026, 12, 7), style, CHICAGO, TODAY)
    with pytest.raises(ValueError):
        dates.moment_in_style(moment, "fancy", CHICAGO, TODAY)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)))
def test_every_moment_reads_back_as_its_clinic_time(moment):
    local = moment.astimezone(CHICAGO)
    said = dates.date_and_time(moment, CHICAGO)
    assert datetime.strptime(said, "%A, %B %d, %Y at %I:%M %p") == local.replace(
        second=0, microsecond=0, tzinfo=None)
