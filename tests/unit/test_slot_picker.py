"""The slot picker's choices (portal/booking/picker.py): the day a week page opens on and how a
day's times are grouped, in the clinic's zone. Plain values only; no app."""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.booking.picker import chosen_day, days_with_times, first_day_with_times, part_of_day, times_of_day

CHICAGO = ZoneInfo("America/Chicago")
MONDAY = date(2026, 3, 2)


@dataclass(frozen=True)
class Time:
    start: datetime


def at(day: date, hour: int, minute: int = 0) -> Time:
    """A free time at a clinic wall-clock time, held in UTC as the booking pages hold it."""
    return Time(datetime.combine(day, time(hour, minute), CHICAGO).astimezone(UTC))


def week(times_on: dict[int, list[Time]]) -> list[tuple[date, list[Time]]]:
    """Seven days from MONDAY, with the times given for some of them (by offset)."""
    return [(MONDAY + timedelta(days=n), times_on.get(n, [])) for n in range(7)]


# --- parts of the day -----------------------------------------------------------------------------

@pytest.mark.parametrize("moment, part", [
    (time(0), "Morning"), (time(8, 30), "Morning"), (time(11, 59), "Morning"),
    (time(12), "Afternoon"), (time(16, 59), "Afternoon"),
    (time(17), "Evening"), (time(23, 30), "Evening"),
])
def test_part_of_day_splits_at_noon_and_five(moment, part):
    assert part_of_day(moment) == part


def test_times_of_day_groups_in_clinic_time_not_utc():
    # 11:30 in Chicago is 17:30 UTC: by UTC it would be evening.
    morning, afternoon, evening = at(MONDAY, 11, 30), at(MONDAY, 13), at(MONDAY, 18)

    assert times_of_day([morning, afternoon, evening], CHICAGO) == [
        ("Morning", [morning]), ("Afternoon", [afternoon]), ("Evening", [evening])]


def test_times_of_day_leaves_out_a_part_with_no_times():
    times = [at(MONDAY, 9), at(MONDAY, 9, 30), at(MONDAY, 14)]

    assert [part for part, _ in times_of_day(times, CHICAGO)] == ["Morning", "Afternoon"]
    assert times_of_day([], CHICAGO) == []


@given(st.lists(st.integers(min_value=0, max_value=24 * 4 - 1), unique=True))
def test_times_of_day_keeps_every_time_once_in_order(quarters):
    times = [at(MONDAY, q // 4, 15 * (q % 4)) for q in sorted(quarters)]

    parts = times_of_day(times, CHICAGO)

    assert [t for _, part_times in parts for t in part_times] == times
    assert [part for part, _ in parts] == [p for p in ("Morning", "Afternoon", "Evening") if p in dict(parts)]
    assert all(part_of_day(t.start.astimezone(CHICAGO).time()) == part for part, ts in parts for t in ts)


def test_days_with_times_keeps_only_days_that_have_times_by_clinic_day():
    # 19:00 on Monday in Chicago is already Tuesday in UTC.
    late_monday, tuesday = at(MONDAY, 19), at(MONDAY + timedelta(days=1), 9)

    assert days_with_times([late_monday, tuesday], CHICAGO) == [
        (MONDAY, [("Evening", [late_monday])]), (MONDAY + timedelta(days=1), [("Morning", [tuesday])])]
    assert days_with_times([], CHICAGO) == []


# --- the day a week page shows ----------------------------------------------------------------------

def test_the_default_day_is_the_first_with_free_times():
    days = week({2: [at(MONDAY + timedelta(days=2), 9)], 4: [at(MONDAY + timedelta(days=4), 9)]})

    assert first_day_with_times(days) == MONDAY + timedelta(days=2)
    assert chosen_day("", days) == (MONDAY + timedelta(days=2), True)


def test_a_week_without_free_times_opens_on_its_first_day():
    assert first_day_with_times(week({})) == MONDAY
    assert chosen_day("", week({})) == (MONDAY, True)


def test_a_day_of_the_week_is_shown_even_with_no_free_times():
    days = week({0: [at(MONDAY, 9)]})
    sunday = MONDAY + timedelta(days=6)

    assert chosen_day(sunday.isoformat(), days) == (sunday, True)


@pytest.mark.parametrize("asked", ["garbage", "2026-02-30", "2026-3-4", "tomorrow", "2026-03-04T09:00:00x",
                                   "2026-03-09", "2026-03-01", "1999-01-01"])
def test_a_day_that_is_not_of_this_week_gives_the_default_and_says_so(asked):
    days = week({1: [at(MONDAY + timedelta(days=1), 10)]})

    assert chosen_day(asked, days) == (MONDAY + timedelta(days=1), False)
