"""When the database fails, every visitor, logged in or not, gets the clinic's own error page with
its name and phone number, never the server's bare "Internal Server Error"."""
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from portal.auth.models import Role
from portal.extensions import db
from tests.client import csrf_token, logged_in
from tests.conftest import make_app

# Nothing listens on port 1: the driver is refused at once, as when the server is down.
REFUSING_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/portal"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
HOME_OF = {Role.PATIENT: "/appointments/", Role.DESK: "/desk/", Role.DOCTOR: "/queue/", Role.ADMIN: "/desk/audit/"}


def assert_clinic_error_page(response, app) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code in (500, 503), page
    assert app.config["CLINIC_NAME"].replace("&", "&amp;") in page
    assert app.config["CLINIC_PHONE"] in page
    assert "Internal Server Error" not in page
    assert "Log out" not in page  # the account's own navigation needs the database
    if response.status_code == 503:
        assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Content-Security-Policy"]  # the security headers are still on it


@contextmanager
def database_refusing_connections(app):
    """From here on every new connection to the app's database fails, as when its server stops."""
    engine = db.engine
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError

    def refuse(dialect, connection_record, cargs, cparams):
        raise dbapi_error("connection refused (the test stopped the database)")

    db.session.remove()
    event.listen(engine, "do_connect", refuse)
    engine.dispose()  # and the pooled connections are gone with the server
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error handlers answer
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


@contextmanager
def database_failing_after_the_session(app):
    """The session row still reads, every other statement fails: the page's own queries, and the
    account the error page's navigation would load."""

    def fail(connection, cursor, statement, parameters, context, executemany):
        if "web_session" not in statement and not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            raise OperationalError(statement, parameters, Exception("server closed the connection unexpectedly"))

    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", fail)


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DESK, Role.DOCTOR, Role.ADMIN])
def test_a_logged_in_user_gets_the_clinics_page_when_the_database_goes_down(app, role):
    _user, browser = logged_in(app, role)
    assert browser.get(HOME_OF[role]).status_code == 200
    with database_refusing_connections(app):
        response = browser.get(HOME_OF[role])
    assert_clinic_error_page(response, app)
    assert response.status_code == 503


def test_the_error_page_does_not_load_the_user_again_when_a_query_fails(app):
    """The issue's case: the page's query fails, and then the error page itself read the account."""
    _user, browser = logged_in(app, Role.PATIENT)
    with database_failing_after_the_session(app):
        response = browser.get("/appointments/")
    assert_clinic_error_page(response, app)


def test_a_post_when_the_database_fails_gets_the_clinics_page(app):
    _user, browser = logged_in(app, Role.DESK)
    token = csrf_token(browser.get("/desk/patients/").get_data(as_text=True))
    with database_failing_after_the_session(app):
        response = browser.post("/desk/patients/", data={"csrf_token": token, "q": "Moreno"})
    assert_clinic_error_page(response, app)


@pytest.fixture
def app_without_database(app):
    """A second portal with the same secret, whose database refuses every connection."""
    down = make_app(REFUSING_DATABASE, PROPAGATE_EXCEPTIONS=False)
    yield down
    with down.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("url", ["/", "/auth/login", "/triage/", "/book/"])
def test_an_anonymous_visitor_gets_the_clinics_page_when_the_database_is_down(app_without_database, url):
    response = app_without_database.test_client().get(url)
    if response.status_code in (200, 302):  # a page that needs no database at all may still be served
        return
    assert_clinic_error_page(response, app_without_database)


def test_an_anonymous_post_gets_the_clinics_page_when_the_database_fails(app, client):
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    with database_failing_after_the_session(app):
        response = client.post("/auth/login", data={"csrf_token": token, "email": "someone@example.com",
                                                    "password": "x" * 12})
    assert_clinic_error_page(response, app)


def test_a_logged_in_browser_gets_the_clinics_page_from_a_server_whose_database_is_down(app, app_without_database):
    """The browser's session cookie comes to a server that cannot open the session it names."""
    _user, browser = logged_in(app, Role.PATIENT)
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = browser.get_cookie(name)
    assert cookie is not None
    other = app_without_database.test_client()
    other.set_cookie(name, cookie.value)
    response = other.get("/appointments/")
    assert_clinic_error_page(response, app_without_database)
