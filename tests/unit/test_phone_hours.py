"""CLINIC_PHONE_HOURS: read, asked "is the phone answered now?", and said the way people say it."""
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from portal.phone_hours import PhoneHours, PhoneHoursError, describe, is_open, parse_phone_hours

CHICAGO = ZoneInfo("America/Chicago")
DEFAULT = "Mon-Fri 08:00-18:00; Sat 09:00-12:00"


def at(year, month, day, hour, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def test_the_default_reads_as_two_runs():
    assert parse_phone_hours(DEFAULT) == (
        PhoneHours(days=(0, 1, 2, 3, 4), opens=time(8), closes=time(18)),
        PhoneHours(days=(5,), opens=time(9), closes=time(12)))


@pytest.mark.parametrize(("moment", "answered"), [
    pytest.param(at(2026, 12, 8, 9, 30), True, id="Tuesday morning"),
    pytest.param(at(2026, 12, 8, 8, 0), True, id="the minute it opens"),
    pytest.param(at(2026, 12, 8, 18, 0), False, id="the minute it closes"),
    pytest.param(at(2026, 12, 8, 7, 59), False, id="before it opens"),
    pytest.param(at(2026, 12, 12, 11, 59), True, id="Saturday before noon"),
    pytest.param(at(2026, 12, 12, 12, 0), False, id="Saturday noon"),
    pytest.param(at(2026, 12, 13, 20, 53), False, id="Sunday 8:53 PM"),
    pytest.param(at(2026, 12, 13, 10, 0), False, id="Sunday morning"),
])
def test_is_open_at_the_clinic_clock(moment, answered):
    assert is_open(parse_phone_hours(DEFAULT), moment) is answered


def test_said_the_way_people_say_it():
    assert describe(parse_phone_hours(DEFAULT)) == ["Monday to Friday, 8:00 AM to 6:00 PM",
                                                   "Saturday, 9:00 AM to 12:00 PM"]
    assert describe(parse_phone_hours("Mon,Wed 07:30-12:00,13:00-16:45; sun 10:00-24:00")) == [
        "Monday and Wednesday, 7:30 AM to 12:00 PM", "Monday and Wednesday, 1:00 PM to 4:45 PM",
        "Sunday, 10:00 AM to midnight"]
    assert describe(parse_phone_hours("Mon,Wed,Fri 09:00-10:00")) == [
        "Monday, Wednesday and Friday, 9:00 AM to 10:00 AM"]


def test_a_lunch_break_is_closed():
    hours = parse_phone_hours("Mon-Fri 08:00-12:00,13:00-17:00")
    assert is_open(hours, at(2026, 12, 8, 11, 59)) and not is_open(hours, at(2026, 12, 8, 12, 30))


def test_open_until_midnight_covers_the_last_minute():
    assert is_open(parse_phone_hours("Mon-Sun 00:00-24:00"), at(2026, 12, 13, 23, 59))


@pytest.mark.parametrize("text", ["", ";", "Mon-Fri", "Mun 08:00-18:00", "Fri-Mon 08:00-18:00", "Mon 8-18",
                                  "Mon 18:00-08:00", "Mon 08:00", "Mon 25:00-26:00", "Mon 08:00-24:30",
                                  "Monxx 08:00-10:00"])
def test_unreadable_hours_say_why(text):
    with pytest.raises(PhoneHoursError):
        parse_phone_hours(text)
