"""Benchmark: all free slots for all clinicians over 28 days, loading from the database included.

Seeds a clinic of 20 clinicians working 08:00-18:00 every day, then 5,000 active 15-minute
appointments spread over the 28 days, and times `free_slots_by_clinician` for a 30-minute visit
(two queries plus the pure engine) 20 times. Repeats at 2x and 4x the appointments to show
the growth. SQLite in a temporary file by default; with DATABASE_URL=postgresql+psycopg://...
it makes its own database on that server and drops it afterwards.

Each run is paired with the yardstick, `plain_sweep`: the same rows read through the driver's
own cursor, sorted and swept with a plain loop, no validation, no daylight-saving care. Both must
give the same slots; the ratio of their medians is the engine's overhead (target: 1.3 or less).

    .venv/bin/python -m bench.availability            # or: make bench
"""
import random
import statistics
import sys
import time as clock
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.scratch_database import scratch_database
from portal import create_app
from portal.auth.models import Role, User
from portal.booking.models import Appointment, AppointmentType, Clinician, WorkingHours
from portal.booking.slots import free_slots_by_clinician
from portal.extensions import db

CLINICIANS = 20
DAYS = 28
BASE_APPOINTMENTS = 5_000
RUNS = 20
RATIO_TARGET = 1.3
ZONE = ZoneInfo("America/Chicago")
QUARTER = timedelta(minutes=15)


def seed_clinic(first_day: date) -> tuple[AppointmentType, list[int], dict[int, int], list[datetime]]:
    """Clinicians with hours and one patient each (whose visits then never overlap), and every
    quarter-hour start of the period."""
    follow_up = AppointmentType(route="general_consult", name="Consult", duration_minutes=30)
    db.session.add(follow_up)
    clinician_ids, patient_of = [], {}
    for n in range(CLINICIANS):
        user = User(email=f"clinician{n}@example.com", name=f"Clinician {n}", role=Role.DOCTOR, password_hash="x")
        clinician = Clinician(user=user, display_name=user.name, appointment_types=[follow_up], working_hours=[
            WorkingHours(weekday=day, start_time=time(8), end_time=time(18)) for day in range(7)])
        patient = User(email=f"patient{n}@example.com", name=f"Patient {n}", role=Role.PATIENT, password_hash="x")
        db.session.add_all([clinician, patient])
        db.session.flush()
        clinician_ids.append(clinician.id)
        patient_of[clinician.id] = patient.id
    db.session.commit()
    quarter_starts = []
    for offset in range(DAYS):
        day_start = datetime.combine(first_day + timedelta(days=offset), time(8), ZONE)
        quarter_starts += [(day_start + QUARTER * i).astimezone(UTC) for i in range(40)]
    return follow_up, clinician_ids, patient_of, quarter_starts


def add_appointments(count: int, appointment_type: AppointmentType, patient_of: dict[int, int],
                     free_quarters: list[tuple[int, datetime]]) -> None:
    """`count` more non-overlapping 15-minute appointments, bulk-inserted (seed data only:
    the booking service's one-at-a-time checks are what the race tests measure, not this)."""
    rows = []
    for _ in range(count):
        clinician_id, start = free_quarters.pop()
        rows.append({"patient_id": patient_of[clinician_id], "clinician_id": clinician_id,
                     "appointment_type_id": appointment_type.id, "start_at": start, "end_at": start + QUARTER,
                     "status": "booked"})
    db.session.execute(sa.insert(Appointment), rows)
    db.session.commit()


def plain_sweep(clinician_ids: list[int], first_day: date, days: int, duration: timedelta,
                now: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    """The yardstick: hours and busy time through the DBAPI cursor, then per clinician one sort and
    one sweep over the day's 08:00-18:00 grid (the bench's clinic has no daylight-saving change
    inside the 28 days, no time off and one version of hours, which is all this handles)."""
    sqlite = db.engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    ids = ", ".join(str(int(i)) for i in clinician_ids)
    since = datetime.combine(first_day, time(0), ZONE).astimezone(UTC)
    until = datetime.combine(first_day + timedelta(days=days), time(0), ZONE).astimezone(UTC)
    bounds = [until, since] if not sqlite else [f"{until:%Y-%m-%d %H:%M:%S.%f}", f"{since:%Y-%m-%d %H:%M:%S.%f}"]
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute(f"SELECT clinician_id, weekday, start_time, end_time FROM working_hours "  # nosec: ints only
                   f"WHERE clinician_id IN ({ids})")
    hours = defaultdict(dict)
    for clinician_id, weekday, start, end in cursor.fetchall():
        hours[clinician_id][weekday] = (time.fromisoformat(start), time.fromisoformat(end)) if sqlite else (start, end)
    cursor.execute(f"SELECT clinician_id, start_at, end_at FROM appointment WHERE clinician_id IN ({ids}) "  # nosec
                   f"AND status IN ('booked', 'checked_in') AND start_at < {mark} AND end_at > {mark}", bounds)
    busy = defaultdict(list)
    for clinician_id, start, end in cursor.fetchall():
        if sqlite:
            busy[clinician_id].append((datetime.fromisoformat(f"{start}+00:00"),
                                       datetime.fromisoformat(f"{end}+00:00")))
        else:
            busy[clinician_id].append((start.astimezone(UTC), end.astimezone(UTC)))
    earliest = now.astimezone(UTC)
    result = {}
    for clinician_id in clinician_ids:
        spans = sorted(busy[clinician_id])
        pointer, slots = 0, []
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            opens, closes = hours[clinician_id][day.weekday()]
            start = datetime.combine(day, opens, ZONE).astimezone(UTC)
            last = datetime.combine(day, closes, ZONE).astimezone(UTC) - duration
            while start <= last:
                end = start + duration
                while pointer < len(spans) and spans[pointer][1] <= start:
                    pointer += 1
                if start >= earliest and not (pointer < len(spans) and spans[pointer][0] < end):
                    slots.append((start, end))
                start = end
        result[clinician_id] = slots
    return result


def time_runs(appointment_type: AppointmentType, clinician_ids: list[int], first_day: date,
              now: datetime) -> tuple[list[float], list[float]]:
    """Timings of the engine and of the yardstick, run by turns; each pair must agree."""
    engine, plain = [], []
    duration = timedelta(minutes=appointment_type.duration_minutes)
    for run in range(RUNS + 1):
        db.session.expire_all()
        began = clock.perf_counter()
        slots = free_slots_by_clinician(appointment_type, clinician_ids, first_day=first_day,
                                        last_day=first_day + timedelta(days=DAYS - 1), zone=ZONE, now=now)
        middle = clock.perf_counter()
        expected = plain_sweep(clinician_ids, first_day, DAYS, duration, now)
        ended = clock.perf_counter()
        if run:  # the first run warms SQLAlchemy's statement cache and is not counted
            engine.append((middle - began) * 1000)
            plain.append((ended - middle) * 1000)
        db.session.rollback()
        assert slots == expected, "the engine and the plain sweep disagree"
    return engine, plain


def main() -> None:
    url, remove = scratch_database()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            first_day = date.today() + timedelta(days=1)
            now = datetime.combine(first_day, time(0), ZONE)
            appointment_type, clinician_ids, patient_of, quarter_starts = seed_clinic(first_day)
            free_quarters = [(c, s) for c in clinician_ids for s in quarter_starts]
            random.Random(20261125).shuffle(free_quarters)
            print(f"{db.engine.dialect.name}: {CLINICIANS} clinicians, {DAYS} days, {RUNS} runs each, "
                  f"Python {sys.version.split()[0]}", flush=True)
            booked = 0
            for factor in (1, 2, 4):
                add_appointments(BASE_APPOINTMENTS * factor - booked, appointment_type, patient_of, free_quarters)
                booked = BASE_APPOINTMENTS * factor
                engine, plain = (sorted(t) for t in time_runs(appointment_type, clinician_ids, first_day, now))
                p95 = engine[int(0.95 * (len(engine) - 1))]
                ratio = statistics.median(engine) / statistics.median(plain)
                print(f"{booked:>6} appointments: median {statistics.median(engine):6.1f} ms   p95 {p95:6.1f} ms   "
                      f"plain sweep {statistics.median(plain):6.1f} ms   ratio {ratio:4.2f} "
                      f"({'PASS' if ratio <= RATIO_TARGET else 'FAIL'}: target {RATIO_TARGET})", flush=True)
            db.engine.dispose()
    finally:
        remove()


if __name__ == "__main__":
    main()
