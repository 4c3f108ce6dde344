"""When the clinic answers its phone (CLINIC_PHONE_HOURS), read from a short text such as
"Mon-Fri 08:00-18:00; Sat 09:00-12:00": whether it is answered at a given local moment, and the
hours said the way people say them ("Monday to Friday, 8:00 AM to 6:00 PM").

Pure: plain values in and out, no Flask. The urgent page asks `is_open` at the clinic's local time
to decide whether "call us" can be the answer now, or the patient must be seen elsewhere today.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

__all__ = ["DAY_NAMES", "PhoneHours", "PhoneHoursError", "describe", "is_open", "parse_phone_hours"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_ABBREVIATIONS = {name[:3].lower(): number for number, name in enumerate(DAY_NAMES)}
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


class PhoneHoursError(ValueError):
    """The text cannot be read as phone hours; the message says which part and why."""


@dataclass(frozen=True)
class PhoneHours:
    """One run of opening hours: the same local times on each of `days` (0 = Monday)."""

    days: tuple[int, ...]
    opens: time
    closes: time  # time.max stands for 24:00 (open until midnight)

    def covers(self, moment: datetime) -> bool:
        now = moment.time().replace(tzinfo=None)
        return moment.weekday() in self.days and self.opens <= now < self.closes


def _day(word: str, part: str) -> int:
    number = _DAY_ABBREVIATIONS.get(word.strip().lower()[:3])
    if number is None or not DAY_NAMES[number].lower().startswith(word.strip().lower()):
        raise PhoneHoursError(f"{part!r}: {word.strip()!r} is not a day (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
    return number


def _days(text: str, part: str) -> tuple[int, ...]:
    """"Mon-Fri", "Sat", "Mon,Wed,Fri" or "Mon-Wed,Fri" as weekday numbers, in order."""
    days: list[int] = []
    for piece in text.split(","):
        if "-" in piece:
            first, last = (_day(word, part) for word in piece.split("-", 1))
            if last < first:
                raise PhoneHoursError(f"{part!r}: {piece.strip()!r} runs backwards (write Mon-Fri, not Fri-Mon)")
            days.extend(range(first, last + 1))
        else:
            days.append(_day(piece, part))
    return tuple(sorted(set(days)))


def _time(text: str, part: str) -> time:
    match = _TIME.match(text.strip())
    if not match:
        raise PhoneHoursError(f"{part!r}: {text.strip()!r} is not a time (use 24-hour HH:MM, such as 08:00)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24:
        if minutes:
            raise PhoneHoursError(f"{part!r}: {text.strip()!r} is after midnight")
        return time.max
    return time(hours, minutes)


def parse_phone_hours(text: str) -> tuple[PhoneHours, ...]:
    """Parts separated by ";", each days then one or more times ("Mon-Fri 08:00-12:00,13:00-17:00").
    Raises PhoneHoursError naming the part it cannot read."""
    runs: list[PhoneHours] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        days_text, _, times_text = part.partition(" ")
        if not times_text.strip():
            raise PhoneHoursError(f"{part!r}: give the days, a space, then the hours (such as Mon-Fri 08:00-18:00)")
        days = _days(days_text, part)
        for span in times_text.split(","):
            opens_text, dash, closes_text = span.partition("-")
            if not dash:
                raise PhoneHoursError(f"{part!r}: {span.strip()!r} needs an opening and a closing time (08:00-18:00)")
            opens, closes = _time(opens_text, part), _time(closes_text, part)
            if closes <= opens:
                raise PhoneHoursError(f"{part!r}: the phone must close after it opens")
            runs.append(PhoneHours(days=days, opens=opens, closes=closes))
    if not runs:
        raise PhoneHoursError("no phone hours given (such as Mon-Fri 08:00-18:00; Sat 09:00-12:00)")
    return tuple(runs)


def is_open(hours: tuple[PhoneHours, ...], local_moment: datetime) -> bool:
    """Is the phone answered at this moment, given in the clinic's own zone?"""
    return any(run.covers(local_moment) for run in hours)


def _clock(moment: time) -> str:
    if moment == time.max:
        return "midnight"
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _day_words(days: tuple[int, ...]) -> str:
    """(0, 1, 2, 3, 4) -> "Monday to Friday"; (0, 2) -> "Monday and Wednesday"."""
    if len(days) > 2 and days == tuple(range(days[0], days[-1] + 1)):
        return f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
    names = [DAY_NAMES[day] for day in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe(hours: tuple[PhoneHours, ...]) -> list[str]:
    """Each run as a line: "Monday to Friday, 8:00 AM to 6:00 PM"."""
    return [f"{_day_words(run.days)}, {_clock(run.opens)} to {_clock(run.closes)}" for run in hours]
