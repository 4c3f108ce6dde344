"""Clinicians' calendar feeds: the desk turns a feed on, makes a new address or turns it off;
calendar programs read the feed at its secret address, which shows visit types and patient
references, never names of conditions or triage answers."""
from icalendar import Calendar

from portal.auth.models import Role
from portal.booking.models import Clinician, Route
from portal.booking.service import book_appointment, cancel_appointment
from portal.extensions import db
from tests import factories
from tests.client import csrf_token, logged_in
from tests.pages import text, words


def feed_path(browser, clinician_id: int) -> str | None:
    page = text(browser.get(f"/desk/schedules/{clinician_id}"))
    start = page.find("/feeds/")
    return page[start:page.index(".ics", start) + 4] if start >= 0 else None


def press(browser, clinician_id: int, which: str):
    page = text(browser.get(f"/desk/schedules/{clinician_id}"))
    return browser.post(f"/desk/schedules/{clinician_id}/feed", data={"csrf_token": csrf_token(page), "feed": which})


def test_a_feed_shows_the_clinicians_visits_with_a_patient_reference_only(app):
    scan = factories.make_type(Route.VASCULAR_ULTRASOUND, name="Leg vein ultrasound")
    rivera, other = factories.make_clinician(name="Dr Rivera"), factories.make_clinician(name="Dr Other")
    patient = factories.make_user(name="Frank Private")
    factories.make_submission(patient, "vascular_ultrasound", "routine")
    day = factories.future_weekday()
    kept = book_appointment(patient_id=patient.id, clinician_id=rivera.id, appointment_type_id=scan.id,
                            start=factories.local(day, 10))
    gone = book_appointment(patient_id=factories.make_user().id, clinician_id=rivera.id, appointment_type_id=scan.id,
                            start=factories.local(day, 11))
    cancel_appointment(gone.id, by_user=gone.patient, reason="Unwell")
    book_appointment(patient_id=factories.make_user().id, clinician_id=other.id, appointment_type_id=scan.id,
                     start=factories.local(day, 10))
    rivera_id = rivera.id
    db.session.rollback()
    _, desk = logged_in(app, Role.DESK)
    assert feed_path(desk, rivera_id) is None
    assert "The feed is off" in words(text(desk.get(f"/desk/schedules/{rivera_id}")))

    assert press(desk, rivera_id, "new").status_code == 302
    path = feed_path(desk, rivera_id)
    response = app.test_client().get(path)  # a calendar program: no login
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    events = Calendar.from_ical(response.get_data()).walk("VEVENT")
    assert [(str(e["SUMMARY"]), e["DTSTART"].dt) for e in events] == [
        (f"Leg vein ultrasound · P-{patient.id:06d}", kept.start_at)]
    body = response.get_data(as_text=True)
    assert "Frank Private" not in body and "varicose" not in body.lower() and "triage" not in body.lower()


def test_a_new_address_stops_the_old_one_and_off_stops_both(app):
    clinician = factories.make_clinician()
    clinician_id = clinician.id
    db.session.rollback()
    _, desk = logged_in(app, Role.DESK)
    press(desk, clinician_id, "new")
    first = feed_path(desk, clinician_id)
    made_anew = desk.get(press(desk, clinician_id, "new").headers["Location"])
    assert "the old one no longer works" in words(text(made_anew))
    second = feed_path(desk, clinician_id)
    outsider = app.test_client()
    assert first != second
    assert outsider.get(first).status_code == 404 and outsider.get(second).status_code == 200
    press(desk, clinician_id, "off")
    assert outsider.get(second).status_code == 404
    db.session.rollback()
    assert db.session.get(Clinician, clinician_id).feed_token is None


def test_only_the_desk_changes_feeds_and_a_guessed_address_finds_nothing(app):
    clinician = factories.make_clinician()
    clinician_id = clinician.id
    db.session.rollback()
    _, patient = logged_in(app)
    assert patient.post(f"/desk/schedules/{clinician_id}/feed", data={"feed": "new"}).status_code in (400, 403)
    _, desk = logged_in(app, Role.DESK)
    page = text(desk.get(f"/desk/schedules/{clinician_id}"))
    assert desk.post(f"/desk/schedules/{clinician_id}/feed",
                     data={"csrf_token": csrf_token(page), "feed": "everything"}).status_code == 400
    for guess in ("/feeds/x.ics", "/feeds/" + "a" * 43 + ".ics", "/feeds/" + "a" * 200 + ".ics"):
        assert app.test_client().get(guess).status_code == 404
