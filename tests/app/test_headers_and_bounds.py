"""Security headers on every response, no-store for logged-in users, and far-off dates that
once answered 500 now answer with a clear message and change nothing."""
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.booking.models import Appointment, TimeOff
from portal.extensions import db
from tests import factories
from tests.client import csrf_token, hidden_fields, logged_in
from tests.pages import text, words


def test_every_page_sends_the_security_headers(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" not in response.headers.get("Cache-Control", "")  # nothing private for a visitor
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here
    assert "Strict-Transport-Security" in client.get("/", base_url="https://localhost").headers


def test_pages_for_a_logged_in_user_are_never_stored(app):
    _, browser = logged_in(app)
    for url in ("/", "/appointments/", "/triage/"):
        assert browser.get(url).headers["Cache-Control"] == "no-store", url


def test_the_audit_log_ignores_a_date_at_the_end_of_the_calendar(app):
    _, browser = logged_in(app, Role.ADMIN)
    page = browser.get("/desk/audit/")
    response = browser.post("/desk/audit/", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                  "until": "9999-12-31", "since": "0001-01-01"})
    assert response.status_code == 200


def test_time_off_ending_in_9999_is_refused_with_a_message(app):
    clinician = factories.make_clinician()
    clinician_id = clinician.id
    db.session.rollback()
    _, browser = logged_in(app, Role.DESK)
    page = browser.get(f"/desk/schedules/{clinician_id}")
    response = browser.post(f"/desk/schedules/{clinician_id}/time-off", data={
        **hidden_fields(page.get_data(as_text=True)), "off-first_day": factories.future_weekday().isoformat(),
        "off-last_day": "9999-12-31", "off-whole_days": "y", "off-reason": "Forever"})
    assert response.status_code == 400
    assert "Please give a date within ten years of today." in words(text(response))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TimeOff)) == 0


def test_an_overbook_on_9999_12_31_is_refused_with_a_message(app):
    visit, clinician, patient = factories.make_type(), factories.make_clinician(), factories.make_user()
    ids = (visit.id, clinician.id, patient.id)
    db.session.rollback()
    _, browser = logged_in(app, Role.DESK)
    page = browser.get(f"/desk/patients/{ids[2]}/book")
    response = browser.post(f"/desk/patients/{ids[2]}/overbook", data={
        "csrf_token": csrf_token(text(page)), "clinician_id": str(ids[1]), "appointment_type_id": str(ids[0]),
        "day": "9999-12-31", "start_time": "23:50", "reason": "Squeeze in", "idempotency_key": "c" * 32})
    assert response.status_code == 400
    assert "Please give a date within ten years of today." in words(text(response))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0
