"""The services behind callers: registering without email, the phone triage's submission,
booking without triage, and correcting details (on a real database)."""
from datetime import date

import pytest
from sqlalchemy import select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.auth.service import (
    EmailTaken,
    authenticate,
    find_user_by_email,
    register_patient,
    request_password_reset,
    update_patient_details,
)
from portal.booking.eligibility import Override
from portal.booking.service import ReasonRequired, TriageNotBookable, book_appointment
from portal.extensions import db
from portal.notify.models import OutboxMessage
from portal.triage import service as triage
from portal.triage.models import AnswerChannel
from tests import factories
from tests.factories import local

SAFE = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "dvt_signs": "no", "svt_signs": "no",
        "age": 60, "sex": "female"}


def caller(**fields) -> User:
    desk = factories.make_user(role=Role.DESK)
    return register_patient(**{"name": "Rosa Caller", "email": None, "date_of_birth": date(1958, 4, 12),
                               "phone": "(555) 010-3030", "password": None, "registered_by": desk, **fields})


def test_a_caller_without_email_has_no_way_to_log_in_and_gets_no_mail(app):
    rosa = caller(preferred_contact="text")
    assert (rosa.email, rosa.preferred_contact) == (None, "text")
    assert find_user_by_email("") is None and authenticate("", "anything") is None
    request_password_reset("")
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_registering_online_still_needs_an_email(app):
    with pytest.raises(ValueError):
        register_patient(name="Web Visitor", email=None, date_of_birth=date(1970, 1, 1), phone="(555) 010-1111",
                         password=None)


def phone_answers(patient: User, desk: User, answers: dict, *, emergency_only: bool = False):
    token = triage.save_answers(None, answers)
    return triage.submit(token, patient_id=patient.id, emergency_only=emergency_only, answered_by=desk)


def test_a_phone_emergency_closes_booking_for_everyone(app):
    visit, clinician = factories.make_type(), factories.make_clinician()
    desk, patient = factories.make_user(role=Role.DESK), factories.make_user()
    submission = phone_answers(patient, desk, {"pe_symptoms": "yes", "bleeding_vein": "no", "cold_pale_leg": "no"},
                               emergency_only=True)
    assert (submission.channel, submission.answered_by_id, submission.emergency_open) == (
        AnswerChannel.DESK_PHONE, desk.id, True)
    start = local(factories.future_weekday(), 10)
    for booked_by, reason in ((desk.id, "Doctor's follow-up"), (None, None)):
        with pytest.raises(TriageNotBookable, match="emergency"):
            book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                             start=start, booked_by_id=booked_by, override_reason=reason)


def test_answers_from_the_phone_must_belong_to_a_patient(app):
    desk = factories.make_user(role=Role.DESK)
    token = triage.save_answers(None, SAFE)
    with pytest.raises(ValueError):
        triage.submit(token, patient_id=None, answered_by=desk)


def test_staff_book_a_patient_without_triage_only_with_a_reason_stored_and_audited(app):
    visit, clinician = factories.make_type(), factories.make_clinician()
    desk, patient = factories.make_user(role=Role.DESK), factories.make_user()
    start = local(factories.future_weekday(), 10)
    with pytest.raises(ReasonRequired) as refused:
        book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                         start=start, booked_by_id=desk.id)
    assert refused.value.overrides == (Override.NO_TRIAGE,)
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=start, booked_by_id=desk.id, override_reason="Doctor's follow-up")
    assert appointment.override_list == ["no_triage"]
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.APPOINTMENT_TRIAGE_OVERRIDE))
    assert "booked without a triage (triage case none): Doctor's follow-up" in event.detail


def test_a_phone_triage_lets_staff_book_the_routed_visit_without_a_reason(app):
    visit, clinician = factories.make_type(), factories.make_clinician()
    desk, patient = factories.make_user(role=Role.DESK), factories.make_user()
    submission = phone_answers(patient, desk, SAFE)
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=local(factories.future_weekday(), 10), booked_by_id=desk.id)
    assert appointment.overrides is None and appointment.triage_submission_id == submission.id


def test_details_change_names_the_fields_and_a_taken_email_changes_nothing(app):
    desk = factories.make_user(role=Role.DESK)
    factories.make_user(email="taken@example.com")
    patient = factories.make_user(name="Jon Smyth")
    with pytest.raises(EmailTaken):
        update_patient_details(patient.id, by_user=desk, name="John Smith", email="Taken@Example.com")
    db.session.rollback()
    assert db.session.get(User, patient.id).name == "Jon Smyth"
    assert update_patient_details(patient.id, by_user=desk, name="John Smith", date_of_birth=date(1961, 2, 3),
                                  preferred_contact="mail") == ["name", "date_of_birth", "preferred_contact"]
    assert update_patient_details(patient.id, by_user=desk, name="John Smith") == []


def test_a_first_email_invites_and_a_changed_one_voids_the_old_links(app):
    desk = factories.make_user(role=Role.DESK)
    rosa = caller()
    update_patient_details(rosa.id, by_user=desk, email="rosa@example.com")
    [invitation] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    assert invitation.to_address == "rosa@example.com"
    update_patient_details(rosa.id, by_user=desk, email="rosa.new@example.com")
    from portal.auth.models import AccountToken
    from portal.database import utc_now
    assert all(token.expires_at <= utc_now() for token in db.session.scalars(select(AccountToken)))
