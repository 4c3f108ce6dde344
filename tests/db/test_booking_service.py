"""The booking service's rules, one at a time, on a real database."""
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from portal.booking.models import Appointment, AppointmentStatus
from portal.booking.service import (
    AppointmentNotChangeable,
    BookingError,
    NotBookable,
    PatientAlreadyBooked,
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from portal.extensions import db
from tests import factories
from tests.factories import local


@pytest.fixture
def setup(app):
    """A patient, a 30-minute visit type and a clinician working 09:00-12:00 and 13:00-17:00."""
    hours = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}
    return (factories.make_user(), factories.make_type(minutes=30), factories.make_clinician(hours=hours),
            factories.future_weekday())


def book(patient, appointment_type, clinician, start, **kwargs):
    return book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                            appointment_type_id=appointment_type.id, start=start, **kwargs)


def test_books_a_free_slot(setup):
    patient, appointment_type, clinician, day = setup
    appointment = book(patient, appointment_type, clinician, local(day, 9, 30))
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.start_at == local(day, 9, 30)
    assert appointment.end_at - appointment.start_at == timedelta(minutes=30)
    assert appointment.start_at.tzinfo is not None


@pytest.mark.parametrize("hour, minute", [(8, 30), (12, 0), (12, 30), (16, 45), (17, 0), (9, 10)])
def test_refuses_times_outside_working_hours_or_off_the_grid(setup, hour, minute):
    patient, appointment_type, clinician, day = setup
    with pytest.raises(NotBookable, match="outside the clinician's working hours"):
        book(patient, appointment_type, clinician, local(day, hour, minute))
    assert db.session.scalar(select(Appointment)) is None


def test_refuses_the_past_and_too_short_notice(setup):
    patient, appointment_type, clinician, day = setup
    with pytest.raises(NotBookable, match="passed or is too soon"):
        book(patient, appointment_type, clinician, local(day, 10), now=local(day, 10, 30))
    with pytest.raises(NotBookable, match="passed or is too soon"):
        book(patient, appointment_type, clinician, local(day, 10), now=local(day, 9, 30))  # 60 min notice


def test_refuses_beyond_the_horizon(setup):
    patient, appointment_type, clinician, day = setup
    with pytest.raises(NotBookable, match="too far ahead"):
        book(patient, appointment_type, clinician, local(day, 10), now=local(day, 10) - timedelta(days=91))


def test_refuses_time_off(setup):
    patient, appointment_type, clinician, day = setup
    factories.make_time_off(clinician, local(day, 9), local(day, 11))
    with pytest.raises(NotBookable):
        book(patient, appointment_type, clinician, local(day, 10, 30))
    assert book(patient, appointment_type, clinician, local(day, 11)).start_at == local(day, 11)


def test_a_taken_slot_is_reported_as_taken(setup):
    patient, appointment_type, clinician, day = setup
    book(patient, appointment_type, clinician, local(day, 10))
    with pytest.raises(SlotUnavailable, match="just taken"):
        book(factories.make_user(), appointment_type, clinician, local(day, 10))


def test_an_overlapping_longer_appointment_blocks_the_slots_it_covers(setup):
    patient, appointment_type, clinician, day = setup
    scan = factories.make_type(route="vascular_ultrasound", minutes=45)
    book(patient, scan, clinician, local(day, 9))  # 09:00-09:45
    other = factories.make_user()
    with pytest.raises(SlotUnavailable):
        book(other, appointment_type, clinician, local(day, 9, 30))
    assert book(other, appointment_type, clinician, local(day, 10)).start_at == local(day, 10)


def test_a_patient_cannot_be_in_two_places_at_once(setup):
    patient, appointment_type, clinician, day = setup
    other_clinician = factories.make_clinician()
    book(patient, appointment_type, clinician, local(day, 10))
    with pytest.raises(PatientAlreadyBooked):
        book(patient, appointment_type, other_clinician, local(day, 10))
    with pytest.raises(PatientAlreadyBooked):  # overlapping, not equal: a 45-minute scan 09:45-10:30
        book(patient, factories.make_type(route="vascular_ultrasound", minutes=45), other_clinician,
             local(day, 9, 45))


def test_inactive_clinician_is_not_bookable(setup):
    patient, appointment_type, clinician, day = setup
    clinician.active = False
    db.session.commit()
    with pytest.raises(NotBookable):
        book(patient, appointment_type, clinician, local(day, 10))


def test_same_idempotency_key_returns_the_first_booking(setup):
    patient, appointment_type, clinician, day = setup
    first = book(patient, appointment_type, clinician, local(day, 10), idempotency_key="k" * 32)
    again = book(patient, appointment_type, clinician, local(day, 10), idempotency_key="k" * 32)
    assert again.id == first.id
    assert len(db.session.scalars(select(Appointment)).all()) == 1


def test_another_patients_idempotency_key_is_refused(setup):
    patient, appointment_type, clinician, day = setup
    book(patient, appointment_type, clinician, local(day, 10), idempotency_key="k" * 32)
    with pytest.raises(BookingError):
        book(factories.make_user(), appointment_type, clinician, local(day, 11), idempotency_key="k" * 32)


def test_naive_datetimes_are_refused(setup):
    patient, appointment_type, clinician, day = setup
    with pytest.raises(ValueError):
        book(patient, appointment_type, clinician, datetime.combine(day, time(10)))


def test_cancel_keeps_the_row_with_who_when_and_why(setup):
    patient, appointment_type, clinician, day = setup
    appointment = book(patient, appointment_type, clinician, local(day, 10))
    cancel_appointment(appointment.id, by_user=patient, reason="Feeling better")
    db.session.expire_all()
    kept = db.session.get(Appointment, appointment.id)
    assert kept.status == AppointmentStatus.CANCELLED
    assert kept.cancellation_reason == "Feeling better"
    assert kept.cancelled_by_id == patient.id and kept.cancelled_at is not None
    # and the slot is free again
    assert book(factories.make_user(), appointment_type, clinician, local(day, 10)).start_at == local(day, 10)


def test_cancel_twice_is_refused_and_changes_nothing(setup):
    patient, appointment_type, clinician, day = setup
    appointment = book(patient, appointment_type, clinician, local(day, 10))
    cancel_appointment(appointment.id, by_user=patient, reason="first")
    with pytest.raises(AppointmentNotChangeable):
        cancel_appointment(appointment.id, by_user=patient, reason="second")
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).cancellation_reason == "first"


def test_a_patient_cannot_cancel_someone_elses_appointment(setup):
    patient, appointment_type, clinician, day = setup
    appointment = book(patient, appointment_type, clinician, local(day, 10))
    with pytest.raises(AppointmentNotChangeable):
        cancel_appointment(appointment.id, by_user=factories.make_user(), reason="mischief")
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.BOOKED


def test_reschedule_moves_atomically(setup):
    patient, appointment_type, clinician, day = setup
    old = book(patient, appointment_type, clinician, local(day, 10))
    new = reschedule_appointment(old.id, by_user=patient, new_start=local(day, 14))
    db.session.expire_all()
    assert db.session.get(Appointment, old.id).status == AppointmentStatus.CANCELLED
    assert new.status == AppointmentStatus.BOOKED and new.rescheduled_from_id == old.id
    assert new.start_at == local(day, 14)


def test_reschedule_to_an_overlapping_time_of_its_own_works(setup):
    patient, appointment_type, clinician, day = setup
    scan = factories.make_type(route="vascular_ultrasound", minutes=45)
    old = book(patient, scan, clinician, local(day, 9))  # 09:00-09:45
    new = reschedule_appointment(old.id, by_user=patient, new_start=local(day, 9, 45))
    assert new.start_at == local(day, 9, 45)


def test_failed_reschedule_leaves_the_old_appointment_booked(setup):
    patient, appointment_type, clinician, day = setup
    old = book(patient, appointment_type, clinician, local(day, 10))
    book(factories.make_user(), appointment_type, clinician, local(day, 14))
    with pytest.raises(SlotUnavailable):
        reschedule_appointment(old.id, by_user=patient, new_start=local(day, 14))
    with pytest.raises(NotBookable):
        reschedule_appointment(old.id, by_user=patient, new_start=local(day, 12, 30))  # lunch
    db.session.expire_all()
    active = db.session.scalars(select(Appointment).where(Appointment.patient_id == patient.id)).all()
    assert [(a.id, a.status) for a in active] == [(old.id, AppointmentStatus.BOOKED)]


def test_started_appointments_cannot_be_moved_or_cancelled(setup):
    patient, appointment_type, clinician, day = setup
    appointment = book(patient, appointment_type, clinician, local(day, 10))
    later = local(day, 10, 5).astimezone(UTC)
    with pytest.raises(AppointmentNotChangeable, match="already started"):
        cancel_appointment(appointment.id, by_user=patient, reason="late", now=later)
    with pytest.raises(AppointmentNotChangeable):
        reschedule_appointment(appointment.id, by_user=patient, new_start=local(day, 14), now=later)


def test_a_clinician_is_booked_only_for_the_visits_they_give(setup):
    patient, appointment_type, clinician, day = setup
    sonographer = factories.make_clinician(name="Sono Grapher")
    sonographer.appointment_types = [factories.make_type(route="vascular_ultrasound", minutes=45)]
    db.session.commit()
    with pytest.raises(NotBookable, match="Sono Grapher does not give this kind of visit"):
        book(patient, appointment_type, sonographer, local(day, 10))
    assert db.session.scalar(select(Appointment)) is None


def test_any_clinician_slots_come_only_from_clinicians_who_give_the_visit(setup):
    from portal.booking.slots import open_slots
    _, appointment_type, clinician, day = setup
    sonographer = factories.make_clinician(name="Sono Grapher")
    scan = factories.make_type(route="vascular_ultrasound", minutes=45)
    clinician.appointment_types = [appointment_type]
    sonographer.appointment_types = [scan]
    db.session.commit()
    slots = open_slots(appointment_type, first_day=day, last_day=day, zone=factories.CHICAGO,
                       now=local(day, 0))
    assert slots and {ids for slot in slots for ids in slot.clinician_ids} == {clinician.id}
    # asking for the sonographer by id still only gives clinicians who give this visit
    assert open_slots(appointment_type, first_day=day, last_day=day, zone=factories.CHICAGO, now=local(day, 0),
                      clinician_id=sonographer.id) == slots


def test_a_new_version_of_the_weekly_hours_applies_from_its_date(setup):
    from portal.booking.models import WorkingHours
    from portal.booking.slots import open_slots
    patient, appointment_type, clinician, day = setup
    # From `day` on, this clinician works afternoons only (13:00-15:00), every day.
    db.session.add_all([WorkingHours(clinician_id=clinician.id, weekday=d, effective_from=day,
                                     start_time=time(13), end_time=time(15)) for d in range(7)])
    db.session.commit()
    before, after = day - timedelta(days=1), day
    slots = open_slots(appointment_type, first_day=before, last_day=after, zone=factories.CHICAGO,
                       now=local(before, 0))
    starts = [s.start.astimezone(factories.CHICAGO).strftime("%a %H:%M") for s in slots]
    assert starts[0] == local(before, 9).strftime("%a %H:%M")  # the old week: 09:00-12:00, 13:00-17:00
    assert [s for s in starts if s.startswith(after.strftime("%a"))] == [
        local(after, h, m).strftime("%a %H:%M") for h, m in ((13, 0), (13, 30), (14, 0), (14, 30))]
    with pytest.raises(NotBookable):
        book(patient, appointment_type, clinician, local(after, 10))
    assert book(patient, appointment_type, clinician, local(after, 13, 30)).start_at == local(after, 13, 30)
