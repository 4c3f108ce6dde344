"""What the security probes share: a clinic with one of everything an address can name, a browser
per role, the url_map walked with its arguments filled in, what a refused request must leave as it
was (every table's rows, tests/app/test_form_fuzz.py's digests), and where a redirect may send the
browser (a path of this site, nothing that could split a header)."""
import re
from dataclasses import dataclass
from datetime import time
from urllib.parse import urlsplit

from flask import url_for
from sqlalchemy import select

from portal import access
from portal.auth.models import Role, TokenPurpose, User
from portal.auth.tokens import account_link_issued, issue_link
from portal.booking.service import book_appointment
from portal.database import utc_now
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.service import sign_letter, start_letter
from portal.notify.feeds import set_feed
from portal.notify.models import OutboxMessage
from tests import factories
from tests.app.test_form_fuzz import audit_actions_after, table_digests
from tests.client import AuthActions, csrf_token
from tests.factories import local

ANONYMOUS = access.ANONYMOUS
ROLES = (ANONYMOUS, Role.PATIENT, Role.DESK, Role.DOCTOR, Role.SONOGRAPHER, Role.ADMIN)
PATIENT_NAME = "Ada Recordholder"  # the clinic's patient: her name in a log or on a stranger's page is a leak


@dataclass
class Clinic:
    emails: dict[str, str]  # role -> the email of that role's user
    values: dict  # every argument an address of the url_map takes, for the patient's own records
    reset_token: str  # a password reset link of the patient's, as mailed

    def url_values(self, endpoint: str) -> dict:
        """The arguments for `endpoint`: the reset link's key for the password pages."""
        return {**self.values, "token": self.reset_token} if endpoint.startswith("password.") else self.values


def issued_reset_token(user: User) -> str:
    """A password reset link's key for `user`, as the mail would carry it."""
    issued = []
    with account_link_issued.connected_to(lambda sender, token, **about: issued.append(token)):
        issue_link(user, TokenPurpose.PASSWORD_RESET, now=utc_now())
        db.session.commit()
    return issued[0]


def issued_email_change_token(user: User) -> str:
    """The key of a link confirming a new email for `user`, as the mail to that address would carry it."""
    issued = []
    with account_link_issued.connected_to(lambda sender, token, **about: issued.append(token)):
        issue_link(user, TokenPurpose.EMAIL_CHANGE, now=utc_now(), new_email=f"new.{user.id}@example.com")
        db.session.commit()
    return issued[0]


def seed_clinic() -> Clinic:
    """A user of every role; the patient's triage, visit, message, signed letter; a clinician with
    time off and a calendar feed."""
    users = {role: factories.make_user(role=role, name=PATIENT_NAME if role == Role.PATIENT else None)
             for role in ROLES if role != ANONYMOUS}
    patient, desk, doctor = users[Role.PATIENT], users[Role.DESK], users[Role.DOCTOR]
    visit = factories.make_type()
    clinician = factories.make_clinician(hours={d: [(time(8), time(18))] for d in range(7)})
    day = factories.future_weekday()
    submission = factories.make_submission(patient)
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                                   appointment_type_id=visit.id, start=local(day, 10))
    time_off = factories.make_time_off(clinician, local(day, 16), local(day, 17))
    message = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.appointment_id == appointment.id))
    sleep_case = factories.make_submission(patient, route="sleep_study_referral")
    letter = start_letter(sleep_case.id, LetterKind.SLEEP_STUDY_REFERRAL, doctor=doctor)
    sign_letter(letter.id, doctor=doctor, history="", question="Please assess.")
    values = {"appointment_id": appointment.id, "submission_id": submission.id, "clinician_id": clinician.id,
              "time_off_id": time_off.id, "patient_id": patient.id, "user_id": patient.id, "step_id": "safety",
              "filename": "portal.css", "message_id": message, "token": set_feed(clinician.id, on=True, by_user=desk),
              "letter_id": letter.id, "kind": LetterKind.SLEEP_STUDY_REFERRAL.value}
    clinic = Clinic(emails={role: user.email for role, user in users.items()}, values=values,
                    reset_token=issued_reset_token(patient))
    db.session.rollback()
    return clinic


def browser_as(app, email: str | None):
    """A browser logged in as `email` (a visitor's when None) and its CSRF token."""
    browser = app.test_client()
    if email:
        assert AuthActions(browser).login(email).status_code == 302, f"{email} could not log in"
    page = browser.get("/" if email else "/auth/login")
    return browser, csrf_token(page.get_data(as_text=True))


def addresses(app, clinic: Clinic, method: str):
    """(endpoint, url) of every rule of the url_map that takes `method`, arguments filled in."""
    found = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
            if method in rule.methods:
                values = clinic.url_values(rule.endpoint)
                found.append((rule.endpoint, url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})))
    return found


def answer(call):
    """The response, or what a server would have said instead of it: TESTING lets a view's
    exception through to the test client, where production would answer 500."""
    try:
        return call()
    except Exception as error:  # a header that cannot be sent, a failing view
        return f"500 ({type(error).__name__}: {str(error)[:200]})"


def sent_to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/login"


class Rows:
    """Every table's rows now (the server-side session and the audit log aside), to compare with
    later; and the audit rows written since, by action."""

    def __init__(self):
        db.session.rollback()  # what the app committed, and let it write on SQLite
        self.digests, self.last_audit = table_digests()

    def changed(self) -> list[str]:
        after, _ = table_digests()
        return sorted(name for name, digest in after.items() if self.digests[name] != digest)

    def audited_since(self) -> set[str]:
        return audit_actions_after(self.last_audit)


# What may never be in a Location header: control characters (CR and LF split the header), spaces,
# the Unicode line separators, and a backslash (browsers read "/\host" as another host).
NOT_IN_A_LOCATION = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\\]")


def location_problem(location: str) -> str | None:
    """Why a redirect to `location` could leave the site or break the response; None when it is a
    plain path of ours."""
    if not location.startswith("/") or location.startswith("//"):
        return f"not a path of this site: {location!r}"
    if NOT_IN_A_LOCATION.search(location):
        return f"a character no address of ours holds: {location!r}"
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return f"names another site: {location!r}"
    return None
