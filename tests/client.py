"""Test-client helpers: read the CSRF token off a page and submit forms as a browser would."""
import re

from flask import has_app_context
from flask.testing import FlaskClient

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def hidden_fields(html: str) -> dict[str, str]:
    """Every hidden input of the page, as the browser would send them."""
    fields = {}
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


def submit(client, url: str, data: dict | None = None, *, form_page: str | None = None, **kwargs):
    """GET the page holding the form, then POST to `url` with its hidden fields plus `data`."""
    page = client.get(form_page or url)
    assert page.status_code == 200, f"GET {form_page or url} answered {page.status_code}"
    return client.post(url, data={**hidden_fields(page.get_data(as_text=True)), **(data or {})}, **kwargs)


def logged_in(app, role: str = "patient", *, triage: tuple[str, str] | None = None, **fields):
    """A new user of `role` (triaged as `triage` says: route and urgency) and a browser of their
    own, logged in: (user, browser)."""
    from tests import factories

    user = factories.make_user(role=role, **fields)
    if triage:
        factories.make_submission(user, *triage)
    return user, browser_of(app, user)


def browser_of(app, user):
    """A browser of the user's own, logged in as they would (staff type their second factor).

    The test's read transaction ends first, so on SQLite the app may write and the test then
    sees what it wrote."""
    from portal.extensions import db

    email = user.email
    db.session.rollback()
    browser = app.test_client()
    assert AuthActions(browser).login(email).status_code == 302
    return browser


def current_code(email: str) -> str:
    """The code the account's authenticator app shows now. Tests log the same person in many times
    within one 30-second step, which the portal refuses as a replayed code, so the account's
    last used step is forgotten first (tests only)."""
    from sqlalchemy import update

    from portal.auth import totp
    from portal.auth.models import User
    from portal.database import write_transaction
    from portal.extensions import db

    with write_transaction() as session:
        session.execute(update(User).where(User.email == email).values(totp_last_step=None))
        secret = session.scalar(db.select(User.totp_secret).where(User.email == email))
    return totp.code_at(secret)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "demo-password-1", *, code: str | None = None):
        """Log in as a person would; for an account with a second factor, type the code its app
        shows now (or `code`)."""
        response = submit(self.client, "/auth/login", {"email": email, "password": password})
        if response.status_code == 302 and response.headers["Location"].endswith("/auth/verify"):
            return submit(self.client, "/auth/verify", {"code": code or current_code(email)})
        return response

    def logout(self):
        page = self.client.get("/")
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})


class OwnContextClient(FlaskClient):
    """A test client whose every request (redirects included) runs in a fresh app context.

    The fixtures keep an app context pushed for the test's own database work, and Flask would
    reuse it for requests: `g` (where Flask-Login caches current_user) and the session would then
    carry over between requests and between clients. A server gives each request its own.
    """

    def run_wsgi_app(self, environ, buffered=False):
        from portal.extensions import db

        # Every request may write (its session is kept in the database): the test's own read
        # transaction ends first, as `fresh()` did, so on SQLite the test may write again afterwards
        # and then sees what the request wrote. Unsaved test changes are left alone.
        if has_app_context() and not (db.session.new or db.session.dirty or db.session.deleted):
            db.session.rollback()
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered=buffered)
