"""Benchmark: all free slots for all clinicians over 28 days, loading from the database included.

Seeds a clinic of 20 clinicians working 08:00-18:00 every day, then 5,000 active 15-minute
appointments spread over the 28 days, and times `free_slots_by_clinician` for a 30-minute visit
(three queries plus the pure engine) 20 times. Repeats at 2x and 4x the appointments to show
the growth. SQLite in a temporary file by default; with DATABASE_URL=postgresql+psycopg://...
it makes its own database on that server and drops it afterwards.

    .venv/bin/python bench/availability.py            # or: make bench
"""
import random
import statistics
import sys
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402
from portal import create_app  # noqa: E402
from portal.auth.models import Role, User  # noqa: E402
from portal.booking.models import Appointment, AppointmentType, Clinician, WorkingHours  # noqa: E402
from portal.booking.slots import free_slots_by_clinician  # noqa: E402
from portal.extensions import db  # noqa: E402

CLINICIANS = 20
DAYS = 28
BASE_APPOINTMENTS = 5_000
RUNS = 20
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
        quarter_starts += [(day_start + QUARTER * i).astimezone(timezone.utc) for i in range(40)]
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


def time_runs(appointment_type: AppointmentType, clinician_ids: list[int], first_day: date,
              now: datetime) -> list[float]:
    timings = []
    for run in range(RUNS + 1):
        db.session.expire_all()
        began = clock.perf_counter()
        slots = free_slots_by_clinician(appointment_type, clinician_ids, first_day=first_day,
                                        last_day=first_day + timedelta(days=DAYS - 1), zone=ZONE, now=now)
        if run:  # the first run warms SQLAlchemy's statement cache and is not counted
            timings.append((clock.perf_counter() - began) * 1000)
        db.session.rollback()
        assert len(slots) == CLINICIANS
    return timings


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
                timings = sorted(time_runs(appointment_type, clinician_ids, first_day, now))
                p95 = timings[int(0.95 * (len(timings) - 1))]
                print(f"{booked:>6} appointments: median {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms")
            db.engine.dispose()
    finally:
        remove()


if __name__ == "__main__":
    main()
