"""Cross-site request forgery, five ways, on every POST of the url_map (OWASP ASVS 4.2.2, 13.2.3):
no token; a garbled one; a real token of another person's session; this session's own token sent
from another site over HTTPS (Flask-WTF checks the Referer there); and the token in the address
instead of the form (where logs and Referer headers would carry it). Each is refused with the
portal's "This form has expired" page (400) as the role the page is for, and changes no row,
writes no audit line, and leaves the person logged in."""
import pytest

from portal import access
from portal.auth.models import Role
from tests import factories
from tests.pages import text
from tests.security.probes import ANONYMOUS, ROLES, Rows, addresses, browser_as, seed_clinic

EVIL_PAGE = "https://evil.example/win-a-prize.html"
WAYS = ["no token", "garbled token", "another session's token", "from another site over HTTPS",
        "token in the address"]


def poster_for(endpoint: str) -> str:
    """The role a forged post is made as: one the page is for (so the refusal is the token's),
    a logged-in patient for logging out (a visitor has nothing to lose there)."""
    if endpoint == "auth.logout":
        return Role.PATIENT
    allowed = access.who_may_use(endpoint)
    return next(who for who in ROLES if who in allowed)


@pytest.fixture
def people(app):
    """The clinic, and two browsers of every role, each with its own session and CSRF token."""
    clinic = seed_clinic()
    others = {role: factories.make_user(role=role).email for role in ROLES if role != ANONYMOUS}
    browsers = {who: browser_as(app, clinic.emails.get(who)) for who in ROLES}
    strangers = {who: browser_as(app, others.get(who)) for who in ROLES}
    return clinic, browsers, strangers


def forged_post(way: str, browser, token: str, stranger_token: str, url: str):
    if way == "no token":
        return browser.post(url, data={})
    if way == "garbled token":
        return browser.post(url, data={"csrf_token": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")})
    if way == "another session's token":
        return browser.post(url, data={"csrf_token": stranger_token})
    if way == "from another site over HTTPS":
        return browser.post(url, data={"csrf_token": token}, base_url="https://localhost",
                            headers={"Referer": EVIL_PAGE, "Origin": "https://evil.example"})
    return browser.post(f"{url}?csrf_token={token}", data={})


@pytest.mark.parametrize("way", WAYS)
def test_a_forged_post_to_any_page_is_refused_and_changes_nothing(app, people, way):
    clinic, browsers, strangers = people
    posts = addresses(app, clinic, "POST")
    assert len(posts) > 25
    rows, wrong = Rows(), []
    for endpoint, url in posts:
        who = poster_for(endpoint)
        (browser, token), (_, stranger_token) = browsers[who], strangers[who]
        response = forged_post(way, browser, token, stranger_token, url)
        if response.status_code != 400 or "This form has expired" not in text(response):
            wrong.append(f"POST {url} as {who}: {response.status_code}, not the expired form page")
    assert wrong == [], "\n".join(wrong)
    assert rows.changed() == [] and rows.audited_since() == set()
    for who in ROLES[1:]:
        assert browsers[who][0].get("/auth/security").status_code == 200, f"{who} was logged out"


def test_the_same_posts_with_the_real_token_are_not_refused_as_forged(app, people):
    """The check above is about the token: with this session's own, no page says the form expired."""
    clinic, browsers, _ = people
    expired = []
    for endpoint, url in addresses(app, clinic, "POST"):
        if endpoint == "auth.logout":
            continue
        browser, token = browsers[poster_for(endpoint)]
        response = browser.post(url, data={"csrf_token": token}, base_url="https://localhost",
                                headers={"Referer": "https://localhost/"})
        if "This form has expired" in text(response):
            expired.append(f"POST {url}: {response.status_code}")
    assert expired == [], "\n".join(expired)
