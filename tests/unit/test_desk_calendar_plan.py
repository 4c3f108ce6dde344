"""The desk's day plan (portal/desk/calendar.py) as domain code: plain rows in, a clinician's day
in time order out, with no request and no database (rows here are plain objects with the
attributes the plan reads)."""
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from portal.booking.availability import WeeklyBlock
from portal.booking.models import AppointmentStatus
from portal.desk.calendar import appointment_actions, plan_day

CHICAGO = ZoneInfo("America/Chicago")
DAY = date(2030, 3, 6)  # a Wednesday
MORNING = [WeeklyBlock(DAY.weekday(), time(9), time(12))]
CLINICIAN = SimpleNamespace(id=1, display_name="Dr Rivera")


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), CHICAGO).astimezone(UTC)


def visit(start: datetime, minutes: int = 30, status: str = AppointmentStatus.BOOKED) -> SimpleNamespace:
    return SimpleNamespace(id=1, start_at=start, end_at=start + timedelta(minutes=minutes), status=status)


def kinds(plan) -> list[tuple[str, str, str]]:
    return [(e.kind, f"{e.start.astimezone(CHICAGO):%H:%M}", f"{e.end.astimezone(CHICAGO):%H:%M}")
            for e in plan.entries]


def test_a_day_lists_free_time_around_its_appointments_in_order():
    plan = plan_day(DAY, CLINICIAN, blocks=MORNING, appointments=[visit(at(10))], time_off=[], zone=CHICAGO,
                    now=at(7, day=DAY - timedelta(days=1)))
    assert kinds(plan) == [("free", "09:00", "10:00"), ("appointment", "10:00", "10:30"), ("free", "10:30", "12:00")]
    assert (plan.appointment_count, plan.free_minutes, plan.over, plan.off_all_day) == (1, 150, False, False)


def test_a_cancelled_visit_is_listed_but_frees_its_time():
    plan = plan_day(DAY, CLINICIAN, blocks=MORNING, appointments=[visit(at(10), status=AppointmentStatus.CANCELLED)],
                    time_off=[], zone=CHICAGO, now=at(7, day=DAY - timedelta(days=1)))
    assert kinds(plan) == [("free", "09:00", "12:00"), ("appointment", "10:00", "10:30")]
    assert plan.appointment_count == 0


def test_time_off_all_day_leaves_no_free_time():
    off = SimpleNamespace(start_at=at(0), end_at=at(0, day=DAY + timedelta(days=1)), reason="Conference")
    plan = plan_day(DAY, CLINICIAN, blocks=MORNING, appointments=[], time_off=[off], zone=CHICAGO,
                    now=at(7, day=DAY - timedelta(days=1)))
    assert kinds(plan) == [("time_off", "00:00", "00:00")] and plan.off_all_day and plan.free_minutes == 0


def test_free_time_starts_at_the_next_five_minutes_and_now_is_marked():
    plan = plan_day(DAY, CLINICIAN, blocks=MORNING, appointments=[], time_off=[], zone=CHICAGO,
                    now=at(10, 2))
    assert kinds(plan) == [("now", "10:02", "10:02"), ("free", "10:05", "12:00")]
    later = plan_day(DAY, CLINICIAN, blocks=MORNING, appointments=[], time_off=[], zone=CHICAGO, now=at(13))
    assert later.over and later.free_minutes == 0


def test_the_buttons_fit_the_appointment_and_the_time():
    booked = visit(at(10))
    assert appointment_actions(booked, now=at(8), zone=CHICAGO) == (AppointmentStatus.CHECKED_IN, "move", "cancel")
    assert appointment_actions(booked, now=at(8, day=DAY - timedelta(days=1)), zone=CHICAGO) == ("move", "cancel")
    assert appointment_actions(booked, now=at(10, 15), zone=CHICAGO) == (AppointmentStatus.CHECKED_IN,
                                                                         AppointmentStatus.NOSHOW)
    checked_in = visit(at(10), status=AppointmentStatus.CHECKED_IN)
    assert appointment_actions(checked_in, now=at(10, 15), zone=CHICAGO) == (AppointmentStatus.FULFILLED,)
    assert appointment_actions(visit(at(10), status=AppointmentStatus.CANCELLED), now=at(8), zone=CHICAGO) == ()
