"""Check-in, no-show and attended; the front desk's overbook override; the append-only audit log."""
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import DatabaseError, IntegrityError

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role
from portal.booking.models import Appointment, AppointmentStatus
from portal.booking.service import (
    BookingPolicy,
    PatientAlreadyBooked,
    SlotUnavailable,
    StatusChangeRefused,
    book_appointment,
    cancel_appointment,
    change_status,
    reschedule_appointment,
)
from portal.extensions import db
from tests import factories
from tests.factories import CHICAGO, local


@pytest.fixture
def desk_setup(app):
    """A desk user, a triaged patient, a visit type and a clinician working 09:00-17:00 every day."""
    return (factories.make_user(role=Role.DESK), triaged(factories.make_user()), factories.make_type(),
            factories.make_clinician(hours={d: [(time(9), time(17))] for d in range(7)}), factories.future_weekday())


def triaged(patient):
    """A patient who answered the questions (general consult, routine): the desk books them without a reason."""
    factories.make_submission(patient)
    return patient


def book(patient, appointment_type, clinician, start, **kwargs):
    return book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=appointment_type.id,
                            start=start, **kwargs)


def appointment_events(*conditions) -> list[AuditEvent]:
    """The audit trail of appointments themselves (the messages queued about them aside)."""
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(~AuditEvent.action.startswith("message."), *conditions)
                                   .order_by(AuditEvent.id)))


def audit_actions() -> list[tuple[str, int | None]]:
    return [(e.action, e.appointment_id) for e in appointment_events()]


def test_check_in_only_on_the_day_then_attended(desk_setup):
    desk, patient, visit, clinician, day = desk_setup
    appointment = book(patient, visit, clinician, local(day, 10))
    with pytest.raises(StatusChangeRefused, match="only be checked in on the day"):
        change_status(appointment.id, "checked_in", by_user=desk, now=local(day - timedelta(days=1), 10))
    with pytest.raises(StatusChangeRefused, match="cannot be marked attended"):
        change_status(appointment.id, "fulfilled", by_user=desk, now=local(day, 10))

    checked_in = change_status(appointment.id, "checked_in", by_user=desk, now=local(day, 9, 50))
    assert checked_in.status == AppointmentStatus.CHECKED_IN and checked_in.checked_in_at == local(day, 9, 50)
    with pytest.raises(StatusChangeRefused, match="checked in, so it cannot be marked a no-show"):
        change_status(appointment.id, "noshow", by_user=desk, now=local(day, 11))
    assert change_status(appointment.id, "fulfilled", by_user=desk, now=local(day, 10, 30)).status == "fulfilled"
    assert [a for a, _ in audit_actions()] == [AuditAction.APPOINTMENT_BOOKED, AuditAction.APPOINTMENT_CHECKED_IN,
                                               AuditAction.APPOINTMENT_FULFILLED]


def test_no_show_only_after_the_start(desk_setup):
    desk, patient, visit, clinician, day = desk_setup
    appointment = book(patient, visit, clinician, local(day, 10))
    with pytest.raises(StatusChangeRefused, match="after the appointment's start"):
        change_status(appointment.id, "noshow", by_user=desk, now=local(day, 9, 59))
    assert change_status(appointment.id, "noshow", by_user=desk, now=local(day, 10, 20)).status == "noshow"
    with pytest.raises(StatusChangeRefused):
        change_status(appointment.id, "checked_in", by_user=desk, now=local(day, 10, 25))
    db.session.rollback()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.NOSHOW


def test_unknown_status_and_cancelled_appointments_are_refused(desk_setup):
    desk, patient, visit, clinician, day = desk_setup
    appointment = book(patient, visit, clinician, local(day, 10))
    with pytest.raises(StatusChangeRefused):
        change_status(appointment.id, "booked", by_user=desk, now=local(day, 10))
    cancel_appointment(appointment.id, by_user=desk, reason="Clinic closed")
    with pytest.raises(StatusChangeRefused, match="is canceled"):
        change_status(appointment.id, "checked_in", by_user=desk, now=local(day, 10))


def test_overbook_squeezes_in_with_a_reason_and_is_audited(desk_setup):
    desk, patient, visit, clinician, day = desk_setup
    book(patient, visit, clinician, local(day, 10))
    other = triaged(factories.make_user())
    with pytest.raises(SlotUnavailable):
        book(other, visit, clinician, local(day, 10), booked_by_id=desk.id)

    squeezed = book(other, visit, clinician, local(day, 10, 10), booked_by_id=desk.id,
                    overbook_reason="Bleeding vein, seen now", policy=BookingPolicy(zone=CHICAGO))
    assert squeezed.overbook and squeezed.overbook_reason == "Bleeding vein, seen now"
    events = appointment_events(AuditEvent.appointment_id == squeezed.id)
    assert [(e.action, e.user_id, e.patient_id) for e in events] == [
        (AuditAction.APPOINTMENT_OVERBOOKED, desk.id, other.id)]
    assert "Bleeding vein" in events[0].detail
    # the overbook does not relax the patient's own rule
    with pytest.raises(PatientAlreadyBooked):
        book(patient, visit, clinician, local(day, 10), overbook_reason="again", booked_by_id=desk.id)


def test_an_overbooked_time_is_not_offered_to_others(desk_setup):
    desk, patient, visit, clinician, day = desk_setup
    book(patient, visit, clinician, local(day, 11), booked_by_id=desk.id, overbook_reason="squeeze")
    with pytest.raises(SlotUnavailable):
        book(factories.make_user(), visit, clinician, local(day, 11))


def test_moves_and_cancellations_are_audited_with_who(desk_setup):
    desk, patient, visit, clinician, day = desk_setup
    appointment = book(patient, visit, clinician, local(day, 10))
    moved = reschedule_appointment(appointment.id, by_user=desk, new_start=local(day, 14))
    cancel_appointment(moved.id, by_user=desk, reason="Patient phoned")
    events = appointment_events()
    assert [(e.action, e.appointment_id, e.user_id) for e in events] == [
        (AuditAction.APPOINTMENT_BOOKED, appointment.id, patient.id),
        (AuditAction.APPOINTMENT_MOVED, moved.id, desk.id),
        (AuditAction.APPOINTMENT_CANCELLED, moved.id, desk.id)]
    assert events[2].detail == "Patient phoned" and events[2].patient_id == patient.id


def test_a_failed_booking_leaves_no_audit_row(desk_setup):
    _, patient, visit, clinician, day = desk_setup
    book(patient, visit, clinician, local(day, 10))
    with pytest.raises(SlotUnavailable):
        book(factories.make_user(), visit, clinician, local(day, 10))
    assert len(audit_actions()) == 1


def test_the_database_refuses_to_change_or_delete_audit_rows(desk_setup):
    _, patient, visit, clinician, day = desk_setup
    book(patient, visit, clinician, local(day, 10))
    with db.engine.connect() as connection:
        for statement in ("UPDATE audit_event SET action = 'tampered'", "DELETE FROM audit_event"):
            with pytest.raises(DatabaseError, match="append-only"):
                connection.execute(sa.text(statement))
            connection.rollback()
        if db.engine.dialect.name == "postgresql":
            with pytest.raises(DatabaseError, match="append-only"):
                connection.execute(sa.text("TRUNCATE audit_event CASCADE"))
            connection.rollback()
    assert [a for a, _ in audit_actions()] == [AuditAction.APPOINTMENT_BOOKED]


def test_the_orm_refuses_to_change_audit_rows(desk_setup):
    _, patient, visit, clinician, day = desk_setup
    book(patient, visit, clinician, local(day, 10))
    event = db.session.scalar(select(AuditEvent))
    event.detail = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_overbook_without_a_reason_is_refused_by_the_database(desk_setup):
    _, patient, visit, clinician, day = desk_setup
    db.session.add(Appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                               start_at=local(day, 10), end_at=local(day, 10, 30), status="booked", overbook=True))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_desk_moves_a_visit_whose_route_a_doctor_changed_since_only_with_a_reason(desk_setup):
    from portal.booking.service import ReasonRequired
    from portal.triage.service import record_review
    desk, patient, visit, clinician, day = desk_setup
    submission = factories.make_submission(patient)
    appointment = book(patient, visit, clinician, local(day, 10))
    assert appointment.triage_submission_id == submission.id  # the service links the triage it routes from
    record_review(submission.id, doctor=factories.make_user(role=Role.DOCTOR), new_route="sleep_study_referral",
                  reason="Snoring and apnoea reported at the phone call")
    with pytest.raises(ReasonRequired, match="other than the triage's route"):
        reschedule_appointment(appointment.id, by_user=desk, new_start=local(day, 14))
    moved = reschedule_appointment(appointment.id, by_user=desk, new_start=local(day, 14),
                                   override_reason="Consult first, sleep referral after")
    assert moved.start_at == local(day, 14) and moved.triage_submission_id == submission.id
    assert (moved.overrides, moved.override_reason) == ("route", "Consult first, sleep referral after")
