"""Sessions that end, logins that lock, and the staff second factor, tried as people would:
through the pages, with CSRF on, on one database shared by two app processes where it matters."""
import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update

from portal.audit.models import AuditAction, AuditEvent
from portal.auth import sessions, totp
from portal.auth.models import RecoveryCode, Role, User, WebSession
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.triage.browser import DRAFT_KEY, SUBMISSIONS_KEY
from tests import factories
from tests.client import AuthActions, csrf_token, current_code, logged_in, submit
from tests.conftest import make_app
from tests.factories import SAFE_ANSWERS

SAFETY = {key: value for key, value in SAFE_ANSWERS.items() if key not in ("age", "sex")}


def text(response) -> str:
    return response.get_data(as_text=True)


def cookie(browser) -> str | None:
    found = browser.get_cookie("portal_session")
    return found.value if found else None


def actions(*, account: User | None = None) -> list[str]:
    db.session.rollback()
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if account is not None:
        query = query.where((AuditEvent.user_id == account.id) | (AuditEvent.patient_id == account.id))
    return list(db.session.scalars(query))


# --- server-side sessions ---------------------------------------------------------------------

def test_the_cookie_holds_only_a_random_id_and_the_session_lives_on_the_server(app):
    _, browser = logged_in(app)
    sid = cookie(browser)
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", sid)
    assert "." not in sid  # not Flask's signed cookie, which carries the data itself (payload.time.signature)
    assert db.session.scalar(select(func.count()).select_from(WebSession).where(WebSession.session_id == sid)) == 1


def test_the_session_cookie_is_http_only_same_site_lax_and_secure_when_configured(database_url):
    for secure in (False, True):
        app = make_app(database_url, SESSION_COOKIE_SECURE=secure)
        with app.app_context():
            factories.make_user(email=f"c{int(secure)}@example.com")
            db.session.rollback()
            browser = app.test_client()
            response = AuthActions(browser).login(f"c{int(secure)}@example.com")
            header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("portal_session="))
            assert "HttpOnly" in header and "SameSite=Lax" in header
            assert ("Secure" in header) is secure
            assert "Expires" not in header  # gone when the browser closes; the server ends it sooner
            db.session.remove()
            db.engine.dispose()


def test_logging_in_gives_a_new_session_id_and_the_old_one_is_worth_nothing(app):
    user = factories.make_user(email="fix@example.com")
    db.session.rollback()
    attacker = app.test_client()
    attacker.get("/triage/step/safety")
    submit(attacker, "/triage/step/safety", SAFETY)  # the attacker's own session, with a draft in it
    planted = cookie(attacker)
    victim = app.test_client()
    victim.set_cookie("portal_session", planted)  # fixed on the victim's browser

    assert AuthActions(victim).login("fix@example.com").status_code == 302

    assert cookie(victim) != planted
    assert victim.get("/appointments/").status_code == 200
    attacker.set_cookie("portal_session", planted)
    assert attacker.get("/appointments/").headers["Location"].startswith("/auth/login")
    assert db.session.scalar(select(WebSession).where(WebSession.session_id == planted)) is None
    assert user.id


def test_after_logout_the_next_person_sees_no_answers_and_the_old_cookie_opens_nothing(app):
    factories.make_user(email="shared@example.com")
    db.session.rollback()
    browser = app.test_client()
    AuthActions(browser).login("shared@example.com")
    submit(browser, "/triage/step/safety", SAFETY)
    submit(browser, "/triage/step/about_you", {"age": "72", "sex": "female"})
    assert 'value="72"' in text(browser.get("/triage/step/about_you"))
    before_logout = cookie(browser)

    AuthActions(browser).logout()

    assert 'value="72"' not in text(browser.get("/triage/step/about_you"))
    assert browser.get("/triage/step/about_you").status_code in (200, 302)
    stolen = app.test_client()
    stolen.set_cookie("portal_session", before_logout)
    assert stolen.get("/appointments/").headers["Location"].startswith("/auth/login")
    from portal.triage.models import TriageDraft
    assert db.session.scalar(select(func.count()).select_from(TriageDraft)) == 0  # the answers are deleted


def test_logout_ends_every_session_of_that_account(app):
    user = factories.make_user(email="two@example.com")
    db.session.rollback()
    laptop, phone = app.test_client(), app.test_client()
    AuthActions(laptop).login("two@example.com")
    AuthActions(phone).login("two@example.com")
    assert phone.get("/appointments/").status_code == 200

    AuthActions(laptop).logout()

    assert phone.get("/appointments/").headers["Location"].startswith("/auth/login")
    assert actions(account=user)[-1] == AuditAction.LOGOUT


def test_log_out_everywhere_from_the_security_page(app):
    user, laptop = logged_in(app)
    phone = app.test_client()
    AuthActions(phone).login(user.email)

    response = submit(laptop, "/auth/security", {"action": "end_sessions"})

    assert response.headers["Location"] == "/auth/login"
    assert phone.get("/appointments/").status_code == 302
    assert laptop.get("/appointments/").status_code == 302
    assert AuditAction.SESSIONS_ENDED in actions(account=user)


def test_a_role_change_ends_the_accounts_sessions(app):
    user, browser = logged_in(app)
    with write_transaction() as session:
        session.get(User, user.id).role = Role.DESK
    assert browser.get("/").status_code == 200
    assert browser.get("/desk/").headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("role, idle_minutes", [(Role.PATIENT, 60), (Role.DESK, 30), (Role.DOCTOR, 30)])
def test_an_idle_session_is_logged_out(app, monkeypatch, role, idle_minutes):
    user, browser = logged_in(app, role)
    home = "/appointments/" if role == Role.PATIENT else "/"
    guarded = "/appointments/" if role == Role.PATIENT else "/auth/security"
    now = time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + (idle_minutes - 1) * 60)
    assert browser.get(home).status_code == 200  # still in, and the clock starts again from here

    monkeypatch.setattr(sessions.time, "time", lambda: now + (2 * idle_minutes - 1) * 60 - 30)
    assert browser.get(home).status_code == 200
    monkeypatch.setattr(sessions.time, "time", lambda: now + (3 * idle_minutes) * 60)
    response = browser.get(guarded)

    assert response.headers["Location"].startswith("/auth/login")
    assert f"logged out after {idle_minutes} minutes without activity" in text(browser.get("/auth/login"))


def test_a_session_ends_12_hours_after_login_however_busy(app, monkeypatch):
    _, browser = logged_in(app)
    now = time.time()
    for minutes in range(0, 12 * 60, 50):
        monkeypatch.setattr(sessions.time, "time", lambda m=minutes: now + m * 60)
        assert browser.get("/appointments/").status_code == 200
    monkeypatch.setattr(sessions.time, "time", lambda: now + 12 * 3600 + 60)
    assert browser.get("/appointments/").headers["Location"].startswith("/auth/login")


def test_sessions_live_in_redis_when_redis_url_is_set(database_url):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:6379/0")
    with app.app_context():
        user, browser = logged_in(app)
        sid = cookie(browser)
        assert client.exists(f"portal:session:{sid}")
        assert db.session.scalar(select(func.count()).select_from(WebSession)) == 0
        assert browser.get("/appointments/").status_code == 200
        AuthActions(browser).logout()
        assert not client.exists(f"portal:session:{sid}")
        db.session.remove()
        db.engine.dispose()


# --- lockout and rate limits --------------------------------------------------------------------

def login_message(response) -> str:
    match = re.search(r'<p class="error"[^>]*>([^<]+)</p>', text(response))
    return match.group(1) if match else ""


def test_ten_wrong_passwords_lock_the_account_with_the_same_message_as_an_unknown_email(app, database_url):
    user = factories.make_user(email="locked@example.com")
    db.session.rollback()
    unknown = login_message(AuthActions(app.test_client()).login("nobody@example.com", "whatever-it-is"))
    # Two app processes on one database: the count is the database's, not a process's.
    other_process = make_app(database_url)
    browsers = [app.test_client(), other_process.test_client()]
    for attempt in range(10):
        response = AuthActions(browsers[attempt % 2]).login("locked@example.com", f"wrong-guess-{attempt}")
        assert response.status_code == 400 and login_message(response) == unknown

    right_but_locked = AuthActions(app.test_client()).login("locked@example.com")

    assert right_but_locked.status_code == 400 and login_message(right_but_locked) == unknown
    db.session.rollback()
    assert db.session.get(User, user.id).locked_until > utc_now() + timedelta(minutes=14)
    assert actions(account=user).count(AuditAction.LOGIN_FAILED) == 11
    assert actions(account=user).count(AuditAction.LOCKED) == 1

    with write_transaction() as session:  # fifteen minutes later
        session.get(User, user.id).locked_until = utc_now() - timedelta(seconds=1)
    assert AuthActions(app.test_client()).login("locked@example.com").status_code == 302
    other_process.extensions["sqlalchemy"].engines[None].dispose()


def test_failures_spread_over_more_than_15_minutes_do_not_lock(app):
    user = factories.make_user(email="slow@example.com")
    db.session.rollback()
    for attempt in range(9):
        AuthActions(app.test_client()).login("slow@example.com", f"wrong-guess-{attempt}")
    with write_transaction() as session:
        session.get(User, user.id).failed_login_since = utc_now() - timedelta(minutes=16)
    AuthActions(app.test_client()).login("slow@example.com", "wrong-again-1")
    assert AuthActions(app.test_client()).login("slow@example.com").status_code == 302


def test_wrong_second_factor_codes_count_towards_the_lockout(app):
    staff = factories.make_user(role=Role.DESK, email="desk-guess@example.com")
    db.session.rollback()
    browser = app.test_client()
    submit(browser, "/auth/login", {"email": "desk-guess@example.com", "password": factories.PASSWORD})
    for _ in range(10):
        submit(browser, "/auth/verify", {"code": "000000"}, form_page="/auth/verify") \
            if browser.get("/auth/verify").status_code == 200 else None
    db.session.rollback()
    assert db.session.get(User, staff.id).locked_until is not None
    response = AuthActions(app.test_client()).login("desk-guess@example.com")
    assert response.status_code == 400


@pytest.mark.parametrize("url, data, limit", [
    ("/auth/login", {"email": "x@example.com", "password": "not-it-at-all"}, 20),
    ("/triage/step/safety", {}, 60),
])
def test_a_client_address_hammering_a_form_is_slowed_down(database_url, url, data, limit):
    app = make_app(database_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        browser = app.test_client()
        token = csrf_token(text(browser.get(url)))
        statuses = [browser.post(url, data={"csrf_token": token, **data}).status_code for _ in range(limit + 1)]
        assert 429 not in statuses[:limit]
        assert statuses[-1] == 429
        page = browser.post(url, data={"csrf_token": token, **data})
        assert "Too many tries" in text(page) and page.headers.get("Retry-After")
        other = app.test_client()  # another address is not affected
        assert other.post(url, data=data, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code != 429
        db.session.remove()
        db.engine.dispose()


# --- the second factor ----------------------------------------------------------------------------

def password_step(app, email):
    browser = app.test_client()
    response = submit(browser, "/auth/login", {"email": email, "password": factories.PASSWORD})
    return browser, response


def test_staff_need_the_code_from_their_app_after_the_password(app):
    staff = factories.make_user(role=Role.DOCTOR, email="dr@example.com")
    db.session.rollback()
    browser, response = password_step(app, "dr@example.com")
    assert response.headers["Location"] == "/auth/verify"
    assert browser.get("/queue/").headers["Location"].startswith("/auth/login")  # not in yet

    wrong = submit(browser, "/auth/verify", {"code": "123456"})
    assert wrong.status_code == 400 and "That code did not work" in text(wrong)
    right = submit(browser, "/auth/verify", {"code": current_code("dr@example.com")})

    assert right.status_code == 302
    assert browser.get("/queue/").status_code == 200
    assert actions(account=staff)[-1] == AuditAction.LOGIN


def test_a_code_is_never_accepted_twice(app):
    factories.make_user(role=Role.DESK, email="replay@example.com")
    db.session.rollback()
    first, _ = password_step(app, "replay@example.com")
    code = current_code("replay@example.com")
    assert submit(first, "/auth/verify", {"code": code}).status_code == 302
    second, _ = password_step(app, "replay@example.com")
    assert submit(second, "/auth/verify", {"code": code}).status_code == 400


def test_the_second_step_must_follow_the_password_within_five_minutes(app, monkeypatch):
    factories.make_user(role=Role.ADMIN, email="slowadmin@example.com")
    db.session.rollback()
    assert app.test_client().get("/auth/verify").headers["Location"] == "/auth/login"
    browser, _ = password_step(app, "slowadmin@example.com")
    later = time.time() + 301
    monkeypatch.setattr("portal.auth.views.time.time", lambda: later)
    assert browser.get("/auth/verify").headers["Location"] == "/auth/login"


def test_staff_without_a_second_factor_enrol_by_qr_code_and_get_ten_recovery_codes(app):
    staff = factories.make_user(role=Role.DESK, email="new-desk@example.com")
    with write_transaction() as session:
        session.get(User, staff.id).totp_confirmed_at = None
        session.get(User, staff.id).totp_secret = None
    browser, response = password_step(app, "new-desk@example.com")
    assert response.headers["Location"] == "/auth/enrol"
    page = text(browser.get("/auth/enrol"))
    assert 'src="data:image/svg+xml' in page  # drawn by the server; nothing fetched from elsewhere
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert browser.get("/desk/").status_code == 302  # not in until the code is confirmed

    done = submit(browser, "/auth/enrol", {"code": totp.code_at(secret)})

    codes = re.findall(r"<li><code>([A-Z0-9-]{19})</code></li>", text(done))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert browser.get("/desk/").status_code == 200
    db.session.rollback()
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == staff.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    assert db.session.get(User, staff.id).has_second_factor

    # A recovery code works once, instead of the app's code.
    AuthActions(browser).logout()
    again, _ = password_step(app, "new-desk@example.com")
    used = submit(again, "/auth/verify", {"code": codes[0].lower()})
    assert used.status_code == 302 and "9 left" in text(again.get("/"))
    third, _ = password_step(app, "new-desk@example.com")
    assert submit(third, "/auth/verify", {"code": codes[0]}).status_code == 400
    assert AuditAction.RECOVERY_CODE_USED in actions(account=staff)


def test_a_patient_may_turn_on_two_step_login_and_is_then_asked_for_the_code(app):
    patient, browser = logged_in(app)
    assert "Turn on two-step login" in text(browser.get("/auth/security"))
    page = text(browser.get("/auth/enrol"))
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    submit(browser, "/auth/enrol", {"code": totp.code_at(secret), "password": factories.PASSWORD})
    AuthActions(browser).logout()

    later, response = password_step(app, patient.email)

    assert response.headers["Location"] == "/auth/verify"
    assert AuditAction.SECOND_FACTOR_ENROLLED in actions(account=patient)


def patient_with_two_step_login(app):
    """A patient who turned two-step login on, logged in: (patient, browser)."""
    patient, browser = logged_in(app)
    page = text(browser.get("/auth/enrol"))
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    submit(browser, "/auth/enrol", {"code": totp.code_at(secret), "password": factories.PASSWORD})
    db.session.rollback()
    assert db.session.get(User, patient.id).has_second_factor
    return patient, browser


def turn_off(browser, password: str):
    return submit(browser, "/auth/security", {"action": "remove_second_factor", "off-current": password})


def test_turning_two_step_login_off_asks_for_the_password(app):
    patient, browser = patient_with_two_step_login(app)

    wrong = turn_off(browser, "not-my-password-1")
    missing = turn_off(browser, "")
    db.session.rollback()
    assert wrong.status_code == 400 and "That is not your password." in text(wrong)
    assert missing.status_code == 400 and "Please type your password." in text(missing)
    assert db.session.get(User, patient.id).has_second_factor
    assert AuditAction.SECOND_FACTOR_REMOVED not in actions(account=patient)

    done = turn_off(browser, factories.PASSWORD)

    assert done.headers["Location"] == "/auth/security"
    db.session.rollback()
    assert not db.session.get(User, patient.id).has_second_factor
    assert AuditAction.SECOND_FACTOR_REMOVED in actions(account=patient)
    assert "Turn on two-step login" in text(browser.get("/auth/security"))


def test_wrong_passwords_to_turn_two_step_login_off_lock_the_account_and_then_none_is_checked(app):
    patient, browser = patient_with_two_step_login(app)
    for attempt in range(10):
        assert turn_off(browser, f"not-my-password-{attempt}").status_code == 400

    refused = turn_off(browser, factories.PASSWORD)

    assert refused.status_code == 400
    assert "Too many wrong passwords were typed, so two-step login cannot be turned off until" in text(refused)
    db.session.rollback()
    assert db.session.get(User, patient.id).has_second_factor


def test_staff_cannot_turn_their_two_step_login_off(app):
    staff, browser = logged_in(app, Role.DOCTOR)
    page = text(browser.get("/auth/security"))
    assert "Turn two-step login off" not in page
    response = browser.post("/auth/security", data={"action": "remove_second_factor", "off-current": factories.PASSWORD,
                                                    "off-csrf_token": csrf_token(page)})
    assert response.status_code == 400
    db.session.rollback()
    assert db.session.get(User, staff.id).has_second_factor


def test_the_demo_staff_log_in_with_the_published_secret(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    browser = app.test_client()
    response = submit(browser, "/auth/login", {"email": "desk@example.com", "password": "demo-password-1"})
    assert response.headers["Location"] == "/auth/verify"
    code = totp.code_at("DEMOSTAFFSECRETPUBLISHEDFORTESTS")
    assert submit(browser, "/auth/verify", {"code": code}).status_code == 302
    assert browser.get("/desk/").status_code == 200
    db.session.rollback()
    # The desk, the admin and four clinicians.
    assert db.session.scalar(select(func.count()).select_from(User).where(
        User.role != Role.PATIENT, User.totp_secret == "DEMOSTAFFSECRETPUBLISHEDFORTESTS")) == 6
    # 160 bits: plain pyotp (and so any authenticator app) takes it, with no allowance of ours.
    assert len(pyotp.TOTP("DEMOSTAFFSECRETPUBLISHEDFORTESTS").now()) == 6


def test_logins_and_failures_are_audited_with_the_address(app):
    user = factories.make_user(email="audited@example.com")
    db.session.rollback()
    AuthActions(app.test_client()).login("audited@example.com", "wrong-password-here")
    AuthActions(app.test_client()).login("audited@example.com")
    db.session.rollback()
    rows = db.session.execute(select(AuditEvent.action, AuditEvent.ip_address).where(
        AuditEvent.patient_id == user.id).order_by(AuditEvent.id)).all()
    assert [tuple(r) for r in rows] == [(AuditAction.LOGIN_FAILED, "127.0.0.1"), (AuditAction.LOGIN, "127.0.0.1")]
    with write_transaction() as session:
        session.execute(update(User).where(User.id == user.id).values(failed_login_count=0))


# --- administrators --------------------------------------------------------------------------------

def test_an_admin_ends_a_patients_sessions_from_their_record(app):
    patient, patient_browser = logged_in(app)
    _, admin = logged_in(app, Role.ADMIN)
    record = f"/desk/patients/{patient.id}"
    assert "End " in text(admin.get(record))

    response = submit(admin, f"/accounts/{patient.id}/end-sessions", {"next": record}, form_page=record)

    assert response.headers["Location"] == record
    assert patient_browser.get("/appointments/").headers["Location"].startswith("/auth/login")
    db.session.rollback()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.SESSIONS_ENDED)).one()
    assert event.patient_id == patient.id and event.user_id != patient.id


def test_an_admin_resets_a_lost_authenticator_and_unlocks_an_account(app):
    staff, staff_browser = logged_in(app, Role.DOCTOR)
    admin_user, admin = logged_in(app, Role.ADMIN)
    page = text(admin.get("/accounts/"))
    assert staff.name in page and "Reset authenticator" in page

    submit(admin, f"/accounts/{staff.id}/reset-second-factor", form_page="/accounts/")

    assert staff_browser.get("/queue/").headers["Location"].startswith("/auth/login")
    _, response = password_step(app, staff.email)
    assert response.headers["Location"] == "/auth/enrol"  # a new phone at the next login

    with write_transaction() as session:
        session.get(User, staff.id).locked_until = utc_now() + timedelta(minutes=10)
    assert "Unlock" in text(admin.get("/accounts/"))
    submit(admin, f"/accounts/{staff.id}/unlock", form_page="/accounts/")
    db.session.rollback()
    assert db.session.get(User, staff.id).locked_until is None
    by_admin = db.session.execute(select(AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.user_id == admin_user.id, AuditEvent.action != AuditAction.LOGIN)).all()
    assert {(action, f"(account {staff.id})" in detail) for action, detail in by_admin} == {
        (AuditAction.SECOND_FACTOR_REMOVED, True), (AuditAction.UNLOCKED, True)}


def test_changing_the_password_logs_out_every_other_device_and_keeps_this_one(app):
    user, laptop = logged_in(app)
    phone = app.test_client()
    AuthActions(phone).login(user.email)

    wrong = submit(laptop, "/auth/security", {"action": "change_password", "current": "not-my-password-1",
                                              "password": "violet kettle harbour", "confirm": "violet kettle harbour"})
    assert wrong.status_code == 400 and "That is not your current password." in text(wrong)
    weak = submit(laptop, "/auth/security", {"action": "change_password", "current": factories.PASSWORD,
                                             "password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 400
    done = submit(laptop, "/auth/security", {"action": "change_password", "current": factories.PASSWORD,
                                             "password": "violet kettle harbour", "confirm": "violet kettle harbour"})

    assert done.headers["Location"] == "/auth/security"
    assert laptop.get("/appointments/").status_code == 200
    assert phone.get("/appointments/").headers["Location"].startswith("/auth/login")
    assert AuthActions(app.test_client()).login(user.email, "violet kettle harbour").status_code == 302
    assert AuditAction.PASSWORD_CHANGED in actions(account=user)


def test_a_locked_account_checks_no_password_on_the_change_form_until_the_lock_ends(app):
    """Ten wrong current passwords lock the account, as ten wrong logins do; after that even the
    right one changes nothing, so a stolen session cannot go on guessing here."""
    user, laptop = logged_in(app)
    change = {"action": "change_password", "password": "violet kettle harbour", "confirm": "violet kettle harbour"}
    for attempt in range(10):
        wrong = submit(laptop, "/auth/security", {**change, "current": f"not-my-password-{attempt}"})
        assert wrong.status_code == 400
    db.session.rollback()
    assert db.session.get(User, user.id).known_device_locked_until is not None  # a session counts as a known device

    refused = submit(laptop, "/auth/security", {**change, "current": factories.PASSWORD})

    assert refused.status_code == 400
    assert "Too many wrong passwords were typed, so the password cannot be changed until" in text(refused)
    db.session.rollback()
    assert db.session.get(User, user.id).check_password(factories.PASSWORD)
    assert AuditAction.PASSWORD_CHANGED not in actions(account=user)


def test_a_login_on_one_app_process_is_honoured_by_another_and_so_is_the_logout(app, database_url):
    """Nothing of a session lives in a process: two app instances on one database share them."""
    other = make_app(database_url)
    user, browser = logged_in(app)
    sid = cookie(browser)
    elsewhere = other.test_client()
    elsewhere.set_cookie("portal_session", sid)

    assert elsewhere.get("/appointments/").status_code == 200
    AuthActions(elsewhere).logout()
    assert browser.get("/appointments/").headers["Location"].startswith("/auth/login")
    other.extensions["sqlalchemy"].engines[None].dispose()
    assert user.id


def test_a_logged_in_page_does_not_rewrite_the_session_when_nothing_in_it_changed(app):
    _, browser = logged_in(app)
    browser.get("/appointments/")  # the first page after logging in may note the time it was seen

    again = browser.get("/appointments/")

    assert again.status_code == 200
    assert not any(h.startswith("portal_session=") for h in again.headers.getlist("Set-Cookie"))


def test_a_login_carries_the_questionnaires_keys_over():
    """auth sits below triage, so it names triage's session keys itself: they must stay the same."""
    assert set(sessions.CARRIED_INTO_LOGIN) == {DRAFT_KEY, SUBMISSIONS_KEY}
