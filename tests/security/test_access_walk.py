"""Walk every URL of the app as anonymous, patient, doctor, sonographer, desk and admin, and check each answer
against the registry of who may see what (portal/access.py): the views and their own guards agree
with it, and a post by a role the page is not for changes no row. test_deny_by_default.py checks
that every page is in the registry."""
import pytest

from portal import access
from portal.auth.models import Role
from tests.security.probes import ROLES, Rows, addresses, browser_as, seed_clinic, sent_to_login

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
def clinic(app):
    return seed_clinic()


def walk(app, clinic):
    """Every (endpoint, method, url) of the url map, GETs first: the posts change the clinic."""
    for method in ("GET", "POST"):
        for endpoint, url in addresses(app, clinic, method):
            yield endpoint, method, url


def allowed(endpoint: str) -> set:
    return NOT_FOUND_INSTEAD_OF_FORBIDDEN.get(endpoint, access.who_may_use(endpoint))


def judge(who: str, endpoint: str, method: str, url: str, response) -> str | None:
    """What is wrong with this answer to `who`, or None."""
    status = response.status_code
    if status >= 500:
        return f"{method} {url}: {status}"
    if who in allowed(endpoint):
        if status in (401, 403) or (sent_to_login(response) and not (who == "anonymous" and endpoint in LOGIN_STEPS)):
            return f"{method} {url}: {status} for {who}, who may use it"
        return None
    if who == "anonymous" and endpoint not in NOT_FOUND_INSTEAD_OF_FORBIDDEN:
        if url.endswith(".json"):  # data for scripts: told to log in, in JSON, not sent to a page
            if status != 401 or (response.get_json(silent=True) or {}).get("error") != "login_required":
                return f"{method} {url}: {status} for anonymous, expected 401 login_required"
        elif not sent_to_login(response):
            return f"{method} {url}: {status} for anonymous, expected the login page"
        return None
    expected = 404 if endpoint in NOT_FOUND_INSTEAD_OF_FORBIDDEN else 403
    return None if status == expected else f"{method} {url}: {status} for {who}, expected {expected}"


@pytest.mark.parametrize("who", ROLES)
def test_every_url_answers_as_the_table_says(app, clinic, who):
    browser, token = browser_as(app, clinic.emails.get(who))
    wrong = []
    for endpoint, method, url in walk(app, clinic):
        if endpoint == "auth.logout":
            continue  # walking on after logging out would walk as someone else
        forbidden = method == "POST" and who not in access.who_may_use(endpoint)
        rows = Rows() if forbidden else None
        response = browser.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        if problem := judge(who, endpoint, method, url, response):
            wrong.append(problem)
        elif forbidden and (changed := rows.changed()):
            wrong.append(f"{method} {url}: refused to {who} ({response.status_code}) yet changed {changed}")
    assert wrong == [], "\n".join(wrong)


def test_the_walk_posts_to_every_kind_of_page(app, clinic):
    """The matrix is only as good as the walk: every rule of the url_map is opened, with its ids."""
    walked = {(endpoint, method) for endpoint, method, _ in walk(app, clinic)}
    rules = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
             for method in rule.methods & {"GET", "POST"}}
    assert walked == rules
    assert ("desk.cancel", "POST") in walked and ("auth_accounts.unlock_account", "POST") in walked
