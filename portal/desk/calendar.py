"""The desk calendar as domain code: each clinician's day laid out in time order (appointments,
time off, free time, now) and read in a fixed number of queries whatever the number of rows.

`plan_day` is pure (plain rows in, a DayPlan out); `calendar` loads a period for some clinicians
and plans each day. The views in calendar_views.py only choose the day and render.
"""
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.booking.availability import Interval, WeeklyBlock
from portal.booking.models import Appointment, AppointmentStatus, Clinician, TimeOff
from portal.booking.slots import local_day_bounds, weekly_schedules
from portal.extensions import db


@dataclass(frozen=True)
class CalendarEntry:
    """One line of a clinician's day: an appointment, free time, time off, or the current time."""

    kind: str  # "appointment", "free", "time_off" or "now"
    start: datetime
    end: datetime
    appointment: Appointment | None = None
    reason: str = ""
    whole_day: bool = False  # time off covering the whole day
    actions: tuple[str, ...] = ()  # what the desk may do to the appointment now

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class DayPlan:
    day: date
    clinician: Clinician
    working: tuple[Interval, ...]
    entries: tuple[CalendarEntry, ...]
    over: bool = False  # its working hours have all passed: free time no longer matters

    @property
    def appointment_count(self) -> int:
        return sum(1 for e in self.entries if e.kind == "appointment"
                   and e.appointment.status != AppointmentStatus.CANCELLED)

    @property
    def free_minutes(self) -> int:
        return sum(e.minutes for e in self.entries if e.kind == "free")

    @property
    def off_all_day(self) -> bool:
        return any(e.kind == "time_off" and e.whole_day for e in self.entries)


_ORDER = {"time_off": 0, "appointment": 1, "now": 2, "free": 3}


def appointment_actions(appointment: Appointment, *, now: datetime, zone: ZoneInfo) -> tuple[str, ...]:
    """The buttons that make sense for an appointment now; the service has the last word."""
    status = appointment.status
    actions = []
    if status == AppointmentStatus.BOOKED:
        if appointment.start_at.astimezone(zone).date() == now.astimezone(zone).date():
            actions.append(AppointmentStatus.CHECKED_IN)
        if now >= appointment.start_at:
            actions.append(AppointmentStatus.NOSHOW)
        if appointment.start_at > now:
            actions += ["move", "cancel"]
    elif status == AppointmentStatus.CHECKED_IN:
        actions.append(AppointmentStatus.FULFILLED)
    return tuple(actions)


def _subtract(span: Interval, busy: Sequence[Interval]) -> list[Interval]:
    """The parts of `span` that no busy interval covers (`busy` sorted by start)."""
    gaps, cursor = [], span.start
    for interval in busy:
        if interval.end <= cursor or interval.start >= span.end:
            continue
        if interval.start > cursor:
            gaps.append(Interval(cursor, interval.start))
        cursor = max(cursor, interval.end)
    if cursor < span.end:
        gaps.append(Interval(cursor, span.end))
    return gaps


def _next_five_minutes(moment: datetime) -> datetime:
    floor = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=5)


def plan_day(day: date, clinician: Clinician, *, blocks: Iterable[WeeklyBlock], appointments: Iterable[Appointment],
             time_off: Iterable[TimeOff], zone: ZoneInfo, now: datetime) -> DayPlan:
    """A clinician's day in time order: appointments (cancelled ones too), time off, and the free
    time left inside the working blocks from now on. Every appointment but a cancelled one takes
    up its time (a no-show's slot has passed anyway)."""
    bounds = local_day_bounds(day, day, zone)
    working = tuple(sorted(
        Interval(datetime.combine(day, block.start, zone).astimezone(UTC),
                 datetime.combine(day, block.end, zone).astimezone(UTC))
        for block in blocks if block.weekday == day.weekday()))
    appointments = list(appointments)
    entries = [CalendarEntry("appointment", a.start_at, a.end_at, appointment=a,
                             actions=appointment_actions(a, now=now, zone=zone)) for a in appointments]
    busy = [Interval(a.start_at, a.end_at) for a in appointments if a.status != AppointmentStatus.CANCELLED]
    for off in time_off:
        start, end = max(off.start_at, bounds.start), min(off.end_at, bounds.end)
        if start < end:
            entries.append(CalendarEntry("time_off", start, end, reason=off.reason,
                                         whole_day=(start, end) == (bounds.start, bounds.end)))
            busy.append(Interval(start, end))
    busy.sort()
    # Free time that has passed cannot be booked: free time starts at the next five minutes from now.
    bookable_from = _next_five_minutes(now)
    for block in working:
        entries += [CalendarEntry("free", max(gap.start, bookable_from), gap.end)
                    for gap in _subtract(block, busy) if gap.end > bookable_from]
    if entries and bounds.start <= now < bounds.end:
        entries.append(CalendarEntry("now", now, now))
    entries.sort(key=lambda e: (e.start, _ORDER[e.kind], e.appointment.id if e.appointment else 0))
    return DayPlan(day, clinician, working, tuple(entries), over=all(block.end <= now for block in working))


# --- reading the calendar (a fixed number of queries) --------------------------------------------

def active_clinicians() -> list[Clinician]:
    return list(db.session.scalars(
        select(Clinician).where(Clinician.active).order_by(Clinician.display_name, Clinician.id)))


def calendar(clinicians: Sequence[Clinician], first_day: date, last_day: date, *, zone: ZoneInfo,
             now: datetime) -> dict[int, list[DayPlan]]:
    """Each clinician's days from first_day to last_day, in three queries however many rows:
    weekly hours, time off, and appointments with their patient, visit type and triage."""
    ids = [c.id for c in clinicians]
    period = local_day_bounds(first_day, last_day, zone)
    schedules = weekly_schedules(ids)
    time_off = db.session.scalars(select(TimeOff).where(
        TimeOff.clinician_id.in_(ids), TimeOff.start_at < period.end, TimeOff.end_at > period.start)
        .order_by(TimeOff.start_at)).all()
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.clinician_id.in_(ids), Appointment.start_at < period.end,
                                  Appointment.end_at > period.start)
        .options(joinedload(Appointment.patient), joinedload(Appointment.appointment_type),
                 joinedload(Appointment.triage_submission), selectinload(Appointment.moved_to))
        .order_by(Appointment.start_at, Appointment.id)).all()
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    by_day: dict[tuple[int, date], list[Appointment]] = defaultdict(list)
    for appointment in appointments:
        by_day[appointment.clinician_id, appointment.start_at.astimezone(zone).date()].append(appointment)
    off_by_clinician: dict[int, list[TimeOff]] = defaultdict(list)
    for off in time_off:
        off_by_clinician[off.clinician_id].append(off)
    return {
        clinician.id: [plan_day(day, clinician, blocks=schedules[clinician.id].blocks_on(day),
                                appointments=by_day[clinician.id, day], time_off=off_by_clinician[clinician.id],
                                zone=zone, now=now) for day in days]
        for clinician in clinicians
    }
