"""What a browser's session holds of the questionnaire: the token of the answers being given
(their draft row), and the ids of answers it gave before logging in, which it may still see.

The session carries both across a login (auth/sessions.py CARRIED_INTO_LOGIN names these keys);
the answers themselves stay in the database.
"""
from flask import session

DRAFT_KEY = "triage_draft"
SUBMISSIONS_KEY = "triage_submissions"  # ids answered in this browser before logging in
KEPT_SUBMISSIONS = 10


def answered_in_this_browser(submission_id: int) -> bool:
    """Whether these answers were given in this browser before logging in (and are not yet
    anyone's): then this visitor may see their outcome."""
    return submission_id in session.get(SUBMISSIONS_KEY, [])


def remember_answered(submission_id: int) -> None:
    session[SUBMISSIONS_KEY] = [*session.get(SUBMISSIONS_KEY, []), submission_id][-KEPT_SUBMISSIONS:]
