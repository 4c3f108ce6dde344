"""The slot picker's choices, pure: which day of a week the page opens on (?day=, or the first
day with free times) and how a day's times are grouped (morning, afternoon, evening in clinic
time). Works on anything with an aware `start`, so it needs neither Flask nor the database."""
from collections.abc import Sequence
from datetime import date, datetime, time
from itertools import groupby
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

# Where a day's times are split, in clinic time: morning before noon, evening from 5 pm.
NOON = time(12)
EVENING = time(17)
PARTS_OF_DAY = ("Morning", "Afternoon", "Evening")


class Timed(Protocol):
    @property
    def start(self) -> datetime: ...


T = TypeVar("T", bound=Timed)


def part_of_day(moment: time) -> str:
    """"Morning", "Afternoon" or "Evening" for a clinic wall-clock time."""
    if moment < NOON:
        return "Morning"
    return "Afternoon" if moment < EVENING else "Evening"


def times_of_day(slots: Sequence[T], zone: ZoneInfo) -> list[tuple[str, list[T]]]:
    """A day's times as people look for them: morning, afternoon and evening in clinic time, in
    that order, each in the order given, leaving out a part with no times."""
    parts: dict[str, list[T]] = {part: [] for part in PARTS_OF_DAY}
    for slot in slots:
        parts[part_of_day(slot.start.astimezone(zone).time())].append(slot)
    return [(part, times) for part, times in parts.items() if times]


def days_with_times(slots: Sequence[T], zone: ZoneInfo) -> list[tuple[date, list[tuple[str, list[T]]]]]:
    """Only the clinic days that have times (slots sorted by start), each split as times_of_day
    does: for a short list such as an urgent case's next 24 hours."""
    return [(day, times_of_day(list(day_slots), zone)) for day, day_slots in
            groupby(slots, key=lambda slot: slot.start.astimezone(zone).date())]


def first_day_with_times(days: Sequence[tuple[date, Sequence[T]]]) -> date:
    """The day a week page opens on: the first with free times, or the first of the week."""
    return next((day for day, slots in days if slots), days[0][0])


def chosen_day(asked: str, days: Sequence[tuple[date, Sequence[T]]]) -> tuple[date, bool]:
    """The day whose times a week page shows: the one ?day= asks for when it is a day of the
    week (an ISO date), else first_day_with_times. The flag is False when something was asked for
    that is not a day of this week (garbled, or another week), so the page can say why it shows
    another day; nothing asked for is not a mistake."""
    default = first_day_with_times(days)
    if not asked:
        return default, True
    try:
        day = date.fromisoformat(asked)
    except ValueError:
        return default, False
    return (day, True) if any(day == shown for shown, _ in days) else (default, False)
