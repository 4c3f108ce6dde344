"""When the database fails, every visitor, logged in or not, gets the clinic's own error page with
its name and phone number, never the server's bare "Internal Server Error". And the review's run:
PostgreSQL refusing connections, the database stopping under a running portal, SQLite locked by
another process; for every kind of address (pages, a reset link, a calendar feed, the health
check, JSON, the stylesheet) with a session cookie held: 503 with Retry-After, the clinic's page
for people and no page for programs, and no secret key, session id or patient's word in any log."""
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from portal.auth.models import Role
from portal.extensions import db
from tests.app.test_canary_logs import Witness
from tests.client import csrf_token, logged_in
from tests.conftest import make_app
from tests.security.probes import PATIENT_NAME, answer, browser_as, seed_clinic

# Nothing listens on port 1: the driver is refused at once, as when the server is down.
REFUSING_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/portal"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
HOME_OF = {Role.PATIENT: "/appointments/", Role.DESK: "/desk/", Role.DOCTOR: "/queue/",
           Role.SONOGRAPHER: "/my-day/", Role.ADMIN: "/desk/audit/"}


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


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DESK, Role.DOCTOR, Role.SONOGRAPHER, Role.ADMIN])
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


# --- the review's database-down run: every kind of address, with a session cookie held -----------

@dataclass(frozen=True)
class Probe:
    path: str  # {feed} and {reset} stand for the clinic's secret keys
    answer: str  # "page": the clinic's page; "data": not a page (JSON or plain text); "file": may be served
    headers: tuple = ()


PROBES = [Probe("/", "page"), Probe("/auth/login", "page"), Probe("/appointments/", "page"),
          Probe("/desk/patients/", "page"), Probe("/auth/password/reset/{reset}", "page"),
          Probe("/feeds/{feed}.ics", "data"), Probe("/healthz", "data"), Probe("/book/slots.json", "data"),
          Probe("/appointments/", "data", (("Accept", "application/json"),)),
          Probe("/static/portal.css", "file")]


def probe_problem(probe: Probe, response, app) -> str | None:
    """What a visitor, a calendar program or a monitor would find wrong with this answer."""
    status, kind = response.status_code, response.mimetype
    if probe.answer == "file" and status == 200:
        return None if kind == "text/css" else f"200 as {kind}"
    if status != 503 or not response.headers.get("Retry-After", "").isdigit():
        return f"{status}, Retry-After {response.headers.get('Retry-After')!r}: not 503 with a time to retry"
    if probe.answer == "page":
        page = response.get_data(as_text=True)
        if kind != "text/html" or app.config["CLINIC_PHONE"] not in page or "Internal Server Error" in page:
            return f"503 as {kind} without the clinic's page"
    elif kind == "text/html":
        return "503 as a page for people, to a program"
    return None


def not_in_any_log(witness, secrets: list[str]) -> list[str]:
    """Secrets found in a log record, a JSON line or standard output or error (not the addresses
    the test itself asked for)."""
    return [f"{secret!r} in {where}: {what[:300]}" for where, what in witness.everything_written()
            if where != "address" for secret in secrets if secret.lower() in what.lower()]


@pytest.fixture
def clinic_and_patient(app):
    """The seeded clinic, and the patient's browser: logged in, its session cookie's value."""
    clinic = seed_clinic()
    browser, _ = browser_as(app, clinic.emails[Role.PATIENT])
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return clinic, browser, cookie.value


def run_probes(app, browser, clinic) -> list[str]:
    wrong = []
    for probe in PROBES:
        path = probe.path.format(feed=clinic.values["token"], reset=clinic.reset_token)
        response = answer(lambda: browser.get(path, headers=dict(probe.headers)))
        problem = response if isinstance(response, str) else probe_problem(probe, response, app)
        if problem:
            wrong.append(f"GET {probe.path} {dict(probe.headers) or ''}: {problem}")
    token = "x" * 20
    posted = answer(lambda: browser.post("/auth/login", data={"csrf_token": token, "email": "robin@example.com",
                                                               "password": "x" * 12}))
    if isinstance(posted, str) or posted.status_code != 503:
        wrong.append(f"POST /auth/login: {posted if isinstance(posted, str) else posted.status_code}")
    return wrong


def secrets_of(clinic, cookie: str) -> list[str]:
    return [clinic.values["token"], clinic.reset_token, cookie, PATIENT_NAME, clinic.emails[Role.PATIENT],
            "robin@example.com"]


def test_every_kind_of_address_when_postgresql_refuses_connections(app, app_without_database, clinic_and_patient,
                                                                   caplog, capsys):
    clinic, browser, cookie = clinic_and_patient
    down = app_without_database.test_client()
    down.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    with Witness(app_without_database, caplog, capsys) as witness:
        wrong = run_probes(app_without_database, down, clinic)
        assert len(witness.records()) > 0
        wrong += not_in_any_log(witness, secrets_of(clinic, cookie))
    assert wrong == [], "\n".join(wrong)


def test_every_kind_of_address_when_the_database_stops_under_a_running_portal(app, clinic_and_patient, caplog,
                                                                             capsys):
    clinic, browser, cookie = clinic_and_patient
    with Witness(app, caplog, capsys) as witness, database_refusing_connections(app):
        wrong = run_probes(app, browser, clinic) + not_in_any_log(witness, secrets_of(clinic, cookie))
    assert wrong == [], "\n".join(wrong)


@pytest.fixture
def sqlite_locked(database_url):
    """Another process holds SQLite's file locked for longer than the portal's busy timeout
    (SQLITE_BUSY_TIMEOUT_MS): neither reading nor writing gets through."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock")

    @contextmanager
    def hold():
        db.session.remove()
        db.engine.dispose()  # the test's own idle connections: only the holder has the file
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=5)
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # in WAL mode, readers are shut out too
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE user_account SET failed_login_count = failed_login_count")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    return hold


def test_every_kind_of_address_while_sqlite_is_locked(app, database_url, sqlite_locked, clinic_and_patient, caplog,
                                                     capsys):
    clinic, browser, cookie = clinic_and_patient
    locked = make_app(database_url, SQLITE_BUSY_TIMEOUT_MS=50, PROPAGATE_EXCEPTIONS=False)
    waiting = locked.test_client()
    waiting.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    with Witness(locked, caplog, capsys) as witness, sqlite_locked():
        wrong = run_probes(locked, waiting, clinic) + not_in_any_log(witness, secrets_of(clinic, cookie))
    with locked.app_context():
        db.engine.dispose()
    assert wrong == [], "\n".join(wrong)
