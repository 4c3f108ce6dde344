"""The security review's findings, one test (or a few) each, through the real pages with CSRF on.
Each failed on the code the review read; the numbers are the review's."""
import io
import logging
import re
import sqlite3
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
from redis import Redis
from sqlalchemy import func, select

from portal.audit import AuditAction, AuditEvent
from portal.auth import totp
from portal.auth.devices import DEVICE_COOKIE
from portal.auth.models import RecoveryCode, Role, User, WebSession
from portal.auth.names import name_problem
from portal.auth.service import make_new_recovery_codes, register_patient
from portal.booking.models import Appointment, AppointmentStatus, Route
from portal.extensions import db
from portal.logs import json_lines_handler
from portal.notify.feeds import set_feed
from portal.notify.models import MessageKind, OutboxMessage
from portal.redirects import safe_path
from tests import factories
from tests.app.test_desk_patients import overbook
from tests.app.test_triage_pages import CASES, STEP_IDS, answer_all, answer_step
from tests.client import AuthActions, csrf_token, current_code, hidden_fields, logged_in, submit
from tests.conftest import make_app
from tests.mailbox import password_link
from tests.pages import text
from tests.security.test_database_down import database_refusing_connections

NEW_PASSWORD = "rivers and mountains in spring"
HEADER_BREAKS = ["/%0d%0aSet-Cookie:%20x=1", "/%0aX:1", "/%0d", "/%09/evil.example", "/%E2%80%A8x"]


def fresh() -> None:
    db.session.rollback()  # see what the app committed; on SQLite, let the app write


# --- 5. CR/LF in next= and back= ------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/\r\nX: 1", "/\nX", "/\rX", "/\tX", "/\x00", "/a\u2028b", "/\\evil.example",
                                    "//evil.example", "https://evil.example/", "/" + "a" * 2001])
def test_a_path_that_cannot_be_followed_is_not_safe(target):
    assert safe_path(target) is None


def test_a_path_of_ours_is_safe():
    assert safe_path("/book/?type=general_consult&week=2026-12-07") == "/book/?type=general_consult&week=2026-12-07"
    assert safe_path("/desk/?date=2026-12-07", under="/desk/") == "/desk/?date=2026-12-07"
    assert safe_path("/book/", under="/desk/") is None


@pytest.mark.parametrize("next_value", HEADER_BREAKS)
def test_a_login_with_a_header_break_in_next_logs_in_and_goes_home(client, next_value):
    factories.make_user(email="pat@example.com")
    fresh()

    response = submit(client, f"/auth/login?next={next_value}", {"email": "pat@example.com",
                                                                 "password": factories.PASSWORD},
                      form_page="/auth/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/appointments/"
    assert "\r" not in response.headers["Location"] and "\n" not in response.headers["Location"]
    assert client.get("/appointments/").status_code == 200


def test_a_registration_with_a_header_break_in_next_leads_to_a_working_first_login(client):
    response = submit(client, "/auth/register?next=/%0d%0aX:1", {
        "name": "Robin Vale", "email": "robin@example.com", "date_of_birth": "1955-04-02",
        "phone": "(555) 010-2222"}, form_page="/auth/register")
    assert response.status_code == 302
    fresh()
    link = password_link("robin@example.com", MessageKind.INVITATION)
    assert "%0d" not in link.lower() and "%0a" not in link.lower()

    chosen = submit(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert chosen.status_code == 302 and chosen.headers["Location"] == "/appointments/"  # logged in by the link
    assert client.get("/appointments/").status_code == 200


def test_the_desks_cancel_with_a_header_break_in_back_cancels_and_returns_to_the_day(app):
    visit, clinician, patient = factories.make_type(), factories.make_clinician(), factories.make_user()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    appointment = Appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                              start_at=start, end_at=start + timedelta(minutes=30), status=AppointmentStatus.BOOKED)
    db.session.add(appointment)
    db.session.commit()
    appointment_id = appointment.id
    _, desk = logged_in(app, Role.DESK)
    url = f"/desk/appointments/{appointment_id}/cancel"
    page = desk.get(f"{url}?back={quote('/desk/')}%0d%0aX:1")
    fields = hidden_fields(page.get_data(as_text=True))
    fields["back"] = "/desk/\r\nX:1"  # as the review posted it

    response = desk.post(url, data={**fields, "reason": "Patient called"})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/desk/?date=")
    fresh()
    assert db.session.get(Appointment, appointment_id).status == AppointmentStatus.CANCELLED
    assert "Nothing was changed" not in text(desk.get(response.headers["Location"]))


# --- 6. the questionnaire's pages in a shared browser's cache -----------------------------------

def test_a_visitors_answers_and_outcome_are_never_stored_by_the_browser(client):
    answers = CASES[5][0]
    assert client.get("/triage/").headers["Cache-Control"] == "no-store"
    answer_step(client, STEP_IDS[0], answers)
    assert client.get(f"/triage/step/{STEP_IDS[0]}").headers["Cache-Control"] == "no-store"  # answers filled in

    outcome = answer_all(client, answers).headers["Location"]

    assert client.get(outcome).headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"  # the session holds the answers
    assert "no-store" not in client.application.test_client().get("/").headers.get("Cache-Control", "")


# --- 7. two 500s ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["ab\U0010ffff", "\U0010ffff", "ab\U0010ffff\U0010ffff", "a\ud7ff", "Zoë\U0010ffff"])
def test_the_desks_search_takes_the_last_characters_unicode_has(app, typed):
    factories.make_user(name="Abby Last")
    factories.make_user(name="Zoë Nowak")
    fresh()
    _, desk = logged_in(app, Role.DESK)
    page = desk.get("/desk/patients/")

    response = desk.post("/desk/patients/", data={**hidden_fields(page.get_data(as_text=True)), "q": typed})

    assert response.status_code == 200
    assert "Abby Last" not in text(response).split("</form>", 1)[-1]  # nobody's name goes on past U+10FFFF


def test_the_desks_search_still_finds_a_prefix(app):
    factories.make_user(name="Abby Last")
    fresh()
    _, desk = logged_in(app, Role.DESK)
    page = desk.get("/desk/patients/")

    response = desk.post("/desk/patients/", data={**hidden_fields(page.get_data(as_text=True)), "q": "ab"})

    assert "Abby Last" in text(response)


@pytest.mark.parametrize("path", ["/feeds/%00.ics", "/feeds/a%00b.ics", "/desk/patients/%01", "/triage/step/%00"])
def test_a_control_character_in_the_path_is_a_bad_request(client, path):
    response = client.get(path)

    assert response.status_code == 400
    assert "Something in that request was not right" in text(response)


# --- 8. a locked SQLite database ------------------------------------------------------------------

def test_a_write_that_waits_out_a_locked_sqlite_database_answers_503(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock")

    app = make_app(database_url, SQLITE_BUSY_TIMEOUT_MS=50)
    with app.app_context():
        factories.make_user(email="pat@example.com")
        db.session.remove()
    browser = app.test_client()
    page = browser.get("/auth/login")
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the timeout
    try:
        response = browser.post("/auth/login", data={**hidden_fields(page.get_data(as_text=True)),
                                                     "email": "pat@example.com", "password": factories.PASSWORD})
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Our records cannot be reached just now" in text(response)


# --- 10. anyone's text in a clinic email ----------------------------------------------------------

@pytest.mark.parametrize("name", ["Robin\nPlease call 555-0199 to claim your refund", "Robin\r\nVale", "Robin\tVale",
                                  "Robin\u2028Vale", "Robin \u202eelaV", "Robin\x85Vale"])
def test_registration_refuses_a_name_that_is_not_one_line_and_mails_nothing(client, name):
    response = submit(client, "/auth/register", {"name": name, "email": "someone@example.com",
                                                 "date_of_birth": "1955-04-02", "phone": "(555) 010-2222"})

    assert response.status_code == 400
    assert "Please type the name on one line" in text(response)
    fresh()
    assert db.session.scalar(select(User).where(User.email == "someone@example.com")) is None
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_the_desk_cannot_register_such_a_name_either(app):
    with pytest.raises(ValueError, match="one line"):
        register_patient(name="Robin\nVale", email="robin@example.com", date_of_birth=date(1950, 1, 1),
                         phone="(555) 010-2222", password=None)
    _, desk = logged_in(app, Role.DESK)
    response = submit(desk, "/desk/patients/new", {"name": "Robin\r\nVale", "email": "robin@example.com",
                                                   "date_of_birth": "1950-01-01", "phone": "(555) 010-2222"})
    assert response.status_code == 400 and "Please type the name on one line" in text(response)


def test_names_in_any_script_are_still_welcome(client):
    for name in ("Zoë Łukasiewicz", "José O'Neil-Smith", "محمد علي", "山田 太郎", "Nguyễn Thị Minh"):
        assert name_problem(name) is None, name


# --- 9. no size limit; session rows for visitors who hold nothing ------------------------------

def test_a_20_megabyte_post_is_refused_unread_with_the_clinics_page(client):
    response = client.post("/auth/login", data={"email": "x" * (20 * 1024 * 1024), "password": "p"})

    assert response.status_code == 413
    assert "That was more than we can take" in text(response)


def session_rows() -> int:
    fresh()
    return db.session.scalar(select(func.count()).select_from(WebSession))


def test_thirty_cookieless_looks_at_the_login_page_write_no_session_row(app):
    for _ in range(30):
        assert app.test_client().get("/auth/login").status_code == 200
    assert app.test_client().get("/auth/register").status_code == 200

    assert session_rows() == 0


def test_a_visitor_without_a_row_still_logs_in_with_the_forms_token(app):
    factories.make_user(email="pat@example.com")
    browser = app.test_client()
    for _ in range(3):
        browser.get("/auth/login")
    assert session_rows() == 0

    response = AuthActions(browser).login("pat@example.com")

    assert response.status_code == 302 and response.headers["Location"] == "/appointments/"
    assert session_rows() == 1
    assert browser.get("/appointments/").status_code == 200


def test_a_forged_visitor_cookie_is_no_token(app):
    browser = app.test_client()
    page = browser.get("/auth/login")
    browser.set_cookie("portal_visitor", "forged.value")

    response = browser.post("/auth/login", data={**hidden_fields(page.get_data(as_text=True)),
                                                 "email": "pat@example.com", "password": "whatever it is"})

    assert response.status_code == 400 and "This form has expired" in text(response)


def test_a_visitor_who_starts_the_questionnaire_gets_a_row(client):
    client.get("/triage/")
    assert session_rows() == 0
    answer_step(client, STEP_IDS[0], CASES[5][0])

    assert session_rows() == 1


# --- 4. tokens in the log while the database is down ----------------------------------------------

FEED_TOKEN = "Feed0Token1Secret2Value3Abcdefghij"
RESET_TOKEN = "Reset9Token8Secret7Value6Zyxwvuts"


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = json_lines_handler(stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize("path", [f"/feeds/{FEED_TOKEN}.ics", f"/auth/password/reset/{RESET_TOKEN}"])
def test_a_token_in_the_path_stays_out_of_the_log_while_the_database_refuses_connections(app, path, log_lines):
    browser = app.test_client()
    browser.set_cookie("portal_session", "any-session-id-a-browser-holds")

    with database_refusing_connections(app):
        response = browser.get(path)

    assert response.status_code == 503
    written = log_lines.getvalue()
    assert "/hidden" in written  # the access line and the error line, with the token hidden
    assert FEED_TOKEN not in written and RESET_TOKEN not in written


# --- 11. smaller: JSON and plain 503s, feed reads audited, overbooks within the horizon -------------

@pytest.mark.parametrize("path, kind", [("/healthz", "application/json"), ("/book/slots.json", "application/json"),
                                        ("/static/portal.css", "text/plain")])
def test_during_an_outage_a_script_or_a_file_gets_its_own_kind_of_answer(app, path, kind):
    browser = app.test_client()
    browser.set_cookie("portal_session", "any-session-id-a-browser-holds")

    with database_refusing_connections(app):
        response = browser.get(path)

    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.mimetype == kind
    assert "<html" not in response.get_data(as_text=True)
    if kind == "application/json":
        assert response.get_json()["status"] == "error"


def test_a_script_asking_for_json_gets_json_and_a_browser_the_page(app):
    browser = app.test_client()
    browser.set_cookie("portal_session", "any-session-id-a-browser-holds")

    with database_refusing_connections(app):
        scripted = browser.get("/appointments/", headers={"Accept": "application/json"})
        person = browser.get("/appointments/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})

    assert scripted.status_code == 503 and scripted.get_json()["error"] == "database_unreachable"
    assert person.status_code == 503 and "Our records cannot be reached just now" in text(person)


def test_reading_a_clinicians_feed_is_audited(app):
    clinician = factories.make_clinician(name="Dr Rivera")
    desk = factories.make_user(role=Role.DESK)
    token = set_feed(clinician.id, on=True, by_user=desk)

    response = app.test_client().get(f"/feeds/{token}.ics")

    assert response.status_code == 200 and response.mimetype == "text/calendar"
    fresh()
    [read] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.FEED_READ)).all()
    assert "Dr Rivera's calendar feed" in read.detail and read.ip_address == "127.0.0.1"


def test_the_desk_cannot_overbook_beyond_the_booking_horizon(app):
    visit = factories.make_type(Route.GENERAL_CONSULT)
    clinician, patient = factories.make_clinician(name="Dr Rivera"), factories.make_user()
    _, desk = logged_in(app, Role.DESK)
    far = factories.future_weekday(weeks_ahead=52 * 10)

    response = overbook(desk, patient, clinician, visit, far, "10:00", "Agreed with Dr Rivera")

    assert "That time is too far ahead to book yet." in text(response)
    fresh()
    assert db.session.scalars(select(Appointment)).all() == []


# --- 1. the authenticator replaced without a password ----------------------------------------------

SECRET_ON_PAGE = r'<code class="secret">([A-Z2-7 ]+)</code>'


def staff_logged_in_twice(app):
    """A desk account logged in on two devices: (account, this browser, the other browser)."""
    staff, here = logged_in(app, Role.DESK)
    other = app.test_client()
    assert AuthActions(other).login(staff.email).status_code == 302
    return staff, here, other


def new_secret_on(browser) -> str:
    page = browser.get("/auth/enrol")
    assert page.status_code == 200
    return re.search(SECRET_ON_PAGE, text(page)).group(1).replace(" ", "")


def stored_secret(user_id: int) -> str | None:
    fresh()
    return db.session.get(User, user_id).totp_secret


def audit_actions(user_id: int) -> list[str]:
    fresh()
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.user_id == user_id)))


@pytest.mark.parametrize("given", [{}, {"password": factories.PASSWORD}, {"password": "not my password at all",
                                                                         "current_code": "CURRENT"}])
def test_a_session_alone_cannot_replace_the_authenticator(app, given):
    staff, browser, _ = staff_logged_in_twice(app)
    old = stored_secret(staff.id)
    secret = new_secret_on(browser)
    data = {**given, "code": totp.code_at(secret)}
    if data.get("current_code") == "CURRENT":
        data["current_code"] = current_code(staff.email)

    response = submit(browser, "/auth/enrol", data)

    assert response.status_code == 400
    assert stored_secret(staff.id) == old
    assert "second_factor.enrolled" not in audit_actions(staff.id)


def test_a_new_authenticator_needs_the_password_and_a_current_code_and_ends_the_other_sessions(app):
    staff, browser, other = staff_logged_in_twice(app)
    secret = new_secret_on(browser)

    done = submit(browser, "/auth/enrol", {"password": factories.PASSWORD, "current_code": current_code(staff.email),
                                           "code": totp.code_at(secret)})

    assert done.status_code == 200 and "recovery code" in text(done).lower()
    assert stored_secret(staff.id) == secret
    assert browser.get("/desk/").status_code == 200  # this device stays in
    assert other.get("/desk/").status_code == 302  # every other one is out
    assert "second_factor.enrolled" in audit_actions(staff.id)


def test_a_recovery_code_stands_in_for_the_lost_phone(app):
    staff, browser, _ = staff_logged_in_twice(app)
    codes = make_new_recovery_codes(staff.id, password=factories.PASSWORD, current_code=current_code(staff.email))
    browser = app.test_client()
    AuthActions(browser).login(staff.email, code=codes[0])
    secret = new_secret_on(browser)

    done = submit(browser, "/auth/enrol", {"password": factories.PASSWORD, "current_code": codes[1],
                                           "code": totp.code_at(secret)})

    assert done.status_code == 200 and stored_secret(staff.id) == secret


def test_new_recovery_codes_need_the_password_and_a_current_code_and_end_the_other_sessions(app):
    staff, browser, other = staff_logged_in_twice(app)
    fresh()
    before = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == staff.id)))

    for given in ({}, {"codes-password": factories.PASSWORD, "codes-current_code": "000000"},
                  {"codes-password": "wrong password here", "codes-current_code": current_code(staff.email)}):
        refused = submit(browser, "/auth/security", {"action": "new_recovery_codes", **given})
        assert refused.status_code == 400
    fresh()
    assert set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == staff.id))) == before
    assert other.get("/desk/").status_code == 200

    done = submit(browser, "/auth/security", {"action": "new_recovery_codes", "codes-password": factories.PASSWORD,
                                              "codes-current_code": current_code(staff.email)})

    assert done.status_code == 200 and "recovery code" in text(done).lower()
    fresh()
    assert len(set(db.session.scalars(select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == staff.id, RecoveryCode.used_at.is_(None)))) - before) == 10
    assert other.get("/desk/").status_code == 302
    assert browser.get("/desk/").status_code == 200
    assert "second_factor.recovery_codes_made" in audit_actions(staff.id)


def test_a_patient_turning_two_step_login_on_gives_the_password(app):
    patient, browser = logged_in(app)
    secret = new_secret_on(browser)
    assert "Code from the app you use now" not in text(browser.get("/auth/enrol"))  # there is none yet

    refused = submit(browser, "/auth/enrol", {"code": totp.code_at(secret)})
    assert refused.status_code == 400 and stored_secret(patient.id) is None

    done = submit(browser, "/auth/enrol", {"code": totp.code_at(secret), "password": factories.PASSWORD})
    assert done.status_code == 200 and stored_secret(patient.id) == secret


# --- 2. a lockout that anyone who knows the email can hold ---------------------------------------

def guess(app, email: str, times: int, browser=None):
    """An outsider's wrong passwords, each from a browser that never logged in to the account."""
    for attempt in range(times):
        response = AuthActions(browser or app.test_client()).login(email, f"a wrong guess number {attempt}")
        assert response.status_code == 400


def test_an_outsiders_wrong_passwords_never_keep_the_owner_out_of_their_own_device(app):
    owner = factories.make_user(email="owner@example.com")
    fresh()
    laptop = app.test_client()
    assert AuthActions(laptop).login("owner@example.com").status_code == 302  # the owner's own device
    AuthActions(laptop).logout()

    guess(app, "owner@example.com", 10)
    fresh()
    assert db.session.get(User, owner.id).locked_until is not None  # new devices are paused

    assert AuthActions(app.test_client()).login("owner@example.com").status_code == 400  # a new device: paused
    assert AuthActions(laptop).login("owner@example.com").status_code == 302  # the owner's: in
    AuthActions(laptop).logout()
    with db.engine.begin() as connection:  # fifteen minutes later the outsider starts again
        connection.execute(db.update(User).where(User.id == owner.id).values(
            locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    guess(app, "owner@example.com", 10)
    assert AuthActions(laptop).login("owner@example.com").status_code == 302


def test_a_known_devices_own_wrong_passwords_are_limited_too(app):
    factories.make_user(email="owner@example.com")
    fresh()
    laptop = app.test_client()
    AuthActions(laptop).login("owner@example.com")
    AuthActions(laptop).logout()

    guess(app, "owner@example.com", 10, browser=laptop)

    assert AuthActions(laptop).login("owner@example.com").status_code == 400  # 10 guesses, then a pause
    assert AuthActions(app.test_client()).login("owner@example.com").status_code == 302  # counted apart


def test_a_forged_or_foreign_device_cookie_is_an_unknown_device(app):
    owner = factories.make_user(email="owner@example.com")
    fresh()
    guess(app, "owner@example.com", 10)
    browser = app.test_client()
    browser.set_cookie(DEVICE_COOKIE, f"[{owner.id}].forged")

    assert AuthActions(browser).login("owner@example.com").status_code == 400


def test_the_device_cookie_is_http_only_and_names_no_one(app):
    factories.make_user(email="owner@example.com")
    fresh()
    browser = app.test_client()

    response = AuthActions(browser).login("owner@example.com")

    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(DEVICE_COOKIE + "=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "owner" not in cookie


def test_the_per_address_limits_are_shared_by_every_process(database_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")  # as production runs: the limits follow it
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    shared = {"RATELIMIT_ENABLED": True, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    processes = [make_app(database_url, **shared), make_app(database_url, **shared)]
    statuses = []
    for attempt in range(21):
        process = processes[attempt % 2]
        with process.app_context():
            browser = process.test_client()
            token = csrf_token(text(browser.get("/auth/login")))
            statuses.append(browser.post("/auth/login", data={"csrf_token": token, "email": "x@example.com",
                                                              "password": "not it at all"}).status_code)
    for process in processes:
        with process.app_context():
            db.engine.dispose()

    assert 429 not in statuses[:20] and statuses[20] == 429  # 20 a minute for the address, whichever process
    counters = Redis.from_url("redis://127.0.0.1:6379/0").keys(f"*{shared['RATELIMIT_KEY_PREFIX']}*")
    assert counters  # in Redis, where another host's processes count too, not in this process's memory


def test_production_will_not_count_the_limits_in_one_process(database_url, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)  # as gunicorn starts it

    with pytest.raises(RuntimeError, match="REDIS_URL"):
        make_app(database_url, RATELIMIT_ENABLED=True, SECRET_KEY="s" * 48, PORTAL_ENV="production",
                 RATELIMIT_STORAGE_URI="memory://")
