"""Real threads against the real database: the booking invariants hold under concurrent requests.

Each thread runs in its own app context, so it has its own session and connection, as two
requests in two processes would. A barrier releases them together.
"""
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from portal.auth.models import User
from portal.booking import service
from portal.booking.models import ACTIVE_STATUSES, Appointment, AppointmentStatus
from portal.booking.service import SlotUnavailable, book_appointment, reschedule_appointment
from portal.extensions import db
from tests.db.conftest import THREADS
from tests.db.threads import run_at_once
from tests.factories import local

ROUNDS = 10


def run_together(app, jobs):
    """Run the jobs at once (tests/db/threads.py); return (results, errors) in job order, where
    the loser of a race counts as "taken" and an error is any other exception that escaped."""
    outcomes = run_at_once(app, jobs)
    results = ["taken" if isinstance(o, SlotUnavailable) else None if isinstance(o, Exception) else o
               for o in outcomes]
    return results, [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, SlotUnavailable)]


@pytest.fixture
def slow_check(monkeypatch):
    """Widen the gap between the overlap check and the insert, as a busy server would."""
    real = service._check_patient_free

    def slower(*args, **kwargs):
        real(*args, **kwargs)
        time.sleep(0.005)

    monkeypatch.setattr(service, "_check_patient_free", slower)


def active_count(**filters) -> int:
    db.session.rollback()  # a fresh read: the threads committed after this session's snapshot
    return db.session.scalar(select(func.count()).select_from(Appointment).filter_by(**filters)
                             .where(Appointment.status.in_(ACTIVE_STATUSES)))


def start_clean() -> None:
    """Cancel every active appointment, so the next round's patients hold no visit of the type
    (a patient holds one upcoming visit of each type, booking/eligibility.py)."""
    db.session.rollback()
    for appointment in db.session.scalars(select(Appointment).where(Appointment.status.in_(ACTIVE_STATUSES))).all():
        service.cancel_appointment(appointment.id, by_user=appointment.patient, reason="round over")


def book_job(clinic, patient, start, key=None, clinician=None):
    """A booking to run in a thread; ids are read here, since ORM objects belong to this thread's session."""
    ids = {"patient_id": patient.id, "clinician_id": (clinician or clinic.clinician).id,
           "appointment_type_id": clinic.appointment_type.id}
    return lambda: book_appointment(**ids, start=start, idempotency_key=key).id


@pytest.mark.slow
def test_thirty_threads_one_slot_exactly_one_wins_every_round(app, clinic, slow_check):
    for round_number in range(ROUNDS):
        start = local(clinic.day, 8 + round_number // 2, 30 * (round_number % 2))
        results, errors = run_together(app, [book_job(clinic, p, start) for p in clinic.patients])

        assert errors == []
        assert sum(isinstance(r, int) for r in results) == 1, f"round {round_number}: {results}"
        assert results.count("taken") == THREADS - 1
        assert active_count(clinician_id=clinic.clinician.id, start_at=start) == 1
        start_clean()


@pytest.mark.slow
def test_thirty_threads_thirty_slots_all_booked(app, clinic, slow_check):
    starts = [local(clinic.day, 8) + timedelta(minutes=30 * i) for i in range(THREADS // 2)]
    starts += [local(clinic.day + timedelta(days=1), 8) + timedelta(minutes=30 * i) for i in range(THREADS // 2)]
    results, errors = run_together(app, [book_job(clinic, p, s) for p, s in zip(clinic.patients, starts, strict=False)])

    assert errors == []
    assert all(isinstance(r, int) for r in results), results
    assert active_count(clinician_id=clinic.clinician.id) == THREADS


@pytest.mark.slow
def test_same_idempotency_key_ten_times_at_once_books_once(app, clinic):
    patient, start = clinic.patients[0], local(clinic.day, 11)
    results, errors = run_together(app, [book_job(clinic, patient, start, key="a" * 32) for _ in range(10)])

    assert errors == []
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert active_count(patient_id=patient.id) == 1


@pytest.mark.slow
def test_reschedule_racing_a_booking_into_the_target_slot(app, clinic, slow_check):
    mover, rival = clinic.patients[0], clinic.patients[1]
    for round_number in range(ROUNDS):
        original = book_appointment(patient_id=mover.id, clinician_id=clinic.clinician.id,
                                    appointment_type_id=clinic.appointment_type.id,
                                    start=local(clinic.day, 8) + timedelta(minutes=30 * round_number))
        target = local(clinic.day, 13) + timedelta(minutes=30 * round_number)
        original_id, mover_id = original.id, mover.id

        def move():
            return reschedule_appointment(original_id, by_user=db.session.get(User, mover_id), new_start=target).id
        results, errors = run_together(app, [move, book_job(clinic, rival, target)])

        assert errors == []
        assert sorted(map(str, results)).count("taken") == 1, results
        assert active_count(clinician_id=clinic.clinician.id, start_at=target) == 1
        # The mover holds exactly one active appointment: the old one or the new one, never both or none.
        db.session.rollback()
        mover_active = db.session.scalars(select(Appointment).where(
            Appointment.patient_id == mover.id, Appointment.status.in_(ACTIVE_STATUSES))).all()
        assert len(mover_active) == 1
        old = db.session.get(Appointment, original.id)
        if results[0] == "taken":
            assert old.status == AppointmentStatus.BOOKED
        else:
            assert old.status == AppointmentStatus.CANCELLED and mover_active[0].start_at == target
        start_clean()


@pytest.mark.slow
def test_same_patient_two_clinicians_same_time_at_once(app, clinic):
    patient, start = clinic.patients[0], local(clinic.day, 10)
    jobs = [book_job(clinic, patient, start, clinician=c) for c in (clinic.clinician, clinic.other_clinician)
            for _ in range(5)]
    results, errors = run_together(app, jobs)

    assert [type(e).__name__ for e in errors if not isinstance(e, service.PatientAlreadyBooked)] == []
    assert active_count(patient_id=patient.id) == 1


@pytest.mark.slow
def test_plain_check_then_insert_double_books(app, clinic, database_url):
    """The harness can see a double booking: a naive writer (no lock, no constraint) makes one."""
    engine = sa.create_engine(database_url, pool_size=THREADS + 5)  # plain driver behaviour, none of ours
    table = sa.Table("naive_booking", sa.MetaData(), sa.Column("clinician_id", sa.Integer),
                     sa.Column("start_at", sa.String(40)), sa.Column("patient_id", sa.Integer))
    table.create(engine)
    try:
        double_booked_rounds = 0
        for round_number in range(ROUNDS):
            start = f"round-{round_number}"

            def naive_book(patient_id):
                with engine.connect() as connection:
                    taken = connection.execute(select(func.count()).select_from(table).where(
                        table.c.clinician_id == 1, table.c.start_at == start)).scalar_one()
                    time.sleep(0.005)
                    if not taken:
                        connection.execute(table.insert().values(clinician_id=1, start_at=start, patient_id=patient_id))
                        connection.commit()
                return patient_id

            patient_ids = [p.id for p in clinic.patients]
            results, errors = run_together(app, [lambda p=p: naive_book(p) for p in patient_ids])
            assert errors == []
            with engine.connect() as connection:
                rows = connection.execute(select(func.count()).select_from(table).where(
                    table.c.start_at == start)).scalar_one()
            double_booked_rounds += rows > 1
        print(f"naive check-then-insert double-booked {double_booked_rounds} of {ROUNDS} rounds")
        assert double_booked_rounds >= 1
    finally:
        table.drop(engine)
        engine.dispose()
