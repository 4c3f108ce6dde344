"""Object-level access: every URL that names a record (an id or a key in its path), opened by
patients A and B, the desk, a doctor, an admin and a visitor who has not logged in, on records
that are A's. Nobody reaches another's record: a patient or visitor who may use the page but is
not the owner gets 404, the same answer as for an id that does not exist, so ids cannot be probed.
Roles the page is not for get 403 (or the login page), whatever the id. The URLs come from the
url_map, so a new page with an id is in the matrix as soon as it exists."""
from datetime import time

import pytest
from flask import url_for
from sqlalchemy import select

from portal import access
from portal.auth.models import Role, User
from portal.booking.service import book_appointment
from portal.database import LARGEST_ID
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.service import sign_letter, start_letter
from portal.notify.feeds import set_feed
from portal.notify.models import OutboxMessage
from tests import factories
from tests.client import AuthActions, csrf_token
from tests.factories import local
from tests.security.probes import issued_email_change_token, issued_reset_token

ACTORS = {"patient A": Role.PATIENT, "patient B": Role.PATIENT, "desk": Role.DESK, "doctor": Role.DOCTOR,
          "sonographer": Role.SONOGRAPHER, "admin": Role.ADMIN, "anonymous": access.ANONYMOUS}
OWNER_NAME = "Ada Recordholder"  # patient A: her name on a page shown to a stranger is a leak
STRANGERS = {"patient B", "anonymous"}  # who reaches none of A's records (staff see her name elsewhere)

# The arguments of URLs that name a record. A URL with an argument in neither set fails
# test_every_url_argument_is_known until it is added here (and to the world fixture below).
ID_ARGUMENTS = {"appointment_id", "submission_id", "patient_id", "user_id", "clinician_id", "time_off_id",
                "message_id", "token", "letter_id"}
NOT_RECORDS = {"filename", "step_id", "kind"}  # static files; the questionnaire's steps; a letter's kind


# Addresses whose secret key is the access control (the key goes out by email or into a calendar
# program): whoever holds it reaches the record, logged in or not. How to make each key:
KEYS = {"notify.feed": lambda world: set_feed(world["clinician_id"], on=True, by_user=world["desk_user"]),
        "auth_password.choose": lambda world: issued_reset_token(db.session.get(User, world["patient_id"])),
        # Another patient's: confirming it voids that account's other links, A's reset link among them.
        "my_details.confirm_email": lambda world: issued_email_change_token(factories.make_user())}

# Staff reach every record of the pages their role may use, except where the view narrows it:
STAFF_TOLD_NOT_FOUND = {
    "booking.outcome": {Role.DESK, Role.SONOGRAPHER, Role.ADMIN},  # triage outcomes: patient and doctors
    # A visit's record from "My day": only the clinician whose calendar it is on (A's visit is on another's).
    "clinicians.visit": {Role.DOCTOR, Role.SONOGRAPHER},
    # Clinician details: only an account with a clinician record has them (patient A has none).
    "clinician_records.details": {Role.ADMIN},
}

MISSING = {"appointment_id": 987654, "submission_id": 987654, "patient_id": 987654, "user_id": 987654,
           "clinician_id": 987654, "time_off_id": 987654, "message_id": 987654, "letter_id": 987654,
           "token": "no-such-key-" + "x" * 30}
# Ids no row can have (past the database's integer), and a key longer than any key: 404, never a 500.
BEYOND = {**{name: LARGEST_ID + 1 for name in MISSING if name != "token"}, "token": "k" * 3000}
HUGE = {**{name: 10**30 for name in MISSING if name != "token"}, "token": "\u00e9" * 500}

REACHES, NOT_FOUND, FORBIDDEN, LOGIN_PAGE = "reaches the record", "404", "403", "the login page"


@pytest.fixture
def world(app):
    """Patient A's account and records (an appointment, its message, a triage), patient B, staff,
    a clinician with time off and a calendar feed; every id a URL can take."""
    users = {actor: factories.make_user(role=role, name=OWNER_NAME if actor == "patient A" else None)
             for actor, role in ACTORS.items() if actor != "anonymous"}
    owner = users["patient A"]
    visit = factories.make_type()
    clinician = factories.make_clinician(hours={d: [(time(8), time(18))] for d in range(7)})
    day = factories.future_weekday()
    submission = factories.make_submission(owner)
    appointment = book_appointment(patient_id=owner.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=local(day, 10))
    time_off = factories.make_time_off(clinician, local(day, 16), local(day, 17))
    message = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.appointment_id == appointment.id))
    # A's signed referral letter: hers, the desk's and the doctors' to read, nobody else's.
    sleep_case = factories.make_submission(owner, route="sleep_study_referral")
    letter = start_letter(sleep_case.id, LetterKind.SLEEP_STUDY_REFERRAL, doctor=users["doctor"])
    sign_letter(letter.id, doctor=users["doctor"], history="", question="Please assess.")
    world = {"appointment_id": appointment.id, "submission_id": submission.id, "patient_id": owner.id,
             "user_id": owner.id, "clinician_id": clinician.id, "time_off_id": time_off.id, "message_id": message,
             "letter_id": letter.id, "desk_user": users["desk"]}
    world["keys"] = {endpoint: make(world) for endpoint, make in KEYS.items()}
    world["emails"] = {actor: user.email for actor, user in users.items()}
    db.session.rollback()
    return world


def record_urls(app, values_for):
    """(endpoint, method, url) of every URL that names a record; GETs first, so a POST that
    changes a record (a cancellation) comes after every look at it."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.arguments or not rule.arguments <= ID_ARGUMENTS:
                continue
            values = values_for(rule.endpoint)
            url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
            found += [(rule.endpoint, method, url) for method in rule.methods - {"HEAD", "OPTIONS"}]
    return sorted(found, key=lambda item: (item[1] != "GET", item[2], item[1]))


def expected(actor: str, endpoint: str, exists: bool) -> str:
    who = ACTORS[actor]
    if who not in access.who_may_use(endpoint):
        return LOGIN_PAGE if who == access.ANONYMOUS else FORBIDDEN
    if not exists:
        return NOT_FOUND
    if endpoint in KEYS:
        return REACHES
    if who in (access.ANONYMOUS, Role.PATIENT):
        return REACHES if actor == "patient A" else NOT_FOUND
    return NOT_FOUND if who in STAFF_TOLD_NOT_FOUND.get(endpoint, ()) else REACHES


def answer(response) -> str:
    status, location = response.status_code, response.headers.get("Location", "")
    if status == 302 and "/auth/login" in location:
        return LOGIN_PAGE
    if status == 401 and (response.get_json(silent=True) or {}).get("error") == "login_required":
        return LOGIN_PAGE  # data for scripts (.json): told to log in, in JSON
    if status in (403, 404):
        return str(status)
    return REACHES if status < 500 else f"{status}"


def browser_of(app, world, actor):
    """A browser for `actor`, logged in unless anonymous, and a CSRF token for its posts (so a
    refusal is about access, never about the form)."""
    browser = app.test_client()
    if actor != "anonymous":
        assert AuthActions(browser).login(world["emails"][actor]).status_code == 302
    page = browser.get("/auth/login" if actor == "anonymous" else "/")
    return browser, csrf_token(page.get_data(as_text=True))


def walk(app, browser, token, urls, expect, *, stranger: bool):
    """Open every URL; a list of what answered otherwise than `expect(endpoint)` says."""
    wrong = []
    for endpoint, method, url in urls:
        response = browser.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        got, want = answer(response), expect(endpoint)
        if got != want:
            wrong.append(f"{method} {url} ({endpoint}): {response.status_code}, expected {want}")
        elif stranger and want != REACHES and OWNER_NAME in response.get_data(as_text=True):
            wrong.append(f"{method} {url} ({endpoint}): {response.status_code} and shows patient A's name")
    return wrong


def test_every_url_argument_is_known(app):
    unknown = [f"{rule.endpoint} ({rule.rule}): {sorted(rule.arguments - ID_ARGUMENTS - NOT_RECORDS)}"
               for rule in app.url_map.iter_rules() if rule.arguments - ID_ARGUMENTS - NOT_RECORDS]
    assert unknown == [], ("URLs with arguments tests/security/test_object_access.py does not know; add each to "
                           "ID_ARGUMENTS (and the world fixture) or NOT_RECORDS:\n" + "\n".join(unknown))


def test_every_key_in_an_address_can_be_made(app):
    with app.test_request_context():
        unknown = [rule.endpoint for rule in app.url_map.iter_rules()
                   if "token" in rule.arguments and rule.endpoint not in KEYS]
    assert unknown == [], f"add how to make a key for {unknown} to KEYS in tests/security/test_object_access.py"


@pytest.mark.parametrize("actor", ACTORS)
def test_nobody_reaches_another_patients_record(app, world, actor):
    browser, token = browser_of(app, world, actor)
    urls = record_urls(app, lambda endpoint: {**world, "token": world["keys"].get(endpoint, MISSING["token"])})
    seen = {endpoint for endpoint, _, _ in urls}
    assert {"booking.cancel", "booking.outcome", "desk.move", "desk_patients.patient", "notify.appointment_ics",
            "notify.feed", "queue.case", "desk_schedules.delete_time_off"} <= seen
    wrong = walk(app, browser, token, urls, lambda endpoint: expected(actor, endpoint, exists=True),
                 stranger=actor in STRANGERS)
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("actor", ACTORS)
def test_an_id_that_does_not_exist_answers_404(app, world, actor):
    browser, token = browser_of(app, world, actor)
    urls = record_urls(app, lambda endpoint: MISSING)
    wrong = walk(app, browser, token, urls, lambda endpoint: expected(actor, endpoint, exists=False),
                 stranger=actor in STRANGERS)
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("actor", ["patient A", "desk", "anonymous"])
@pytest.mark.parametrize("values", [BEYOND, HUGE], ids=["past the largest id", "10**30"])
def test_an_id_no_record_can_have_answers_404_not_500(app, world, actor, values):
    """No route takes such an id, so nobody is even asked to log in; a long key is looked up and
    not found."""
    browser, token = browser_of(app, world, actor)
    urls = record_urls(app, lambda endpoint: values)

    def expect(endpoint):
        return expected(actor, endpoint, exists=False) if endpoint in KEYS else NOT_FOUND

    wrong = walk(app, browser, token, urls, expect, stranger=actor in STRANGERS)
    assert wrong == [], "\n".join(wrong)
