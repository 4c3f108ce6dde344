"""Callers on the phone: the desk registers them (an email optional), answers the triage with
them (the questionnaire's own steps and rules), books them (a reason when there is no triage),
and corrects their details; patients change their own phone and email."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.booking.models import Appointment
from portal.extensions import db
from portal.notify.models import OutboxMessage
from portal.triage.models import AnswerChannel, TriageSubmission
from tests import factories
from tests.client import hidden_fields, logged_in
from tests.mailbox import links_in, messages_to
from tests.pages import text

SAFE = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "sex": "female", "age": "60",
        "dvt_signs": "no", "svt_signs": "no"}


def words(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def stored(model, **where) -> list:
    db.session.rollback()
    return list(db.session.scalars(select(model).filter_by(**where).order_by(model.id)))


def post_page(browser, page, **fields):
    """Submit the page's form (posted to the page itself) with its hidden fields and `fields`."""
    data = {**hidden_fields(page.get_data(as_text=True)), **fields}
    return browser.post(page.request.path, data={k: v for k, v in data.items() if v is not None})


def flashes(response) -> str:
    return " ".join(re.findall(r'class="notice notice-\w+"[^>]*>(.*?)</div>', text(response), re.S))


def phone_triage(browser, patient, answers: dict) -> object:
    """Answer every step of the phone triage for `patient` with `answers`; the last response."""
    response = browser.get(f"/desk/patients/{patient.id}/triage")
    assert response.status_code == 302
    while True:
        page = browser.get(response.headers["Location"])
        assert page.status_code == 200, page.status_code
        if "/triage/step/" not in page.request.path:
            return page
        response = post_page(browser, page, action="next", **answers)
        assert response.status_code == 302, words(response)


def register_caller(browser, **fields):
    page = browser.get("/desk/patients/new")
    data = {"name": "Rosa Caller", "date_of_birth-month": "4", "date_of_birth-day": "12",
            "date_of_birth-year": "1958", "phone": "(555) 010-3030", "preferred_contact": "phone", **fields}
    return post_page(browser, page, **data)


# --- registering a caller without email ---------------------------------------------------------

def test_a_caller_without_email_is_registered_with_no_account_and_no_mail(app):
    _, desk = logged_in(app, Role.DESK)
    response = register_caller(desk)
    assert response.status_code == 302
    [rosa] = stored(User, name="Rosa Caller")
    assert (rosa.email, rosa.preferred_contact, rosa.date_of_birth) == (None, "phone", date(1958, 4, 12))
    assert not rosa.has_online_account
    assert stored(OutboxMessage) == []
    record = desk.get(response.headers["Location"])
    assert "registered without an email" in flashes(record)
    assert "no online account until an email is added" in words(record)
    assert "Phone call" in words(record)
    # found by phone, as any patient
    search = desk.get("/desk/patients/")
    found = desk.post("/desk/patients/", data={**hidden_fields(search.get_data(as_text=True)), "q": "010 3030"})
    assert "Rosa Caller" in words(found)


def test_two_callers_without_email_do_not_clash(app):
    _, desk = logged_in(app, Role.DESK)
    assert register_caller(desk).status_code == 302
    assert register_caller(desk, name="Other Caller", phone="(555) 010-4040").status_code == 302
    assert [u.email for u in stored(User, role=Role.PATIENT)] == [None, None]


@pytest.mark.parametrize(("parts", "message"), [
    ({"date_of_birth-month": "2", "date_of_birth-day": "30", "date_of_birth-year": "1990"}, "there is no February 30"),
    ({"date_of_birth-month": "1", "date_of_birth-day": "5", "date_of_birth-year": str(date.today().year + 1)},
     "Date of birth cannot be in the future."),
    ({"date_of_birth-month": "", "date_of_birth-day": "5", "date_of_birth-year": "1990"}, "Please enter the month"),
    ({"date_of_birth-month": "3", "date_of_birth-day": "5", "date_of_birth-year": "90"}, "four digits"),
], ids=["february-30", "future", "no-month", "two-digit-year"])
def test_an_impossible_date_of_birth_registers_nobody(app, parts, message):
    _, desk = logged_in(app, Role.DESK)
    response = register_caller(desk, **parts)
    assert response.status_code == 400
    assert message in words(response)
    assert stored(User, role=Role.PATIENT) == []


def test_the_forms_ask_the_date_of_birth_as_month_day_and_year(app, client):
    page = client.get("/auth/register")
    assert 'name="date_of_birth-month"' in text(page) and 'type="date"' not in text(page)
    assert ">December</option>" in text(page)
    _, desk = logged_in(app, Role.DESK)
    assert 'name="date_of_birth-year"' in text(desk.get("/desk/patients/new"))


# --- the phone triage ----------------------------------------------------------------------------

def test_a_routine_phone_triage_is_stored_as_answered_by_the_desk_and_booking_opens(app):
    clerk, desk = logged_in(app, Role.DESK, name="Dana Desk")
    patient = factories.make_user(name="Rosa Caller")
    result = phone_triage(desk, patient, SAFE)
    assert "Triage done" in words(result)
    [submission] = stored(TriageSubmission, patient_id=patient.id)
    assert (submission.channel, submission.answered_by_id) == (AnswerChannel.DESK_PHONE, clerk.id)
    assert submission.urgency == "routine"
    [event] = stored(AuditEvent, action=AuditAction.TRIAGE_ANSWERED_BY_PHONE)
    assert (event.patient_id, event.user_id) == (patient.id, clerk.id)
    assert "answered by the desk by phone" in event.detail and "Dana Desk" in event.detail
    record = words(desk.get(f"/desk/patients/{patient.id}"))
    assert "answered by the desk by phone (asked by Dana Desk)" in record


def test_the_phone_triage_asks_the_questionnaires_own_questions(app):
    _, desk = logged_in(app, Role.DESK)
    patient = factories.make_user()
    first = desk.get(desk.get(f"/desk/patients/{patient.id}/triage").headers["Location"])
    shown = words(first)
    assert "Ask: Right now, or in the last 24 hours, have you had sudden shortness of breath" in shown
    missing = post_page(desk, first, action="next", pe_symptoms="no")
    assert missing.status_code == 400 and "Please answer this question." in words(missing)
    assert stored(TriageSubmission) == []


def test_an_emergency_tells_the_desk_to_say_call_911_and_closes_booking(app):
    factories.make_type()
    factories.make_clinician()
    _, desk = logged_in(app, Role.DESK)
    patient = factories.make_user(name="Eve Emergency")
    result = phone_triage(desk, patient, {**SAFE, "pe_symptoms": "yes"})
    shown = words(result)
    assert "Tell the caller: call 911 now" in shown
    assert "signs of a blood clot in the lungs" in shown
    assert "Booking is closed for Eve Emergency" in shown
    [submission] = stored(TriageSubmission, patient_id=patient.id)
    assert submission.emergency_open and submission.by_phone
    booking = words(desk.get(f"/desk/patients/{patient.id}/book"))
    assert "Nothing can be booked" in booking or "emergency" in booking.lower()


def test_an_urgent_answer_shows_the_24_hours(app):
    _, desk = logged_in(app, Role.DESK)
    patient = factories.make_user()
    shown = words(phone_triage(desk, patient, {**SAFE, "dvt_signs": "yes"}))
    assert "within 24 hours" in shown and "Book a time in the next 24 hours" in shown


def test_the_doctors_queue_and_case_say_the_desk_answered_by_phone(app):
    _, desk = logged_in(app, Role.DESK, name="Dana Desk")
    patient = factories.make_user()
    phone_triage(desk, patient, SAFE)
    [submission] = stored(TriageSubmission, patient_id=patient.id)
    _, doctor = logged_in(app, Role.DOCTOR)
    assert "answered by the desk by phone" in words(doctor.get("/queue/"))
    assert "by the desk by phone, asked by Dana Desk" in words(doctor.get(f"/queue/{submission.id}"))


def test_patients_and_doctors_cannot_use_the_phone_triage(app):
    patient = factories.make_user()
    for role in (Role.PATIENT, Role.DOCTOR):
        _, browser = logged_in(app, role)
        assert browser.get(f"/desk/patients/{patient.id}/triage/step/safety").status_code == 403


# --- booking without triage ----------------------------------------------------------------------

def test_the_desk_books_a_caller_without_triage_only_with_a_reason(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    clerk, desk = logged_in(app, Role.DESK)
    patient = factories.make_user()
    start = factories.local(factories.future_weekday(), 10)
    link = (f"/desk/patients/{patient.id}/book/confirm?type={visit.route}&start={start.isoformat()}"
            f"&clinician={clinician.id}")
    page = desk.get(link)
    assert page.status_code == 200
    refused = post_page_to(desk, page, link)
    assert refused.status_code in (400, 422) and "has not answered the triage questions" in words(refused)
    assert stored(Appointment) == []
    booked = post_page_to(desk, refused, link, override_reason="Doctor's follow-up")
    assert booked.status_code == 302
    [appointment] = stored(Appointment)
    assert appointment.override_list == ["no_triage"] and appointment.override_reason == "Doctor's follow-up"
    [event] = stored(AuditEvent, action=AuditAction.APPOINTMENT_TRIAGE_OVERRIDE)
    assert "booked without a triage" in event.detail and "Doctor's follow-up" in event.detail


def post_page_to(browser, page, url, **fields):
    data = {**hidden_fields(page.get_data(as_text=True)), **fields}
    return browser.post(url, data=data)


def test_an_overbook_without_triage_needs_the_reason_too(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    _, desk = logged_in(app, Role.DESK)
    patient = factories.make_user()
    page = desk.get(f"/desk/patients/{patient.id}/book")
    day = factories.future_weekday()
    fields = {"clinician_id": str(clinician.id), "appointment_type_id": str(visit.id), "day": day.isoformat(),
              "start_time": "10:00", "reason": "Squeeze in"}
    refused = post_page_to(desk, page, f"/desk/patients/{patient.id}/overbook", **fields)
    assert refused.status_code == 422 and "has not answered the triage questions" in words(refused)
    booked = post_page_to(desk, refused, f"/desk/patients/{patient.id}/overbook", **fields,
                          override_reason="Doctor's follow-up")
    assert booked.status_code == 302 and len(stored(Appointment)) == 1


def test_after_the_phone_triage_the_desk_books_without_a_reason(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    _, desk = logged_in(app, Role.DESK)
    patient = factories.make_user()
    phone_triage(desk, patient, SAFE)
    start = factories.local(factories.future_weekday(), 10)
    link = (f"/desk/patients/{patient.id}/book/confirm?type={visit.route}&start={start.isoformat()}"
            f"&clinician={clinician.id}")
    booked = post_page_to(desk, desk.get(link), link)
    assert booked.status_code == 302
    [appointment] = stored(Appointment)
    assert appointment.overrides is None


def test_a_patient_without_triage_is_sent_to_the_questions_before_any_time(app):
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in(app, Role.PATIENT)
    for path in ("/book/", "/book/confirm"):
        response = browser.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/triage/")
    assert browser.get("/book/slots.json").status_code == 409


def test_a_booking_for_a_caller_without_email_sends_nothing_and_says_so(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    _, desk = logged_in(app, Role.DESK)
    register_caller(desk)
    [rosa] = stored(User, name="Rosa Caller")
    phone_triage(desk, rosa, SAFE)
    start = factories.local(factories.future_weekday(), 10)
    link = (f"/desk/patients/{rosa.id}/book/confirm?type={visit.route}&start={start.isoformat()}"
            f"&clinician={clinician.id}")
    assert post_page_to(desk, desk.get(link), link).status_code == 302
    assert stored(OutboxMessage) == []
    assert [e.detail for e in stored(AuditEvent, action=AuditAction.MESSAGE_NOT_SENT)] == [
        "confirmation: the patient has no email address", "reminder: the patient has no email address"]


# --- editing details -----------------------------------------------------------------------------

def details_of(patient: User, **changes) -> dict:
    """The edit form as the desk finds it filled in for `patient`, with `changes`."""
    born = patient.date_of_birth
    return {"name": patient.name, "phone": patient.phone or "", "email": patient.email or "",
            "date_of_birth-month": str(born.month), "date_of_birth-day": str(born.day),
            "date_of_birth-year": str(born.year), "preferred_contact": patient.preferred_contact or "", **changes}


def test_the_desk_corrects_details_and_the_audit_names_the_fields_not_the_values(app):
    _, desk = logged_in(app, Role.DESK)
    patient = factories.make_user(name="Jon Smyth")
    page = desk.get(f"/desk/patients/{patient.id}/edit")
    assert page.status_code == 200
    assert 'value="Jon Smyth"' in text(page) and '<option value="1" selected>January</option>' in text(page)
    response = post_page(desk, page, **details_of(patient, name="John Smith", phone="(555) 010-7777"))
    assert response.status_code == 302
    [saved] = stored(User, id=patient.id)
    assert (saved.name, saved.phone, saved.date_of_birth) == ("John Smith", "(555) 010-7777", date(1960, 1, 1))
    [event] = stored(AuditEvent, action=AuditAction.DETAILS_CHANGED)
    assert event.detail.startswith("changed: name, phone")
    assert "John" not in event.detail and "7777" not in event.detail


def test_adding_an_email_opens_the_account_with_an_invitation(app):
    _, desk = logged_in(app, Role.DESK)
    register_caller(desk)
    [rosa] = stored(User, name="Rosa Caller")
    page = desk.get(f"/desk/patients/{rosa.id}/edit")
    response = post_page(desk, page, **details_of(rosa, email="Rosa@Example.com"))
    assert response.status_code == 302
    assert "invitation to choose a password" in flashes(desk.get(response.headers["Location"]))
    [invitation] = messages_to("rosa@example.com", "invitation")
    assert any(link.startswith("/auth/password/set/") for link in links_in(invitation))


def test_a_duplicate_email_changes_nothing_and_says_why(app):
    _, desk = logged_in(app, Role.DESK)
    factories.make_user(email="taken@example.com")
    patient = factories.make_user(name="Jon Smyth")
    page = desk.get(f"/desk/patients/{patient.id}/edit")
    response = post_page(desk, page, **details_of(patient, name="John Smith", email="TAKEN@example.com"))
    assert response.status_code == 400 and "Another account already has this email" in words(response)
    [saved] = stored(User, id=patient.id)
    assert saved.name == "Jon Smyth" and saved.email != "taken@example.com"
    assert stored(AuditEvent, action=AuditAction.DETAILS_CHANGED) == []


# --- a patient's own details ---------------------------------------------------------------------

def test_a_patient_changes_their_phone_at_once_and_their_email_once_confirmed(app, client):
    patient, browser = logged_in(app, Role.PATIENT, email="old@example.com")
    page = browser.get("/account/details")
    assert page.status_code == 200
    response = post_page(browser, page, phone="(555) 010-8888", email="new@example.com")
    assert response.status_code == 302
    [saved] = stored(User, id=patient.id)
    assert (saved.phone, saved.email) == ("(555) 010-8888", "old@example.com")
    [message] = messages_to("new@example.com", "email_change")
    [link] = [link for link in links_in(message) if link.startswith("/account/email/confirm/")]
    confirm = client.get(link)  # another browser, not logged in: the link is the key
    assert confirm.status_code == 200 and "new@example.com" in words(confirm)
    assert stored(User, id=patient.id)[0].email == "old@example.com"  # opening it changes nothing
    assert post_page_to(client, confirm, link).status_code == 400  # the button not pressed
    done = post_page_to(client, confirm, link, confirm="yes")
    assert done.status_code == 302
    assert stored(User, id=patient.id)[0].email == "new@example.com"
    assert client.get(link).status_code == 404  # used once
    assert client.get(link.replace("/account/email/confirm/", "/auth/password/set/")).status_code == 404


def test_a_patient_cannot_take_an_email_in_use(app):
    factories.make_user(email="taken@example.com")
    patient, browser = logged_in(app, Role.PATIENT)
    page = browser.get("/account/details")
    response = post_page(browser, page, phone=patient.phone, email="taken@example.com")
    assert response.status_code == 400 and "Another account already uses this email" in words(response)
    assert messages_to("taken@example.com", "email_change") == []
