"""Free appointment slots from a clinician's weekly working hours, busy time and the clinic's zone.

Pure logic: plain values in (named tuples, aware datetimes, a ZoneInfo), plain values out. It
imports neither Flask nor the database, so the booking views, the desk calendar and command-line
tools call it directly and its tests need no app.

Working hours are local wall-clock times of the clinic; every instant in and out is UTC.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

__all__ = ["Interval", "WeeklyBlock", "free_slots", "merge_clinician_slots"]

K = TypeVar("K", bound=Hashable)

_UTC = UTC
_ZERO = timedelta(0)
_ONE_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_MIDNIGHT_SECOND_FOLD = time(0, fold=1)


class WeeklyBlock(NamedTuple):
    """Working hours on one weekday, in the clinic's local wall-clock time."""

    weekday: int  # 0 = Monday ... 6 = Sunday
    start: time
    end: time


class Interval(NamedTuple):
    """A span between two aware datetimes (UTC in everything this module returns), end exclusive.

    A named tuple, not a dataclass: the engine makes one per free slot, thousands a page, and a
    tuple is made, compared, sorted and hashed in C (bench/README.md). A plain (start, end) pair
    is accepted wherever an Interval is.
    """

    start: datetime
    end: datetime


_interval = tuple.__new__  # _interval(Interval, (start, end)) skips NamedTuple's Python-level __new__


def free_slots(
    blocks: Iterable[WeeklyBlock],
    busy: Iterable[Interval],
    *,
    duration: timedelta,
    first_day: date,
    last_day: date,
    zone: ZoneInfo,
    now: datetime,
    notice: timedelta = timedelta(0),
    step: timedelta | None = None,
) -> list[Interval]:
    """Return the bookable slots from `first_day` to `last_day` (local dates, inclusive).

    Slots start at each block's start and every `step` (default: `duration`) after it, counted
    in the wall-clock time of `zone`. A slot is offered when its real end (UTC start + duration)
    is within its block, it starts at or after `now + notice`, and it overlaps no busy interval.
    Wall-clock times skipped by a spring-forward change are never offered; in a repeated
    fall-back hour a wall-clock time is offered once, at its first occurrence. The result is
    sorted by start, in UTC, without duplicates.

    Cost is linear in the number of busy intervals (one sort, then one sweep) plus the number of
    candidate slots. Raises ValueError for naive datetimes, a non-positive duration or step, a
    negative notice, `last_day` before `first_day`, or a malformed block.
    """
    step = duration if step is None else step
    if duration <= _ZERO:
        raise ValueError(f"duration must be positive, got {duration}")
    if step <= _ZERO:
        raise ValueError(f"step must be positive, got {step}")
    if notice < _ZERO:
        raise ValueError(f"notice must not be negative, got {notice}")
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    earliest = _utc(now, "now") + notice
    blocks_by_weekday = _blocks_by_weekday(blocks)
    busy_spans = _merged_busy_spans(busy)

    slots: list[Interval] = []
    busy_count = len(busy_spans)
    pointer = 0
    for ordinal in range(first_day.toordinal(), last_day.toordinal() + 1):
        day = date.fromordinal(ordinal)
        day_blocks = blocks_by_weekday[day.weekday()]
        if not day_blocks:
            continue
        # Starts rise in UTC across days, so one forward pointer over busy time suffices.
        for start in _day_slot_starts(day, day_blocks, duration, step, zone):
            if start < earliest:
                continue
            end = start + duration
            while pointer < busy_count and busy_spans[pointer][1] <= start:
                pointer += 1
            if pointer < busy_count and busy_spans[pointer][0] < end:
                continue
            slots.append(_interval(Interval, (start, end)))
    return slots


def merge_clinician_slots(
    slots_by_clinician: Mapping[K, Iterable[Interval]],
) -> list[tuple[Interval, tuple[K, ...]]]:
    """Merge per-clinician slots for "any clinician": each distinct interval once.

    Sorted by start, then end; each interval comes with the keys of the clinicians offering it,
    in the mapping's iteration order.
    """
    # Keyed by (start, end) tuples: hashing and sorting them runs in C, unlike the dataclass's.
    offered_by: dict[tuple[datetime, datetime], tuple[Interval, list[K]]] = {}
    for clinician, slots in slots_by_clinician.items():
        for slot in slots:
            entry = offered_by.setdefault((slot.start, slot.end), (slot, []))
            keys = entry[1]
            # A clinician's slots are all read before the next's: a repeat is the last key.
            if not keys or keys[-1] != clinician:
                keys.append(clinician)
    return [(offered_by[span][0], tuple(offered_by[span][1])) for span in sorted(offered_by)]


def _utc(moment: datetime, what: str) -> datetime:
    """The same instant with tzinfo=timezone.utc; datetimes sharing a tzinfo compare fastest."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment!r}")
    return moment if moment.tzinfo is _UTC else moment.astimezone(_UTC)


def _blocks_by_weekday(blocks: Iterable[WeeklyBlock]) -> list[list[WeeklyBlock]]:
    by_weekday: list[set[WeeklyBlock]] = [set() for _ in range(7)]
    for block in blocks:
        if not isinstance(block.weekday, int) or not 0 <= block.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {block.weekday!r}")
        if block.start.tzinfo is not None or block.end.tzinfo is not None:
            raise ValueError(f"working hours are local wall-clock times, got aware {block!r}")
        if block.end <= block.start:
            raise ValueError(f"block must end after it starts, got {block!r}")
        by_weekday[block.weekday].add(block)
    return [sorted(day, key=lambda block: (block.start, block.end)) for day in by_weekday]


def _merged_busy_spans(busy: Iterable[tuple[datetime, datetime]]) -> list[list[datetime]]:
    """Busy intervals as sorted, disjoint [start, end] pairs in UTC."""
    spans = []
    for start, end in busy:
        # Rows loaded from the database are UTC already: checked by identity, converted otherwise.
        if start.__class__ is not datetime or start.tzinfo is not _UTC:
            start = _utc(start, "busy interval start")
        if end.__class__ is not datetime or end.tzinfo is not _UTC:
            end = _utc(end, "busy interval end")
        if end < start:
            raise ValueError(f"busy interval ends before it starts: {Interval(start, end)!r}")
        if end > start:
            spans.append((start, end))
    spans.sort()
    merged: list[list[datetime]] = []
    for start, end in spans:
        # Touching intervals merge too: with exclusive ends that changes no overlap answer.
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return merged


def _day_slot_starts(
    day: date, day_blocks: list[WeeklyBlock], duration: timedelta, step: timedelta, zone: tzinfo
) -> list[datetime]:
    """UTC starts of the slots that fit the day's blocks, increasing, without duplicates."""
    offset = _steady_offset(day, zone)
    if offset is None:
        per_block = [_changing_block_starts(day, b, duration, step, zone) for b in day_blocks]
    else:
        per_block = [_steady_block_starts(day, b, duration, step, offset) for b in day_blocks]
    if len(per_block) == 1:
        return per_block[0]
    # Overlapping blocks interleave and can offer the same start twice.
    return sorted(set().union(*per_block))


@lru_cache(maxsize=4096)  # asked for each clinician's every day; the answer depends on the day alone
def _steady_offset(day: date, zone: tzinfo) -> timedelta | None:
    """The zone's UTC offset all day long, or None on a day the clock changes.

    Equal offsets at both midnights (either fold) suffice: tzdata has no zone whose offset changes
    twice within 48 hours (checked on tzdata 2025b: the closest two changes are 4 days apart).
    """
    midnight = datetime.combine(day, _MIDNIGHT)
    next_midnight = midnight + _ONE_DAY
    offset = zone.utcoffset(midnight)
    if (
        zone.utcoffset(next_midnight) == offset
        and zone.utcoffset(datetime.combine(day, _MIDNIGHT_SECOND_FOLD)) == offset
        and zone.utcoffset(next_midnight.replace(fold=1)) == offset
    ):
        return offset
    return None


def _steady_block_starts(
    day: date, block: WeeklyBlock, duration: timedelta, step: timedelta, offset: timedelta
) -> list[datetime]:
    # With one offset all day, the wall-clock grid is the UTC grid shifted: plain arithmetic.
    start = datetime.combine(day, block.start, tzinfo=_UTC) - offset
    last_start = datetime.combine(day, block.end, tzinfo=_UTC) - offset - duration
    starts = []
    while start <= last_start:
        starts.append(start)
        start += step
    return starts


def _changing_block_starts(
    day: date, block: WeeklyBlock, duration: timedelta, step: timedelta, zone: tzinfo
) -> list[datetime]:
    wall = datetime.combine(day, block.start)
    wall_end = datetime.combine(day, block.end)
    latest_end = _block_end_utc(wall_end, zone)
    starts = []
    while wall < wall_end:
        start = _wall_start_utc(wall, zone)
        if start is not None:
            # A slot across a DST jump keeps its real length; its wall-clock end shifts by the jump.
            if start + duration > latest_end:
                break  # later wall-clock starts are later instants, so none of them fits either
            starts.append(start.replace(tzinfo=_UTC))
        wall += step
    return starts


def _wall_start_utc(wall: datetime, zone: tzinfo) -> datetime | None:
    """Naive UTC instant of a wall-clock time (first occurrence); None if the clock skips it."""
    offset = zone.utcoffset(wall)
    # PEP 495: in a gap fold=0 takes the offset before the jump, fold=1 the larger one after it.
    if offset < zone.utcoffset(wall.replace(fold=1)):
        return None
    return wall - offset


def _block_end_utc(wall_end: datetime, zone: tzinfo) -> datetime:
    """Naive UTC instant when local time first reaches `wall_end`.

    In a repeated hour that is the first occurrence; for a time the clock skips, it is the
    moment of the jump.
    """
    before = zone.utcoffset(wall_end)
    after = zone.utcoffset(wall_end.replace(fold=1))
    if before >= after:
        return wall_end - before
    # The jump lies between the two readings of the skipped time; bisect for it (rare path).
    low, high = wall_end - after, wall_end - before
    while high - low > _ONE_MICROSECOND:
        middle = low + (high - low) // 2
        if middle.replace(tzinfo=_UTC).astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high
