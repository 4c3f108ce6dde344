"""Unit tests for portal.booking.availability: free slots as a receptionist would read them.

Expected times are written in the clinic's local wall-clock time; the module answers in UTC.
No Flask, no database.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.booking.availability import (
    Interval,
    WeeklyBlock,
    free_slots,
    merge_clinician_slots,
)

UTC = UTC
CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)

MONDAY = date(2026, 6, 1)
TUESDAY = date(2026, 6, 2)
SUNDAY = date(2026, 6, 7)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def at(zone: ZoneInfo, day: date, clock: str, fold: int = 0) -> datetime:
    """The UTC instant of a local wall-clock reading such as '09:30' on `day`."""
    local = datetime.combine(day, time.fromisoformat(clock), tzinfo=zone).replace(fold=fold)
    return local.astimezone(UTC)


def appointment(zone: ZoneInfo, day: date, start: str, end: str) -> Interval:
    return Interval(at(zone, day, start), at(zone, day, end))


def clock_times(slots: list[Interval], zone: ZoneInfo) -> list[str]:
    """Local start times, as the patient sees them."""
    return [slot.start.astimezone(zone).strftime("%H:%M") for slot in slots]


def overlaps(first_start, first_end, second_start, second_end) -> bool:
    """Whether two end-exclusive spans share an instant (an empty span shares none)."""
    return max(first_start, second_start) < min(first_end, second_end)


def local_starts(slots: list[Interval], zone: ZoneInfo) -> list[str]:
    return [slot.start.astimezone(zone).strftime("%Y-%m-%d %H:%M") for slot in slots]


def offer(
    blocks,
    busy=(),
    *,
    first_day=MONDAY,
    last_day=None,
    zone=CHICAGO,
    now=LONG_AGO,
    duration=30,
    notice=0,
    step=None,
) -> list[Interval]:
    """free_slots with the usual clinic defaults, durations in minutes."""
    return free_slots(
        blocks,
        busy,
        duration=minutes(duration),
        first_day=first_day,
        last_day=first_day if last_day is None else last_day,
        zone=zone,
        now=now,
        notice=minutes(notice),
        step=None if step is None else minutes(step),
    )


def block(weekday: int, start: str, end: str) -> WeeklyBlock:
    return WeeklyBlock(weekday, time.fromisoformat(start), time.fromisoformat(end))


MORNING = block(0, "08:00", "12:00")


# --- A plain day -------------------------------------------------------------------------------


def test_thirty_minute_slots_fill_a_morning():
    slots = offer([MORNING])
    assert clock_times(slots, CHICAGO) == [
        "08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
    ]
    assert all(slot.end - slot.start == minutes(30) for slot in slots)


def test_forty_five_minute_slots_stop_where_the_next_would_overrun_the_block():
    slots = offer([MORNING], duration=45)
    assert clock_times(slots, CHICAGO) == ["08:00", "08:45", "09:30", "10:15", "11:00"]
    assert slots[-1].end == at(CHICAGO, MONDAY, "11:45")


def test_step_shorter_than_duration_gives_overlapping_choices():
    slots = offer([block(0, "08:00", "10:00")], duration=60, step=30)
    assert clock_times(slots, CHICAGO) == ["08:00", "08:30", "09:00"]
    assert slots[-1].end == at(CHICAGO, MONDAY, "10:00")


def test_step_longer_than_duration_leaves_room_between_slots():
    slots = offer([MORNING], duration=30, step=90)
    assert clock_times(slots, CHICAGO) == ["08:00", "09:30", "11:00"]


def test_results_are_utc_and_aware():
    slots = offer([MORNING])
    assert all(slot.start.tzinfo is UTC and slot.end.tzinfo is UTC for slot in slots)
    assert slots[0].start == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 08:00 CDT


def test_no_slot_crosses_the_lunch_break():
    day = [block(0, "08:00", "12:00"), block(0, "13:00", "17:00")]
    slots = offer(day, duration=45)
    assert clock_times(slots, CHICAGO) == [
        "08:00", "08:45", "09:30", "10:15", "11:00",
        "13:00", "13:45", "14:30", "15:15", "16:00",
    ]
    lunch = appointment(CHICAGO, MONDAY, "12:00", "13:00")
    assert not any(overlaps(slot.start, slot.end, lunch.start, lunch.end) for slot in slots)


def test_overlapping_blocks_give_each_slot_once_in_order():
    day = [block(0, "08:00", "12:00"), block(0, "10:00", "11:00"), block(0, "09:15", "10:15")]
    slots = offer(day)
    assert clock_times(slots, CHICAGO) == [
        "08:00", "08:30", "09:00", "09:15", "09:30", "09:45", "10:00", "10:30", "11:00", "11:30",
    ]


def test_the_same_block_given_twice_gives_each_slot_once():
    assert offer([MORNING, MORNING]) == offer([MORNING])


# --- Busy time ---------------------------------------------------------------------------------


def test_time_off_in_the_middle_of_the_morning_removes_the_slots_it_touches():
    time_off = appointment(CHICAGO, MONDAY, "09:15", "10:30")
    slots = offer([MORNING], [time_off])
    assert clock_times(slots, CHICAGO) == ["08:00", "08:30", "10:30", "11:00", "11:30"]


def test_time_off_for_the_whole_day_leaves_nothing_that_day_only():
    whole_day = Interval(at(CHICAGO, MONDAY, "00:00"), at(CHICAGO, TUESDAY, "00:00"))
    both_days = [block(0, "08:00", "12:00"), block(1, "08:00", "09:00")]
    slots = offer(both_days, [whole_day], first_day=MONDAY, last_day=TUESDAY)
    assert local_starts(slots, CHICAGO) == ["2026-06-02 08:00", "2026-06-02 08:30"]


def test_a_45_minute_appointment_removes_the_30_minute_slots_it_overlaps():
    booked = appointment(CHICAGO, MONDAY, "09:00", "09:45")
    slots = offer([MORNING], [booked])
    # 08:30-09:00 only touches it and 10:00 starts after it ends: ends are exclusive.
    assert clock_times(slots, CHICAGO) == ["08:00", "08:30", "10:00", "10:30", "11:00", "11:30"]


def test_an_appointment_that_ends_as_a_slot_starts_does_not_block_it():
    booked = appointment(CHICAGO, MONDAY, "07:30", "08:00")
    assert clock_times(offer([MORNING], [booked]), CHICAGO)[0] == "08:00"


def test_busy_time_may_come_unsorted_overlapping_and_in_any_zone():
    busy = [
        appointment(CHICAGO, MONDAY, "11:00", "11:20"),
        Interval(at(CHICAGO, MONDAY, "08:10").astimezone(LONDON), at(CHICAGO, MONDAY, "08:40")),
        appointment(CHICAGO, MONDAY, "08:20", "09:05"),
        appointment(CHICAGO, MONDAY, "11:10", "11:15"),
        appointment(CHICAGO, MONDAY, "10:10", "10:10"),  # empty: blocks nothing
    ]
    slots = offer([MORNING], busy)
    assert clock_times(slots, CHICAGO) == ["09:30", "10:00", "10:30", "11:30"]
    assert offer([MORNING], sorted(busy)) == slots


def test_busy_time_longer_than_the_whole_range_blocks_everything():
    forever = Interval(datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    assert offer([MORNING], [forever], last_day=MONDAY + timedelta(days=14)) == []


# --- Notice and now ----------------------------------------------------------------------------


def test_slots_before_now_plus_notice_are_not_offered():
    now = at(CHICAGO, MONDAY, "09:10")
    slots = offer([MORNING], now=now, notice=60)
    assert clock_times(slots, CHICAGO) == ["10:30", "11:00", "11:30"]


def test_now_in_the_middle_of_the_day_keeps_the_slot_starting_exactly_now():
    now = at(CHICAGO, MONDAY, "10:00")
    assert clock_times(offer([MORNING], now=now), CHICAGO) == ["10:00", "10:30", "11:00", "11:30"]


def test_notice_reaching_into_the_next_day():
    week = [block(0, "08:00", "12:00"), block(1, "08:00", "10:00")]
    now = at(CHICAGO, MONDAY, "11:00")
    slots = offer(week, now=now, notice=22 * 60, first_day=MONDAY, last_day=TUESDAY)
    assert local_starts(slots, CHICAGO) == ["2026-06-02 09:00", "2026-06-02 09:30"]


# --- Days and weeks ----------------------------------------------------------------------------


def test_a_weekday_without_working_hours_has_no_slots():
    assert offer([MORNING], first_day=TUESDAY) == []


def test_a_single_day_range_gives_only_that_day():
    every_day = [block(weekday, "08:00", "09:00") for weekday in range(7)]
    slots = offer(every_day, first_day=TUESDAY, last_day=TUESDAY)
    assert local_starts(slots, CHICAGO) == ["2026-06-02 08:00", "2026-06-02 08:30"]


def test_a_week_of_weekday_hours():
    weekdays = [block(weekday, "09:00", "10:00") for weekday in range(5)]
    slots = offer(weekdays, duration=60, first_day=MONDAY - timedelta(days=1), last_day=SUNDAY)
    assert local_starts(slots, CHICAGO) == [
        "2026-06-01 09:00",
        "2026-06-02 09:00",
        "2026-06-03 09:00",
        "2026-06-04 09:00",
        "2026-06-05 09:00",
    ]


# --- Daylight saving time: America/Chicago -----------------------------------------------------


def test_chicago_spring_forward_keeps_nine_o_clock_local():
    every_day = [block(weekday, "09:00", "17:00") for weekday in range(7)]
    slots = offer(every_day, first_day=date(2026, 3, 7), last_day=date(2026, 3, 9))
    first_each_day = {}
    for slot in slots:
        first_each_day.setdefault(slot.start.astimezone(CHICAGO).date(), slot.start)
    assert [start.astimezone(CHICAGO).strftime("%H:%M") for start in first_each_day.values()] == [
        "09:00", "09:00", "09:00",
    ]
    assert [start.hour for start in first_each_day.values()] == [15, 14, 14]  # UTC
    assert len(slots) == 3 * 16


def test_chicago_spring_forward_never_offers_the_skipped_hour():
    night = [block(6, "01:00", "04:00")]
    slots = offer(night, first_day=date(2026, 3, 8))
    assert clock_times(slots, CHICAGO) == ["01:00", "01:30", "03:00", "03:30"]
    assert slots[1].end == slots[2].start  # 01:30 CST + 30 real minutes is 03:00 CDT


def test_chicago_slot_spanning_the_jump_keeps_its_real_length():
    night = [block(6, "01:00", "04:00")]
    slots = offer(night, first_day=date(2026, 3, 8), duration=60, step=30)
    assert clock_times(slots, CHICAGO) == ["01:00", "01:30", "03:00"]
    assert [slot.end.astimezone(CHICAGO).strftime("%H:%M") for slot in slots] == [
        "03:00", "03:30", "04:00",
    ]
    assert all(slot.end - slot.start == minutes(60) for slot in slots)


def test_chicago_block_ending_in_the_skipped_hour_ends_at_the_jump():
    night = [block(6, "01:00", "02:30")]
    assert clock_times(offer(night, first_day=date(2026, 3, 8)), CHICAGO) == ["01:00", "01:30"]
    # 01:30 CST + 60 real minutes is 03:30 CDT, past the block: it would end after the jump.
    hour_long = offer(night, first_day=date(2026, 3, 8), duration=60, step=30)
    assert clock_times(hour_long, CHICAGO) == ["01:00"]
    assert hour_long[0].end == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # the jump: 02:00 CST


def test_chicago_fall_back_offers_the_repeated_hour_once():
    night = [block(6, "00:00", "03:00")]
    slots = offer(night, first_day=date(2026, 11, 1))
    assert clock_times(slots, CHICAGO) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    starts = [slot.start for slot in slots]
    assert starts == sorted(set(starts))
    # 01:00 and 01:30 are the first occurrences (CDT); 02:00 is CST.
    assert [start.strftime("%H:%M") for start in starts] == [
        "05:00", "05:30", "06:00", "06:30", "08:00", "08:30",
    ]


def test_chicago_fall_back_keeps_nine_o_clock_local():
    every_day = [block(weekday, "09:00", "10:00") for weekday in range(7)]
    slots = offer(every_day, first_day=date(2026, 10, 31), last_day=date(2026, 11, 2), duration=60)
    assert local_starts(slots, CHICAGO) == [
        "2026-10-31 09:00", "2026-11-01 09:00", "2026-11-02 09:00",
    ]
    assert [slot.start.hour for slot in slots] == [14, 15, 15]


# --- Daylight saving time: Europe/London -------------------------------------------------------


def test_london_spring_forward_keeps_nine_o_clock_local():
    every_day = [block(weekday, "09:00", "10:00") for weekday in range(7)]
    slots = offer(
        every_day, zone=LONDON, first_day=date(2026, 3, 28), last_day=date(2026, 3, 30), duration=60
    )
    assert local_starts(slots, LONDON) == [
        "2026-03-28 09:00", "2026-03-29 09:00", "2026-03-30 09:00",
    ]
    assert [slot.start.hour for slot in slots] == [9, 8, 8]


def test_london_spring_forward_never_offers_the_skipped_hour():
    night = [block(6, "00:00", "03:00")]
    slots = offer(night, zone=LONDON, first_day=date(2026, 3, 29))
    assert clock_times(slots, LONDON) == ["00:00", "00:30", "02:00", "02:30"]


def test_london_fall_back_offers_the_repeated_hour_once():
    night = [block(6, "00:00", "03:00")]
    slots = offer(night, zone=LONDON, first_day=date(2026, 10, 25))
    assert clock_times(slots, LONDON) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    starts = [slot.start for slot in slots]
    assert starts == sorted(set(starts))
    assert slots[2].start == at(LONDON, date(2026, 10, 25), "01:00", fold=0)  # BST, 00:00 UTC
    assert slots[2].start.hour == 0


def test_london_fall_back_keeps_nine_o_clock_local():
    every_day = [block(weekday, "09:00", "10:00") for weekday in range(7)]
    slots = offer(every_day, zone=LONDON, duration=60,
                  first_day=date(2026, 10, 24), last_day=date(2026, 10, 26))
    assert clock_times(slots, LONDON) == ["09:00", "09:00", "09:00"]
    assert [slot.start.hour for slot in slots] == [8, 9, 9]


# --- Any clinician -----------------------------------------------------------------------------


def test_any_clinician_lists_each_time_once_with_everyone_offering_it():
    ana = offer([block(0, "09:00", "10:30")])
    ben = offer([block(0, "09:30", "11:00")])
    merged = merge_clinician_slots({"ana": ana, "ben": ben})
    assert [(slot.start.astimezone(CHICAGO).strftime("%H:%M"), who) for slot, who in merged] == [
        ("09:00", ("ana",)),
        ("09:30", ("ana", "ben")),
        ("10:00", ("ana", "ben")),
        ("10:30", ("ben",)),
    ]


def test_any_clinician_keeps_the_mapping_order_and_ignores_repeats():
    nine = appointment(CHICAGO, MONDAY, "09:00", "09:30")
    nine_long = appointment(CHICAGO, MONDAY, "09:00", "10:00")
    merged = merge_clinician_slots({7: [nine, nine_long, nine], 3: [nine], 5: []})
    assert merged == [(nine, (7, 3)), (nine_long, (7,))]


def test_any_clinician_with_nobody_working():
    assert merge_clinician_slots({}) == []
    assert merge_clinician_slots({"ana": []}) == []


# --- Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"now": datetime(2026, 6, 1, 9, 0)},
        {"duration": timedelta(0)},
        {"duration": minutes(-30)},
        {"step": timedelta(0)},
        {"notice": minutes(-1)},
        {"first_day": TUESDAY, "last_day": MONDAY},
    ],
    ids=["naive now", "zero duration", "negative duration", "zero step", "negative notice",
         "range backwards"],
)
def test_bad_arguments_are_refused(change):
    arguments = dict(
        duration=minutes(30), first_day=MONDAY, last_day=MONDAY, zone=CHICAGO, now=LONG_AGO
    )
    arguments.update(change)
    with pytest.raises(ValueError):
        free_slots([MORNING], [], **arguments)


@pytest.mark.parametrize(
    "blocks, busy",
    [
        ([block(0, "12:00", "12:00")], []),
        ([block(0, "12:00", "08:00")], []),
        ([WeeklyBlock(7, time(8), time(12))], []),
        ([WeeklyBlock(-1, time(8), time(12))], []),
        ([MORNING], [Interval(datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 10))]),
        ([MORNING], [Interval(at(CHICAGO, MONDAY, "10:00"), at(CHICAGO, MONDAY, "09:00"))]),
    ],
    ids=["empty block", "block ends before start", "weekday 7", "weekday -1", "naive busy",
         "busy backwards"],
)
def test_bad_blocks_and_busy_time_are_refused(blocks, busy):
    with pytest.raises(ValueError):
        offer(blocks, busy)


# --- Against a brute-force reference -----------------------------------------------------------


def reference_block_end(day: date, end: time, zone: ZoneInfo) -> datetime:
    """The first UTC instant at which local time reaches `end`, found the slow way."""
    wall = datetime.combine(day, end)
    first_reading = wall.replace(tzinfo=zone).astimezone(UTC)
    if first_reading.astimezone(zone).replace(tzinfo=None) == wall:
        return first_reading
    # `end` is skipped by the clock: walk minute by minute from its earliest reading.
    moment = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while moment.astimezone(zone).replace(tzinfo=None) < wall:
        moment += minutes(1)
    return moment


def reference_free_slots(blocks, busy, *, duration, first_day, last_day, zone, now,
                         notice=timedelta(0), step=None) -> list[Interval]:
    """Every candidate of every block, checked against every busy interval."""
    step = step or duration
    busy = [(interval.start, interval.end) for interval in busy]
    found = set()
    day = first_day
    while day <= last_day:
        for working in blocks:
            if working.weekday != day.weekday():
                continue
            block_end = reference_block_end(day, working.end, zone)
            wall = datetime.combine(day, working.start)
            while wall < datetime.combine(day, working.end):
                start = wall.replace(tzinfo=zone).astimezone(UTC)
                exists = start.astimezone(zone).replace(tzinfo=None) == wall
                end = start + duration
                if (
                    exists
                    and end <= block_end
                    and start >= now + notice
                    and not any(overlaps(start, end, b_start, b_end) for b_start, b_end in busy)
                ):
                    found.add(Interval(start, end))
                wall += step
        day += timedelta(days=1)
    return sorted(found)


@pytest.mark.parametrize("seed", [1, 2])
def test_five_thousand_busy_intervals_match_the_brute_force_reference(seed):
    rng = random.Random(seed)
    zone = CHICAGO
    first_day, last_day = date(2026, 2, 25), date(2026, 3, 10)  # spans the spring change
    blocks = [block(weekday, "08:00", "12:00") for weekday in range(6)]
    blocks += [block(weekday, "13:00", "17:00") for weekday in range(5)]
    blocks += [block(2, "11:00", "14:00")]
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    busy = []
    for _ in range(5_000):
        start = origin + timedelta(seconds=rng.randrange(140 * 24 * 3600))
        busy.append(Interval(start, start + timedelta(seconds=rng.randrange(60, 1800))))
    busy += [Interval(origin, origin + timedelta(days=55)), Interval(origin, origin)]
    rng.shuffle(busy)
    now = at(zone, first_day, "10:07")
    arguments = dict(duration=minutes(30), first_day=first_day, last_day=last_day, zone=zone,
                     now=now, notice=minutes(90), step=minutes(15))
    expected = reference_free_slots(blocks, busy, **arguments)
    assert len(expected) > 50  # the data leave something to find
    assert free_slots(blocks, busy, **arguments) == expected


# --- Properties --------------------------------------------------------------------------------

# Days the clocks change in 2026 (Lord Howe moves by half an hour); UTC gets an ordinary day.
CLOCK_CHANGE_DAYS = {
    "America/Chicago": [date(2026, 3, 8), date(2026, 11, 1)],
    "Europe/London": [date(2026, 3, 29), date(2026, 10, 25)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
    "UTC": [date(2026, 6, 1)],
}
ALL_DAYS = sorted({day for days in CLOCK_CHANGE_DAYS.values() for day in days})


@st.composite
def availability_cases(draw):
    name = draw(st.sampled_from(sorted(CLOCK_CHANGE_DAYS)))
    zone = ZoneInfo(name)
    anchor = draw(st.one_of(st.sampled_from(CLOCK_CHANGE_DAYS[name]), st.sampled_from(ALL_DAYS)))
    first_day = anchor - timedelta(days=draw(st.integers(0, 2)))
    last_day = anchor + timedelta(days=draw(st.integers(0, 1)))
    days = [first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)]

    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        weekday = draw(st.one_of(st.sampled_from([day.weekday() for day in days]),
                                 st.integers(0, 6)))
        # Night hours often, so blocks meet the clock changes.
        start = draw(st.one_of(st.integers(0, 5 * 12), st.integers(0, 24 * 12 - 1))) * 5
        length = draw(st.integers(1, 24 * 60 - start))
        end = min(start + length, 24 * 60 - 1)
        if end <= start:
            continue
        blocks.append(WeeklyBlock(weekday, time(start // 60, start % 60),
                                  time(end // 60, end % 60)))

    origin = datetime.combine(first_day, time(0), tzinfo=UTC) - timedelta(days=1)
    span = (len(days) + 2) * 24 * 60
    busy = []
    # Appointments of any length up to three hours, and now and then days of time off.
    lengths = [st.integers(0, 3 * 3600)] * draw(st.integers(0, 20))
    lengths += [st.integers(0, 3 * 24 * 3600)] * draw(st.integers(0, 2))
    for length in lengths:
        start = origin + timedelta(seconds=draw(st.integers(0, span * 60)))
        end = start + timedelta(seconds=draw(length))
        busy.append(Interval(start.astimezone(draw(st.sampled_from([UTC, zone]))), end))

    duration = minutes(draw(st.integers(5, 180)))
    step = draw(st.one_of(st.none(), st.integers(5, 120).map(minutes)))
    now = origin + minutes(draw(st.integers(-span, span)))
    notice = minutes(draw(st.integers(0, 6 * 60)))
    return dict(blocks=blocks, busy=busy, duration=duration, first_day=first_day,
                last_day=last_day, zone=zone, now=now, notice=notice, step=step)


@settings(max_examples=200, deadline=None)
@given(availability_cases())
def test_slots_respect_busy_time_working_hours_and_notice(case):
    slots = free_slots(case["blocks"], case["busy"], **{
        name: value for name, value in case.items() if name not in ("blocks", "busy")
    })
    zone, duration = case["zone"], case["duration"]
    step = case["step"] or duration

    starts = [slot.start for slot in slots]
    assert starts == sorted(set(starts))
    for slot in slots:
        assert slot.start.tzinfo is UTC and slot.end.tzinfo is UTC
        assert slot.end - slot.start == duration
        assert slot.start >= case["now"] + case["notice"]
        assert not any(overlaps(slot.start, slot.end, b.start, b.end) for b in case["busy"])
        local = slot.start.astimezone(zone)
        assert case["first_day"] <= local.date() <= case["last_day"]
        wall = local.replace(tzinfo=None)
        assert any(
            working.weekday == local.weekday()
            and working.start <= wall.time() < working.end
            and (wall - datetime.combine(local.date(), working.start)) % step == timedelta(0)
            and slot.end <= reference_block_end(local.date(), working.end, zone)
            for working in case["blocks"]
        )
        # A repeated wall-clock time is offered at its first occurrence only.
        assert local.fold == 0


@settings(max_examples=200, deadline=None)
@given(availability_cases())
def test_slots_match_the_brute_force_reference(case):
    arguments = {name: value for name, value in case.items() if name not in ("blocks", "busy")}
    assert free_slots(case["blocks"], case["busy"], **arguments) == reference_free_slots(
        case["blocks"], case["busy"], **arguments
    )
