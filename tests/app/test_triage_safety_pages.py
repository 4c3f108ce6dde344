"""Triage safety as the people who use the portal see it, through the test client with CSRF on:
the doctor records that an emergency was dealt with, the desk gives reasons when it books against
the triage, and the patient's pages never offer a booking the service would refuse.

The service-level rules, on both databases, are in tests/db/test_triage_safety.py.
"""
from datetime import UTC, datetime, time, timedelta

import pytest

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role
from portal.booking.models import Appointment, Route
from portal.booking.service import book_appointment
from portal.extensions import db
from portal.triage.models import TriageReview, TriageSubmission
from portal.triage.rules import evaluate_safety
from tests import factories
from tests.app.test_desk_patients import flashes, make_patient, overbook, stored, words
from tests.client import csrf_token, hidden_fields, logged_in
from tests.pages import slot_links, text

CLINIC_PHONE = "(555) 010-4477"


@pytest.fixture
def clinic(app):
    """Three visit types and one clinician who gives them all, 09:00-17:00 every day."""
    types = {route: factories.make_type(route) for route in Route}
    return types, factories.make_clinician(name="Dr Rivera")


def early_stop_emergency(patient) -> TriageSubmission:
    """Answers that stopped at the safety step: an emergency whose route is still to be set."""
    answers = {**factories.SAFE_ANSWERS, "pe_symptoms": "yes"}
    submission = TriageSubmission.from_outcome(answers, evaluate_safety(answers), patient_id=patient.id,
                                               complete=False)
    db.session.add(submission)
    db.session.commit()
    return submission


def patient_browser(app, patient):
    from tests.client import AuthActions
    email = patient.email
    db.session.rollback()
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


# --- the doctor ------------------------------------------------------------------------------------

def test_a_doctor_records_that_an_emergency_was_dealt_with_and_booking_opens(app, clinic):
    patient = make_patient("Frank Emergency")
    emergency = factories.make_submission(patient, "general_consult", "emergency")
    factories.make_submission(patient, "general_consult", "routine")  # answered again: still closed
    doctor, browser = logged_in(app, Role.DOCTOR)
    patient_page = patient_browser(app, patient)
    assert "Online booking is paused" in text(patient_page.get("/book/"))

    case = browser.get(f"/queue/{emergency.id}")
    assert "Emergency: not yet dealt with" in words(case) and "Save review" not in words(case)
    assert "Emergency not yet dealt with" in words(browser.get("/queue/"))

    blank = browser.post(f"/queue/{emergency.id}/emergency",
                         data={**hidden_fields(case.get_data(as_text=True)), "note": "  "})
    assert blank.status_code == 400 and "Please write what was done about the emergency" in words(blank)
    assert stored(TriageSubmission, id=emergency.id)[0].emergency_cleared_at is None

    done = browser.post(f"/queue/{emergency.id}/emergency",
                        data={**hidden_fields(case.get_data(as_text=True)), "note": "Seen in the ED: no clot"})
    assert done.status_code == 302
    page = browser.get(done.headers["Location"])
    assert "The patient can book again" in flashes(page)
    assert "recorded that the emergency was dealt with: “Seen in the ED: no clot”" in words(page)
    [review] = stored(TriageReview, submission_id=emergency.id)
    assert (review.action, review.reviewer_id, review.reason) == ("emergency_cleared", doctor.id,
                                                                  "Seen in the ED: no clot")
    assert [e.detail for e in stored(AuditEvent, action=AuditAction.TRIAGE_EMERGENCY_CLEARED)] == [
        f"case {emergency.id}: emergency dealt with: Seen in the ED: no clot"]

    week = patient_page.get("/book/")
    assert week.status_code == 200 and slot_links(week), "the routed visit can be booked again"
    assert "Online booking is paused" not in text(week)


def test_an_early_stop_shows_its_route_as_to_be_set_and_the_doctor_sets_it(app, clinic):
    patient = make_patient("Early Stop")
    emergency = early_stop_emergency(patient)
    assert emergency.route_provisional and emergency.result.route_provisional
    _, browser = logged_in(app, Role.DOCTOR)
    assert "Route to be set at review" in words(browser.get("/queue/"))
    case = browser.get(f"/queue/{emergency.id}")
    assert "To be set at review" in words(case)

    no_route = browser.post(f"/queue/{emergency.id}/emergency",
                            data={**hidden_fields(case.get_data(as_text=True)), "note": "ED visit, all clear"})
    assert no_route.status_code == 400 and "Please choose the route this patient needs now" in words(no_route)

    done = browser.post(f"/queue/{emergency.id}/emergency",
                        data={**hidden_fields(case.get_data(as_text=True)), "note": "ED visit, all clear",
                              "new_route": "vascular_ultrasound"})
    assert done.status_code == 302
    [stored_case] = stored(TriageSubmission, id=emergency.id)
    assert (stored_case.current_route, stored_case.route_provisional) == ("vascular_ultrasound", False)
    assert "Route to be set at review" not in words(browser.get("/queue/"))


def test_a_plain_review_cannot_close_an_open_emergency(app, clinic):
    patient = make_patient("Frank Emergency")
    emergency = factories.make_submission(patient, "general_consult", "emergency")
    _, browser = logged_in(app, Role.DOCTOR)
    case = browser.get(f"/queue/{emergency.id}")
    forged = browser.post(f"/queue/{emergency.id}", data={"csrf_token": csrf_token(text(case)), "reason": "ok"})
    assert forged.status_code == 400 and "First record that the emergency has been dealt with" in words(forged)
    assert stored(TriageReview, submission_id=emergency.id) == []


# --- the front desk --------------------------------------------------------------------------------

def test_the_desk_cannot_book_overbook_or_move_an_unreviewed_emergency(app, clinic):
    types, clinician = clinic
    patient = make_patient("Frank Emergency")
    day = factories.future_weekday()
    existing = book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                                appointment_type_id=types[Route.GENERAL_CONSULT].id,
                                start=factories.local(day, 9))
    emergency = factories.make_submission(patient, "general_consult", "emergency")
    _, browser = logged_in(app, Role.DESK)

    page = browser.get(f"/desk/patients/{patient.id}/book")
    assert (f"Booking is closed for Frank Emergency. Their answers were an emergency (case {emergency.id})"
            in words(page))
    assert not slot_links(page) and "/overbook" not in text(page)

    start = factories.local(day, 11).astimezone(UTC)
    confirm = browser.get(f"/desk/patients/{patient.id}/book/confirm?type=general_consult"
                          f"&start={start.isoformat().replace('+', '%2B')}&clinician={clinician.id}")
    assert "no doctor has yet recorded as dealt with" in words(confirm) and "Book this time" not in words(confirm)
    forged = browser.post(f"/desk/patients/{patient.id}/book/confirm?type=general_consult", data={
        **hidden_fields(confirm.get_data(as_text=True)), "start": start.isoformat(),
        "clinician_id": str(clinician.id), "idempotency_key": "a" * 32, "override_reason": "Patient insists"})
    assert forged.status_code == 422 and "Nothing was booked" in words(forged)

    squeezed = browser.post(f"/desk/patients/{patient.id}/overbook", data={
        "csrf_token": csrf_token(text(page)), "clinician_id": str(clinician.id),
        "appointment_type_id": str(types[Route.GENERAL_CONSULT].id), "day": day.isoformat(), "start_time": "12:00",
        "reason": "Squeeze in", "override_reason": "Patient insists", "idempotency_key": "b" * 32})
    assert squeezed.status_code == 422 and "Nothing was booked" in words(squeezed)

    move = browser.get(f"/desk/appointments/{existing.id}/move")
    assert "This appointment cannot be moved now." in words(move) and not slot_links(move)
    assert [a.id for a in stored(Appointment)] == [existing.id]


def test_the_desk_overbooks_an_urgent_case_beyond_24_hours_only_with_a_reason(app, clinic):
    types, clinician = clinic
    patient = make_patient("Maya Urgent")
    factories.make_submission(patient, "vascular_ultrasound", "urgent")
    _, browser = logged_in(app, Role.DESK)
    day = factories.future_weekday()
    page = browser.get(f"/desk/patients/{patient.id}/book")
    assert "Urgent case: book a time before" in words(page)

    refused = overbook(browser, patient, clinician, types[Route.VASCULAR_ULTRASOUND], day, "10:00", "Fully booked")
    assert refused.status_code == 422 and stored(Appointment) == []
    assert "A reason is needed to book this urgent case later than 24 hours from now" in words(refused)

    fields = {"override_reason": "Patient is away until then"}
    response = browser.post(f"/desk/patients/{patient.id}/overbook", data={
        **hidden_fields(refused.get_data(as_text=True)), "clinician_id": str(clinician.id),
        "appointment_type_id": str(types[Route.VASCULAR_ULTRASOUND].id), "day": day.isoformat(),
        "start_time": "10:00", "reason": "Fully booked", **fields})
    assert response.status_code == 302
    [appointment] = stored(Appointment)
    assert (appointment.overbook, appointment.overrides, appointment.override_reason) == (
        True, "urgent_window", "Patient is away until then")
    [event] = stored(AuditEvent, action=AuditAction.APPOINTMENT_TRIAGE_OVERRIDE)
    assert event.appointment_id == appointment.id and "Patient is away until then" in event.detail
    calendar = words(browser.get(f"/desk/?date={day.isoformat()}"))
    assert ("Booked against the triage (later than 24 hours for an urgent case) · Patient is away until then"
            in calendar)


# --- the patient -----------------------------------------------------------------------------------

def test_a_patient_holds_one_upcoming_visit_of_a_kind_and_is_told_to_move_it(app, clinic):
    types, clinician = clinic
    patient, browser = logged_in(app)
    factories.make_submission(patient, "general_consult", "routine")
    db.session.rollback()
    week = browser.get(f"/book/?week={factories.future_weekday().isoformat()}")
    first, second = slot_links(week)[:2]
    confirm = browser.get(first)
    assert browser.post(confirm.request.url, data=hidden_fields(confirm.get_data(as_text=True))).status_code == 302

    again = browser.get(second)
    response = browser.post(again.request.url, data=hidden_fields(again.get_data(as_text=True)))
    assert response.status_code == 422
    assert "You already have an upcoming visit of this kind. Please move that one instead" in words(response)
    assert len(stored(Appointment)) == 1


def test_the_landing_page_says_the_evidence_for_vein_treatment_in_restless_legs_is_limited(client):
    page = words(client.get("/"))
    assert "The evidence that vein treatment eases restless legs is limited" in page
    assert "does not always help" not in page


def test_the_patient_pages_offer_no_booking_while_an_emergency_awaits_a_doctor(app, clinic):
    patient, browser = logged_in(app)
    factories.make_submission(patient, "general_consult", "emergency")
    routine = factories.make_submission(patient, "general_consult", "routine")
    db.session.rollback()
    for url in ("/", "/appointments/", f"/triage/{routine.id}", "/book/"):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert 'href="/book/"' not in text(page), url
        assert CLINIC_PHONE in text(page), url
    assert "Online booking is paused" in words(browser.get(f"/triage/{routine.id}"))
    assert "Call us to book" in words(browser.get("/"))


def test_the_urgent_list_counts_any_visit_inside_the_window_linked_or_not(app, clinic):
    """A visit booked before the urgent answers (so not linked to them) that falls within the next
    24 hours answers the case; one further out does not."""
    types, _ = clinic
    clinician = factories.make_clinician(hours={weekday: [(time(0), time(23, 30))] for weekday in range(7)})
    soon_patient, later_patient = make_patient("Soon Seen"), make_patient("Later Seen")
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=3)
    soon += timedelta(minutes=-soon.minute % 30)  # on the half-hour grid of the clinician's day
    if soon.astimezone(factories.CHICAGO).time() == time(23, 30):  # the end of the day, not a slot
        soon += timedelta(minutes=30)
    for patient, start in ((soon_patient, soon), (later_patient, soon + timedelta(days=5))):
        book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                         appointment_type_id=types[Route.GENERAL_CONSULT].id, start=start)
        factories.make_submission(patient, "vascular_ultrasound", "urgent")
    _, browser = logged_in(app, Role.DESK)
    page = words(browser.get("/desk/patients/urgent"))
    assert "Later Seen" in page and "Soon Seen" not in page
