"""Schedule writes: a new version of a clinician's weekly hours, and time off.

Each write locks the clinician row like a booking does, so a booking never checks hours that
are being changed under it. Nothing here cancels an appointment: the desk is shown the ones a
change leaves outside the hours, to move them itself.
"""
import re
from datetime import date, datetime, time

from sqlalchemy import delete, select

from portal import audit
from portal.audit import AuditAction
from portal.auth.models import User
from portal.booking.availability import Interval, WeeklyBlock
from portal.booking.models import ACTIVE_STATUSES, Appointment, Clinician, TimeOff, WorkingHours
from portal.booking.slots import weekly_schedules
from portal.database import utc_now, write_transaction
from portal.dates import time_of_day
from portal.extensions import db

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_BLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*(?:-|–|to)\s*(\d{1,2})[:.](\d{2})\s*$")


class ScheduleError(ValueError):
    """A schedule change that cannot be made; the message says why."""


def parse_day_blocks(text: str, weekday: int) -> list[tuple[time, time]]:
    """'08:30-12:00, 13:00-17:00' -> blocks in order; '' -> not working. Raises ScheduleError."""
    blocks = []
    for part in filter(None, (p.strip() for p in re.split(r"[,;]", text or ""))):
        match = _BLOCK.match(part)
        if not match:
            raise ScheduleError(f"{WEEKDAYS[weekday]}: write hours like 08:30-12:00, 13:00-17:00.")
        h1, m1, h2, m2 = map(int, match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ScheduleError(f"{WEEKDAYS[weekday]}: {part} is not a time of day.")
        start, end = time(h1, m1), time(h2, m2)
        if end <= start:
            raise ScheduleError(f"{WEEKDAYS[weekday]}: {part} ends before it starts.")
        blocks.append((start, end))
    blocks.sort()
    for (_, first_end), (second_start, _) in zip(blocks, blocks[1:], strict=False):
        if second_start < first_end:
            raise ScheduleError(f"{WEEKDAYS[weekday]}: the blocks overlap.")
    return blocks


def _lock_clinician(clinician_id: int) -> Clinician:
    clinician = db.session.scalar(select(Clinician).where(Clinician.id == clinician_id).with_for_update())
    if clinician is None:
        raise ScheduleError("That clinician was not found.")
    return clinician


def set_weekly_hours(clinician_id: int, *, effective_from: date, hours: dict[int, list[tuple[time, time]]],
                     by_user: User) -> None:
    """Make (or replace) the version of the weekly hours that holds from `effective_from`."""
    with write_transaction():
        clinician = _lock_clinician(clinician_id)
        db.session.execute(delete(WorkingHours).where(WorkingHours.clinician_id == clinician_id,
                                                      WorkingHours.effective_from == effective_from))
        db.session.add_all([WorkingHours(clinician_id=clinician_id, weekday=day, effective_from=effective_from,
                                         start_time=start, end_time=end)
                            for day, blocks in hours.items() for start, end in blocks])
        described = "; ".join(f"{WEEKDAYS[day][:3]} " + ", ".join(f"{time_of_day(s)}–{time_of_day(e)}"
                                                                 for s, e in blocks)
                              for day, blocks in sorted(hours.items()) if blocks) or "not working"
        audit.record(AuditAction.SCHEDULE_CHANGED, user_id=by_user.id,
                     detail=f"{clinician.display_name} from {effective_from.isoformat()}: {described}")


def add_time_off(clinician_id: int, *, start: datetime, end: datetime, reason: str, by_user: User,
                 now: datetime | None = None) -> TimeOff:
    """Time off from `start` to `end`; refused when it ends before it starts or has already ended
    (a mistyped year, such as 2020, would otherwise be saved and change nothing)."""
    if end <= start:
        raise ScheduleError("The time off must end after it starts.")
    if end <= (now or utc_now()):
        raise ScheduleError("That time off has already ended. Please give days from today on.")
    with write_transaction():
        clinician = _lock_clinician(clinician_id)
        time_off = TimeOff(clinician_id=clinician_id, start_at=start, end_at=end, reason=reason.strip()[:200])
        db.session.add(time_off)
        audit.record(AuditAction.TIME_OFF_ADDED, user_id=by_user.id,
                     detail=f"{clinician.display_name}: {start.isoformat()} to {end.isoformat()} {reason}".strip())
    return time_off


def remove_time_off(time_off_id: int, *, by_user: User) -> None:
    with write_transaction():
        time_off = db.session.get(TimeOff, time_off_id)
        if time_off is None:
            raise ScheduleError("That time off was not found.")
        clinician = _lock_clinician(time_off.clinician_id)
        audit.record(AuditAction.TIME_OFF_REMOVED, user_id=by_user.id,
                     detail=f"{clinician.display_name}: {time_off.start_at.isoformat()} to "
                            f"{time_off.end_at.isoformat()} {time_off.reason}".strip())
        db.session.delete(time_off)


def appointments_outside_hours(clinician_id: int, zone, *, since: datetime) -> list[Appointment]:
    """Active appointments from `since` on that the clinician's hours or time off no longer cover:
    the ones the desk should move after a schedule change."""
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.clinician_id == clinician_id, Appointment.status.in_(ACTIVE_STATUSES),
                                  Appointment.end_at > since).order_by(Appointment.start_at)).all()
    if not appointments:
        return []
    schedule = weekly_schedules([clinician_id])[clinician_id]
    time_off = [Interval(t.start_at, t.end_at) for t in db.session.scalars(
        select(TimeOff).where(TimeOff.clinician_id == clinician_id, TimeOff.end_at > since))]
    return [a for a in appointments
            if not _covered(a, schedule.blocks_on(a.start_at.astimezone(zone).date()), zone)
            or any(t.start < a.end_at and a.start_at < t.end for t in time_off)]


def _covered(appointment: Appointment, blocks: tuple[WeeklyBlock, ...], zone) -> bool:
    start, end = appointment.start_at.astimezone(zone), appointment.end_at.astimezone(zone)
    return any(block.weekday == start.weekday() and block.start <= start.time() and end.time() <= block.end
               and start.date() == end.date() for block in blocks)
