"""Who may use which page, in one registry, enforced before every request: deny by default.

A page is open to anyone only when PUBLIC lists it (or its blueprint, as "blueprint.*"); otherwise
it is for the roles ROLES gives it (the endpoint's own entry first, else its blueprint's). A page
in neither is refused, the login page for a visitor and 403 for a logged-in user, so a view nobody
listed stays closed (ASVS 4.1.3 least privilege, 4.1.5 fail securely; HIPAA 164.312(a)(1) access
control). Views keep their own roles_required as a second lock; the tests check the two agree
and walk every URL as every role. Which record a page may show (a patient's own, not another's)
is the view's business: it answers 404.

Adding a page: put its endpoint in PUBLIC, or in ROLES with the roles that may use it; a blueprint
of pages for one audience takes one "blueprint.*" entry in ROLES.
"""
from flask import Flask, abort, jsonify, request
from flask_login import current_user

from portal.auth.models import DESK_ROLES, Role
from portal.extensions import login_manager

ANONYMOUS = "anonymous"  # a visitor who has not logged in, in the same sets as the roles
LOGGED_IN = frozenset(Role)
EVERYONE = LOGGED_IN | {ANONYMOUS}
NOBODY: frozenset[str] = frozenset()

PATIENTS = frozenset({Role.PATIENT})
DOCTORS = frozenset({Role.DOCTOR})
SONOGRAPHERS = frozenset({Role.SONOGRAPHER})
CLINICIANS = DOCTORS | SONOGRAPHERS  # who sees patients: each has "My day"
FRONT_DESK = frozenset(DESK_ROLES)
ADMINS = frozenset({Role.ADMIN})

# Anyone may use these, logged in or not.
PUBLIC = frozenset({
    "static",
    "pages.*",  # the landing page, information pages, the health check
    # Register, log in, the second factor, forgotten passwords and invitations: used before one is
    # logged in. A page of these blueprints that needs a login goes in ROLES (its own entry wins).
    "auth.*",
    "auth_password.*",
    # A triage outcome: the view shows it only to its patient, to doctors, and to the browser that
    # answered before logging in; anyone else is told it does not exist (404), logged in or not.
    "booking.outcome",
    # A clinician's calendar feed, read by calendar programs: the secret address is the key.
    "notify.feed",
    # The link mailed to a patient's new email: the link is the key, from whichever browser opens it.
    "my_details.confirm_email",
})

# Who may use the rest. An endpoint's own entry overrides its blueprint's "blueprint.*".
ROLES: dict[str, frozenset[str]] = {
    "booking.*": PATIENTS,  # booking, moving and cancelling one's own visits
    "triage.*": PATIENTS,
    # The questionnaire itself needs no account; staff do not answer it.
    "triage.start": frozenset({ANONYMOUS, Role.PATIENT}),
    "triage.step": frozenset({ANONYMOUS, Role.PATIENT}),
    "queue.*": DOCTORS,
    # "My day": a clinician's own visits of a day, and a visit's record (only of one's own calendar:
    # the view answers 404 for anyone else's).
    "clinicians.*": CLINICIANS,
    "desk.*": FRONT_DESK,
    "desk_patients.*": FRONT_DESK,
    "desk_triage.*": FRONT_DESK,  # the triage asked with a caller on the phone
    "desk_schedules.*": FRONT_DESK,
    "audit.*": ADMINS,
    "auth_accounts.*": ADMINS,  # staff accounts: second factor, lockouts, ending sessions
    "clinician_records.*": ADMINS,  # a doctor's or sonographer's title and the visits they give
    "letters.*": DOCTORS,  # drafting, signing and correcting referral letters
    # A letter as PDF or FHIR: doctors, the desk, and its own patient; the view answers 404 to anyone
    # else (Letter.readable_by). Sonographers read no letters.
    "letters.pdf": LOGGED_IN - SONOGRAPHERS,
    "letters.fhir": LOGGED_IN - SONOGRAPHERS,
    "notify.appointment_ics": PATIENTS,  # a patient's own visit as a calendar file
    "notify.outbox": ADMINS,
    "notify.resend": ADMINS,
    # Pages of the auth and password blueprints that need a logged-in user (PUBLIC has the rest).
    "auth.security": LOGGED_IN,  # the account's second factor, recovery codes, "log out everywhere"
    "my_details.*": PATIENTS,  # a patient's own phone and email
}


def who_may_use(endpoint: str) -> frozenset[str]:
    """The roles (and ANONYMOUS) the registry lets use `endpoint`; NOBODY when it is not listed."""
    for key in (endpoint, endpoint.rpartition(".")[0] + ".*"):
        if key in PUBLIC:
            return EVERYONE
        if key in ROLES:
            return ROLES[key]
    return NOBODY


def install(app: Flask) -> None:
    """Check every request against the registry before its view runs."""

    @app.before_request
    def _only_listed_pages():
        if request.endpoint is None:  # no page here: the 404 or 405 follows
            return None
        allowed = who_may_use(request.endpoint)
        if allowed == EVERYONE:  # decided without loading the user (static files, the health check)
            return None
        who = current_user.role if current_user.is_authenticated else ANONYMOUS
        if who in allowed:
            return None
        if who == ANONYMOUS:
            if request.path.endswith(".json"):  # a script is told, not sent to a page for people
                return jsonify(error="login_required", message="Please log in first."), 401
            return login_manager.unauthorized()  # the login page, and back here afterwards
        abort(403)
