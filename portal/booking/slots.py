"""Free times from the database: loads hours, and busy time (appointments and time off) in one
query each, and hands them to the pure availability engine.

Busy time is read through the connection as plain rows, not ORM objects, with statements built
once at import: a week of a big clinic is thousands of rows (bench/README.md)."""
import gc
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select, type_coerce, union_all
from sqlalchemy.types import NullType

from portal.auth.models import User
from portal.booking.availability import Interval, WeeklyBlock, free_slots, merge_clinician_slots
from portal.booking.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentType,
    Clinician,
    SlotVersion,
    TimeOff,
    WorkingHours,
    clinician_appointment_type,
)
from portal.booking.slot_cache import kept_weeks
from portal.extensions import db


class Slot(NamedTuple):
    """A free time offered to a patient: when, and which clinicians can take it."""

    start: datetime
    end: datetime
    clinician_ids: tuple[int, ...]


def local_day_bounds(first_day: date, last_day: date, zone: ZoneInfo) -> Interval:
    """The UTC interval from local midnight of first_day to local midnight after last_day."""
    start = datetime.combine(first_day, time(0), zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return Interval(start, end)


@contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while thousands of rows and slots are made and kept.

    Those allocations otherwise trigger collections that rescan every object the process holds,
    which made the load grow faster than the number of rows and gave 3x outliers (bench/README.md).
    Nothing here forms reference cycles, so the collector misses nothing; it runs again after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _unprocessed(column):
    """A datetime column as the driver gives it, without a Python call per value: busy_intervals
    converts a whole result in one loop."""
    return type_coerce(column, NullType())


# No visit is longer than this: a visit type lasts at most 480 minutes (its CHECK constraint) and
# every appointment lasts as long as its type. It bounds the index range searched for the ones that
# touch a period: without it, every past appointment of each clinician was read (bench/README.md).
LONGEST_VISIT = timedelta(days=1)

_BUSY = union_all(
    select(Appointment.clinician_id, _unprocessed(Appointment.start_at), _unprocessed(Appointment.end_at)).where(
        Appointment.clinician_id.in_(bindparam("clinician_ids", expanding=True)),
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at < bindparam("until"), Appointment.start_at > bindparam("earliest_start"),
        Appointment.end_at > bindparam("since")),
    select(TimeOff.clinician_id, _unprocessed(TimeOff.start_at), _unprocessed(TimeOff.end_at)).where(
        TimeOff.clinician_id.in_(bindparam("clinician_ids", expanding=True)),
        TimeOff.start_at < bindparam("until"), TimeOff.end_at > bindparam("since")))


def busy_intervals(clinician_ids: Collection[int], period: Interval, *,
                   connection: Connection | None = None) -> dict[int, list[tuple[datetime, datetime]]]:
    """Active appointments and time off per clinician that touch `period`, as (start, end) pairs,
    read on `connection` (the request's own by default)."""
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    connection = connection or db.session.connection()
    rows = connection.execute(
        _BUSY, {"clinician_ids": list(clinician_ids), "since": period.start, "until": period.end,
                "earliest_start": period.start - LONGEST_VISIT}).all()
    if connection.dialect.name == "sqlite":
        parse = datetime.fromisoformat  # naive UTC text, as portal/database.py's UTCDateTime reads it
        for clinician_id, start, end in rows:
            busy[clinician_id].append((parse(start + "+00:00"), parse(end + "+00:00")))
    else:  # timestamptz, which the driver gives in UTC (portal/database.py sets each connection's zone)
        for clinician_id, start, end in rows:
            busy[clinician_id].append((start, end))
    return busy


@dataclass(frozen=True)
class WeeklySchedule:
    """A clinician's weekly hours over time: each version holds from its date until the next
    version's date (a version without a date holds from the start)."""

    versions: tuple[tuple[date | None, tuple[WeeklyBlock, ...]], ...] = ()

    def segments(self, first_day: date, last_day: date) -> list[tuple[date, date, tuple[WeeklyBlock, ...]]]:
        """The days from first_day to last_day cut where the hours change, each with its blocks."""
        cuts = []
        for index, (since, blocks) in enumerate(self.versions):
            until = self.versions[index + 1][0] - timedelta(days=1) if index + 1 < len(self.versions) else last_day
            start = max(first_day, since or first_day)
            end = min(last_day, until)
            if start <= end:
                cuts.append((start, end, blocks))
        return cuts

    def blocks_on(self, day: date) -> tuple[WeeklyBlock, ...]:
        return next((blocks for start, _, blocks in self.segments(day, day)), ())


_HOURS = select(WorkingHours.clinician_id, WorkingHours.effective_from, WorkingHours.weekday,
                WorkingHours.start_time, WorkingHours.end_time).where(
    WorkingHours.clinician_id.in_(bindparam("clinician_ids", expanding=True)))


def weekly_schedules(clinician_ids: Collection[int], *, connection: Connection | None = None
                     ) -> dict[int, WeeklySchedule]:
    """Every version of each clinician's weekly hours, in one query (on `connection`, the request's
    own by default)."""
    by_version: dict[int, dict[date | None, list[WeeklyBlock]]] = defaultdict(lambda: defaultdict(list))
    rows = (connection or db.session.connection()).execute(_HOURS, {"clinician_ids": list(clinician_ids)})
    for clinician_id, since, weekday, start, end in rows:
        by_version[clinician_id][since].append(WeeklyBlock(weekday, start, end))
    return defaultdict(WeeklySchedule, {
        clinician_id: WeeklySchedule(tuple(sorted(
            ((since, tuple(blocks)) for since, blocks in versions.items()),
            key=lambda version: version[0] or date.min)))
        for clinician_id, versions in by_version.items()})


# The clinicians taking bookings (Clinician.takes_bookings: the record and the account both active)
# who give a visit type (:type_id), in id order; pages add the columns they show.
OFFERING = (select(Clinician.id).join(clinician_appointment_type).join(User, User.id == Clinician.user_id)
            .where(Clinician.active, User.active,
                   clinician_appointment_type.c.appointment_type_id == bindparam("type_id"))
            .order_by(Clinician.id))


def clinician_ids_offering(appointment_type: AppointmentType) -> list[int]:
    """Active clinicians who give this kind of visit, in a stable order."""
    return list(db.session.connection().scalars(OFFERING, {"type_id": appointment_type.id}))


def free_slots_by_clinician(appointment_type: AppointmentType, clinician_ids: Collection[int], *,
                            first_day: date, last_day: date, zone: ZoneInfo, now: datetime,
                            notice: timedelta = timedelta(0),
                            connection: Connection | None = None) -> dict[int, list[Interval]]:
    """Every free slot of `appointment_type` for each clinician over the local days given."""
    period = local_day_bounds(first_day, last_day, zone)
    duration = timedelta(minutes=appointment_type.duration_minutes)
    with _collector_paused():
        schedules = weekly_schedules(clinician_ids, connection=connection)
        busy = busy_intervals(clinician_ids, period, connection=connection)
        return {
            clinician_id: [slot for start, end, blocks in schedules[clinician_id].segments(first_day, last_day)
                           for slot in free_slots(blocks, busy[clinician_id], duration=duration, first_day=start,
                                                  last_day=end, zone=zone, now=now, notice=notice)]
            for clinician_id in clinician_ids
        }


_VERSIONS = select(SlotVersion.clinician_id, SlotVersion.version).where(
    SlotVersion.clinician_id.in_(bindparam("clinician_ids", expanding=True)))


def open_slots(appointment_type: AppointmentType, *, first_day: date, last_day: date, zone: ZoneInfo,
               now: datetime, notice: timedelta = timedelta(0), clinician_id: int | None = None,
               latest_start: datetime | None = None, offering: Collection[int] | None = None) -> list[Slot]:
    """Free slots for one clinician, or for "any clinician" merged by time, from `now + notice`
    and starting no later than `latest_start` (the booking horizon) when given. `offering` is
    clinician_ids_offering, when the caller has read it already.

    The days' slots are computed once per version of the clinicians' busy time and hours
    (portal/booking/slot_cache.py); the moment is applied to them on every call. They are read on
    a connection of their own, which sees committed data only: a week computed from a transaction's
    own uncommitted writes would be kept for everyone, and wrong once that transaction rolled back."""
    offering = clinician_ids_offering(appointment_type) if offering is None else list(offering)
    clinician_ids = [clinician_id] if clinician_id in offering else offering
    with db.engine.connect() as committed:
        versions = dict(committed.execute(_VERSIONS, {"clinician_ids": clinician_ids}).all())

        def whole_days() -> tuple[list[Slot], list[datetime]]:
            by_clinician = free_slots_by_clinician(appointment_type, clinician_ids, first_day=first_day,
                                                   last_day=last_day, zone=zone, connection=committed,
                                                   now=local_day_bounds(first_day, first_day, zone).start)
            merged = [Slot(interval.start, interval.end, ids)
                      for interval, ids in merge_clinician_slots(by_clinician)]
            return merged, [slot.start for slot in merged]

        if all(clinician in versions for clinician in clinician_ids):
            key = (appointment_type.duration_minutes, first_day, last_day, zone.key,
                   tuple((clinician, versions[clinician]) for clinician in clinician_ids))
            slots, starts = kept_weeks().get_or_compute(key, whole_days)
        else:  # a clinician without a version (a row deleted by hand): no way to tell a change, not kept
            slots, starts = whole_days()
    first = bisect_left(starts, now + notice)
    last = len(starts) if latest_start is None else bisect_right(starts, latest_start)
    return slots[first:last]


def next_open_slots(appointment_type: AppointmentType, *, after: datetime, zone: ZoneInfo, now: datetime,
                    notice: timedelta, limit: int = 5, clinician_id: int | None = None,
                    search_days: int = 28, latest_start: datetime | None = None,
                    offering: Collection[int] | None = None) -> list[Slot]:
    """The first `limit` free slots starting at or after `after`, looking up to `search_days` ahead."""
    earliest = max(after, now + notice)
    first_day = earliest.astimezone(zone).date()
    found: list[Slot] = []
    if offering is None:
        offering = clinician_ids_offering(appointment_type)
    for week_start in range(0, search_days, 7):
        week_first = first_day + timedelta(days=week_start)
        slots = open_slots(appointment_type, first_day=week_first, last_day=week_first + timedelta(days=6),
                           zone=zone, now=earliest, clinician_id=clinician_id, latest_start=latest_start,
                           offering=offering)
        found.extend(slots)
        if len(found) >= limit:
            break
    return found[:limit]
