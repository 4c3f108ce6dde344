"""Audit details shown in clinic time and in words (portal/audit/wording.py)."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from portal.audit.wording import times_in_words

CHICAGO = ZoneInfo("America/Chicago")


def test_an_aware_moment_is_shown_in_the_clinics_zone():
    assert times_in_words("General consultation with Dr A at 2026-12-01T16:30:00+00:00", CHICAGO) == (
        "General consultation with Dr A at Tue, Dec 1, 2026, 10:30 AM")


def test_offsets_fractions_and_z_are_all_read():
    assert times_in_words("2026-07-01T09:00:00-05:00 to 2026-07-01T15:00:00.123456Z", CHICAGO) == (
        "Wed, Jul 1, 2026, 9:00 AM to Wed, Jul 1, 2026, 10:00 AM")


def test_a_day_alone_is_written_out():
    assert times_in_words("Dr A from 2026-12-07: Mon 08:30-12:00", CHICAGO) == (
        "Dr A from Mon, Dec 7, 2026: Mon 08:30-12:00")


def test_what_a_person_typed_is_left_as_typed():
    detail = "searched by date of birth for “1954-03-14”: 1 found; filtered by since “2026-12-01T10:00:00+00:00”"
    assert times_in_words(detail, CHICAGO) == detail


def test_what_is_not_a_moment_is_left_alone():
    for detail in ("message 12: reminder to a@example.com", "2026-13-45", "2026-12-01T10:00:00 (no zone)",
                   "phone 555-2026-12-01", "12026-12-01"):
        assert times_in_words(detail, CHICAGO) == detail


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_every_moment_comes_out_as_its_clinic_time(moment):
    shown = times_in_words(f"at {moment.isoformat()}.", CHICAGO)
    local = moment.astimezone(CHICAGO)
    assert shown == f"at {local:%a, %b} {local.day}, {local.year}, {local.hour % 12 or 12}:{local:%M %p}."
    assert timedelta(0) <= moment - local.replace(second=0, microsecond=0) < timedelta(minutes=1)
