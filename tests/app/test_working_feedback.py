"""Feedback where people wait or act: every page loads the portal's small script that shows a sent
form is working and stops a second send (static/portal.js; the forms work the same without it), and
a list with nothing in it says what to do next."""
import re

import pytest

from portal.auth.models import Role
from portal.extensions import db
from portal.headers import CONTENT_SECURITY_POLICY
from tests import factories
from tests.client import logged_in, submit
from tests.pages import main, text, words

SCRIPT_TAG = '<script src="/static/portal.js" defer></script>'


@pytest.mark.parametrize("role, page", [
    ("anonymous", "/"), ("anonymous", "/auth/login"), ("anonymous", "/triage/step/safety"),
    (Role.PATIENT, "/appointments/"), (Role.DESK, "/desk/"), (Role.DOCTOR, "/queue/"), (Role.ADMIN, "/desk/audit/"),
])
def test_every_page_loads_the_working_script_from_the_portal_itself(app, client, role, page):
    browser = client if role == "anonymous" else logged_in(app, role)[1]
    markup = text(browser.get(page))
    assert markup.count(SCRIPT_TAG) == 1
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", markup)  # no inline script: the CSP would refuse it
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY


def test_the_script_says_working_and_stops_a_second_send(client):
    response = client.get("/static/portal.js")
    script = response.get_data(as_text=True)
    assert response.status_code == 200 and "javascript" in response.content_type
    assert "Working…" in script and 'addEventListener("submit"' in script
    assert "button.disabled = true" in script and "event.preventDefault()" in script
    # The buttons are disabled only after the browser has read the form: a disabled button would not
    # send its name and value (the questionnaire's Continue and Back, the feed's on and off).
    assert "window.setTimeout(function () {\n      if (event.defaultPrevented)" in script
    assert 'addEventListener("pageshow"' in script  # Back to a kept page: its forms work again


def test_the_forms_send_their_buttons_value_without_the_script(client):
    """Without JavaScript (as here) a form is a plain form: the button pressed is sent with it."""
    response = submit(client, "/triage/step/safety", {"pe_symptoms": "no", "bleeding_vein": "no",
                                                      "cold_pale_leg": "no", "action": "next"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/triage/step/about_you")


# --- empty lists say what to do next --------------------------------------------------------------

def test_an_empty_queue_says_new_answers_come_here(app):
    _, doctor = logged_in(app, Role.DOCTOR)
    shown = words(main(doctor.get("/queue/")))
    assert "No cases match. New answers appear here as soon as they are sent; reload the page to see them." in shown


def test_a_filtered_queue_with_nothing_in_it_offers_every_case(app):
    factories.make_submission(factories.make_user(), "general_consult", "routine")
    db.session.rollback()
    _, doctor = logged_in(app, Role.DOCTOR)
    response = doctor.get("/queue/?urgency=emergency")
    assert "No cases match. Show every case instead of these filters." in words(main(response))
    assert '<a href="/queue/">Show every case</a>' in main(response)


def test_a_patient_with_no_visit_is_offered_to_book(app):
    _, browser = logged_in(app)
    response = browser.get("/appointments/")
    assert "You have no upcoming appointments." in words(main(response))
    assert 'href="/book/">Book a visit</a>' in main(response)


def test_a_patients_record_with_no_visit_offers_to_book_one(app):
    patient_id = factories.make_user(name="Nobody Booked").id
    db.session.rollback()
    _, desk = logged_in(app, Role.DESK)
    response = desk.get(f"/desk/patients/{patient_id}")
    assert "No upcoming appointments. Book a visit for Nobody Booked." in words(main(response))
    assert f'href="/desk/patients/{patient_id}/book">Book a visit</a>' in main(response)


def test_a_search_that_finds_nobody_says_what_to_try(app):
    _, desk = logged_in(app, Role.DESK)
    response = submit(desk, "/desk/patients/", {"q": "Zebediah"})
    shown = words(main(response))
    assert "No patients match “Zebediah”. Check the spelling, try part of the name" in shown
    assert 'href="/desk/patients/new">register the caller</a>' in main(response)


@pytest.mark.parametrize("role, page, says", [
    (Role.DESK, "/desk/patients/urgent", "No urgent cases are waiting for a booking. New urgent answers appear here "
                                         "as soon as they are sent; reload the page to see them."),
    (Role.ADMIN, "/desk/outbox", "Nothing waiting: every message has been sent."),
    (Role.ADMIN, "/desk/outbox", "None: no message has failed for good."),
    (Role.DESK, "/desk/", "No active clinicians. Ask an administrator to add one; their hours are then set on "
                          "Schedules"),
])
def test_other_empty_lists_say_what_comes_next(app, role, page, says):
    _, browser = logged_in(app, role)
    assert says in words(main(browser.get(page)))


def test_an_audit_search_that_finds_nothing_says_how_to_see_more(app):
    _, admin = logged_in(app, Role.ADMIN)
    response = submit(admin, "/desk/audit/", {"who": "nobody-at-all"})
    assert ("No events match. Empty the boxes, choose “All” and press Filter to see every event, or give wider "
            "dates.") in words(main(response))
