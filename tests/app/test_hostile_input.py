"""What the form fuzzing (test_form_fuzz.py) found, each kept as a test of its own: input no
person types is refused with the clinic's 400 page, and nothing is stored."""
import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.triage.models import TriageReview
from tests import factories
from tests.client import csrf_token, logged_in, submit


def review_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(TriageReview))


@pytest.mark.parametrize("note", ["\x00", "Scan booked\x00", "\x1b[31m", "\x7f"])
def test_a_nul_byte_or_control_character_in_a_doctors_note_is_refused_not_a_500(app, note):
    """Found by the fuzzing: a route change whose note was a NUL byte passed the view's check
    (not empty) and failed in the database (500): SQLite's length() stops at NUL, so the CHECK on
    the note failed; PostgreSQL refuses NUL in text at all."""
    case = factories.make_submission(factories.make_user())
    _doctor, browser = logged_in(app, Role.DOCTOR)

    response = submit(browser, f"/queue/{case.id}", {"new_route": "vascular_ultrasound", "reason": note})

    assert response.status_code == 400
    assert app.config["CLINIC_PHONE"] in response.get_data(as_text=True)
    assert review_count() == 0


def test_a_note_over_several_lines_with_tabs_is_still_taken(app):
    case = factories.make_submission(factories.make_user())
    _doctor, browser = logged_in(app, Role.DOCTOR)

    response = submit(browser, f"/queue/{case.id}", {"new_route": "vascular_ultrasound",
                                                      "reason": "Leg swollen.\r\n\tScan first."})

    assert response.status_code == 302
    assert review_count() == 1


@pytest.mark.parametrize("query", ["q=%00", "until=%01", "date=2026-01-01%0b", "%00=1"])
def test_a_control_character_in_the_address_is_refused(app, client, query):
    response = client.get(f"/auth/login?{query}")
    assert response.status_code == 400
    assert app.config["CLINIC_PHONE"] in response.get_data(as_text=True)


def test_a_nul_byte_in_a_login_is_refused_before_it_reaches_the_database(app, client):
    """PostgreSQL cannot compare text holding NUL: the email lookup itself would raise."""
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={"csrf_token": token, "email": "a\x00@example.com",
                                                "password": "x" * 12})
    assert response.status_code == 400


@pytest.mark.parametrize(("role", "url", "data"), [
    (Role.ADMIN, "/desk/audit/", {"who": "\x00"}),  # found by the fuzzing on PostgreSQL: a 500
    (Role.DESK, "/desk/patients/", {"q": "Moreno\x00"}),
])
def test_a_nul_byte_in_a_staff_filter_or_search_is_refused(app, role, url, data):
    _user, browser = logged_in(app, role)
    response = submit(browser, url, data)
    assert response.status_code == 400
    assert app.config["CLINIC_PHONE"] in response.get_data(as_text=True)
