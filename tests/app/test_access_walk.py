"""Walk every URL of the app as anonymous, patient, doctor, desk and admin, and check each answer
against the registry of who may see what (portal/access.py): the views and their own guards agree
with it. tests/app/test_deny_by_default.py checks that every page is in it."""
from datetime import time

import pytest
from flask import url_for
from sqlalchemy import select

from portal import access
from portal.auth.models import Role
from portal.booking.service import book_appointment
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.service import sign_letter, start_letter
from portal.notify.feeds import set_feed
from portal.notify.models import OutboxMessage
from tests import factories
from tests.client import AuthActions, csrf_token
from tests.factories import local

# Who may use each page is portal/access.py's registry, the one the app enforces. The walk checks
# that the views agree with it. Where a view shows a page to fewer people than the registry lets in,
# the rest are told the record does not exist (404), as if the id were wrong.
NOT_FOUND_INSTEAD_OF_FORBIDDEN = {
    # A triage outcome: its patient and doctors (and the browser that answered before logging in).
    "booking.outcome": {Role.PATIENT, Role.DOCTOR},
}
# The steps after the password (public: the visitor is not logged in yet) send a visitor who has
# given no password back to the login page.
LOGIN_STEPS = {"auth.verify", "auth.enrol"}


@pytest.fixture
def world(app):
    """One of everything a URL can name, owned by the patient who walks as 'patient'."""
    users = {role: factories.make_user(role=role) for role in (Role.PATIENT, Role.DOCTOR, Role.DESK, Role.ADMIN)}
    visit = factories.make_type()
    clinician = factories.make_clinician(hours={d: [(time(8), time(18))] for d in range(7)})
    day = factories.future_weekday()
    submission = factories.make_submission(users[Role.PATIENT])
    appointment = book_appointment(patient_id=users[Role.PATIENT].id, clinician_id=clinician.id,
                                   appointment_type_id=visit.id, start=local(day, 10))
    time_off = factories.make_time_off(clinician, local(day, 16), local(day, 17))
    message = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.appointment_id == appointment.id))
    sleep_case = factories.make_submission(users[Role.PATIENT], route="sleep_study_referral")
    letter = start_letter(sleep_case.id, LetterKind.SLEEP_STUDY_REFERRAL, doctor=users[Role.DOCTOR])
    sign_letter(letter.id, doctor=users[Role.DOCTOR], history="", question="Please assess.")
    values = {"appointment_id": appointment.id, "submission_id": submission.id, "clinician_id": clinician.id,
              "time_off_id": time_off.id, "patient_id": users[Role.PATIENT].id,
              "user_id": users[Role.PATIENT].id, "step_id": "safety",
              "filename": "portal.css", "message_id": message,
              "token": set_feed(clinician.id, on=True, by_user=users[Role.DESK]),
              "letter_id": letter.id, "kind": LetterKind.SLEEP_STUDY_REFERRAL.value}
    emails = {role: user.email for role, user in users.items()}
    db.session.rollback()
    return emails, values


def walk(app, values):
    """Every (endpoint, method, url) of the url map, with arguments filled from `values`."""
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})


def allowed(endpoint: str) -> set:
    return NOT_FOUND_INSTEAD_OF_FORBIDDEN.get(endpoint, access.who_may_use(endpoint))


@pytest.mark.parametrize("who", ["anonymous", Role.PATIENT, Role.DOCTOR, Role.DESK, Role.ADMIN])
def test_every_url_answers_as_the_table_says(app, world, who):
    emails, values = world
    browser = app.test_client()
    if who != "anonymous":
        assert AuthActions(browser).login(emails[who]).status_code == 302
    token = csrf_token(browser.get("/auth/login" if who == "anonymous" else "/").get_data(as_text=True))
    wrong = []
    for endpoint, method, url in walk(app, values):
        if endpoint == "auth.logout":
            continue  # walking on after logging out would walk as someone else
        response = browser.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        status, location = response.status_code, response.headers.get("Location", "")
        sent_to_login = status == 302 and "/auth/login" in location
        if status >= 500:
            wrong.append(f"{method} {url}: {status}")
        elif who in allowed(endpoint):
            if status in (401, 403) or (sent_to_login and not (who == "anonymous" and endpoint in LOGIN_STEPS)):
                wrong.append(f"{method} {url}: {status} for {who}, who may use it")
        elif who == "anonymous" and endpoint not in NOT_FOUND_INSTEAD_OF_FORBIDDEN:
            if url.endswith(".json"):  # data for scripts: told to log in, in JSON, not sent to a page
                if status != 401 or (response.get_json(silent=True) or {}).get("error") != "login_required":
                    wrong.append(f"{method} {url}: {status} for anonymous, expected 401 login_required")
            elif not sent_to_login:
                wrong.append(f"{method} {url}: {status} for anonymous, expected the login page")
        else:
            expected = 404 if endpoint in NOT_FOUND_INSTEAD_OF_FORBIDDEN else 403
            if status != expected:
                wrong.append(f"{method} {url}: {status} for {who}, expected {expected}")
    assert wrong == [], "\n".join(wrong)

