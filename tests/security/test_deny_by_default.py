"""Deny by default: every page of the app is either public or for the roles portal/access.py gives
it, and a page nobody listed is refused to everyone, whatever its view does."""
from flask import Blueprint

from portal import access
from portal.auth.models import Role
from tests.client import csrf_token, logged_in

WHERE_TO_LIST = ("list it in portal/access.py: in PUBLIC if anyone may use it without logging in, "
                 "else in ROLES with the roles that may use it")


def test_every_page_is_public_or_guarded(app):
    unlisted = [f"{rule.endpoint} ({' '.join(sorted(rule.methods - {'HEAD', 'OPTIONS'}))} {rule.rule}) "
                f"is neither public nor guarded: {WHERE_TO_LIST}"
                for rule in app.url_map.iter_rules() if not access.who_may_use(rule.endpoint)]
    assert unlisted == [], "\n".join(unlisted)


def test_the_registry_names_only_pages_that_exist(app):
    """A misspelt entry would silently leave the page to its blueprint's entry (the auth blueprint's
    is public). Blueprint entries ("name.*") may come before their blueprint does."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = [key for key in (*access.PUBLIC, *access.ROLES) if not key.endswith(".*") and key not in endpoints]
    assert stale == [], f"portal/access.py lists pages the app does not have: {stale}"
    assert access.PUBLIC.isdisjoint(access.ROLES), "an entry is both public and for some roles"


def test_each_views_own_guard_agrees_with_the_registry(app):
    """roles_required on a view and the registry are two locks on one door: the same roles."""
    disagree = [f"{endpoint}: the view wants {sorted(view.required_roles)}, "
                f"portal/access.py says {sorted(access.who_may_use(endpoint))}"
                for endpoint, view in app.view_functions.items()
                if hasattr(view, "required_roles") and view.required_roles != access.who_may_use(endpoint)]
    assert disagree == [], "\n".join(disagree)


SECRET = "a page nobody put in the registry"


def test_a_page_nobody_listed_is_refused_to_every_role(app):
    """A new view with no guard of its own, straight on the app and in a new blueprint: nobody
    reaches it until it is listed."""
    app.add_url_rule("/unlisted-test-page", "unlisted_test_page", lambda: SECRET, methods=["GET", "POST"])
    newcomer = Blueprint("unlisted_test_blueprint", __name__, url_prefix="/unlisted-test-blueprint")
    newcomer.add_url_rule("/", "index", lambda: SECRET, methods=["GET", "POST"])
    app.register_blueprint(newcomer)
    urls = ["/unlisted-test-page", "/unlisted-test-blueprint/"]

    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/auth/login").get_data(as_text=True))
    for url in urls:
        for response in (anonymous.get(url), anonymous.post(url, data={"csrf_token": token})):
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], url
            assert SECRET not in response.get_data(as_text=True)

    for role in Role:
        _, browser = logged_in(app, role)
        token = csrf_token(browser.get("/").get_data(as_text=True))
        for url in urls:
            for response in (browser.get(url), browser.post(url, data={"csrf_token": token})):
                assert response.status_code == 403, (role, url, response.status_code)
                assert SECRET not in response.get_data(as_text=True)
