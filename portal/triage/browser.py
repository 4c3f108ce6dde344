"""What a browser's session holds of the questionnaire: the token of the answers being given
(their draft row), and the ids of answers it gave before logging in, which it may still see; and
what a login, a logout or a registration does to them.

The session carries both across a login (auth/sessions.py CARRIED_INTO_LOGIN names these keys);
the answers themselves stay in the database. Registering from an outcome page ties those answers
to the mailed link on the server, since the link is often opened in another browser.
"""
from flask import has_request_context, request, session
from flask_login import user_logged_in, user_logged_out

from portal.auth.models import Role, TokenPurpose
from portal.auth.tokens import account_link_issued, account_link_used
from portal.triage import service
from portal.triage.questions import METRIC_UNITS, US_UNITS

DRAFT_KEY = "triage_draft"
SUBMISSIONS_KEY = "triage_submissions"  # ids answered in this browser before logging in
KEPT_SUBMISSIONS = 10
UNITS_KEY = "triage_units"  # the units this browser last chose for height, weight and neck


def chosen_units() -> str:
    """Feet, inches and pounds unless this browser chose centimeters and kilograms (a link on
    the page, then the form's hidden field): the patient's pages and the desk's phone triage alike."""
    chosen = request.values.get("units")
    if chosen == METRIC_UNITS:
        session[UNITS_KEY] = chosen
    elif chosen == US_UNITS:
        session.pop(UNITS_KEY, None)
    return session.get(UNITS_KEY, US_UNITS)


def answered_in_this_browser(submission_id: int) -> bool:
    """Whether these answers were given in this browser before logging in (and are not yet
    anyone's): then this visitor may see their outcome."""
    return submission_id in session.get(SUBMISSIONS_KEY, [])


def remember_answered(submission_id: int) -> None:
    session[SUBMISSIONS_KEY] = [*session.get(SUBMISSIONS_KEY, []), submission_id][-KEPT_SUBMISSIONS:]


def listen_to_logins() -> None:
    """What a login, logout or registration does to this browser's answers (create_app wires it)."""
    user_logged_in.connect(_keep_anonymous_answers_for_patients_only)
    user_logged_out.connect(_forget_the_draft)
    account_link_issued.connect(_tie_answers_to_the_registration)
    account_link_used.connect(_join_the_registrations_answers)


def _tie_answers_to_the_registration(user, *, link, purpose, answers_id=None, registered_by=None, **extra):
    """A visitor registering online from the outcome of their answers: the answers are tied to the
    invitation mailed to them, when this very browser gave them (a number typed into the address
    ties nothing) and they are nobody's yet."""
    if (answers_id is None or registered_by is not None or purpose != TokenPurpose.INVITATION
            or user.role != Role.PATIENT or not has_request_context()):
        return
    if answered_in_this_browser(answers_id):
        service.tie_to_registration(answers_id, link)


def _join_the_registrations_answers(user, *, link, **extra):
    service.join_registration_answers(user, link)


def _keep_anonymous_answers_for_patients_only(app, user, **extra):
    """Nothing is attached at login: a patient is asked first (see `claim`), since on a shared
    device the answers may be someone else's. Staff never take them over: they are forgotten,
    so nobody who logs in later on this browser is asked about them either."""
    if user.role != Role.PATIENT:
        session.pop(SUBMISSIONS_KEY, None)


def _forget_the_draft(app, user, **extra):
    """A questionnaire in progress belongs to its session: at logout (or an idle timeout) its
    answers are deleted, so the next person on this browser starts with an empty form."""
    service.forget_draft(session.pop(DRAFT_KEY, None))
