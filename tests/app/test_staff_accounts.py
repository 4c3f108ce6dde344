"""Staff accounts through the pages an admin uses (CSRF on): adding a staff member, who is invited
by mail, chooses a password and sets up an authenticator; changing a role; deactivating and
reactivating; the clinic always keeping an active admin; and `flask create-admin` for the first."""
import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal.audit.models import AuditAction, AuditEvent
from portal.auth import staff, totp
from portal.auth.models import AccountToken, Role, User
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.notify.models import MessageKind, OutboxMessage
from tests import factories
from tests.client import AuthActions, browser_of, hidden_fields, logged_in, submit
from tests.conftest import make_app
from tests.mailbox import messages_to, password_link
from tests.pages import location, text

NEW_PASSWORD = "violet tractor harbour 1987"


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def counts() -> tuple[int, int, int, int]:
    """Accounts, links, queued messages and audit rows: what a refused post must leave as it was."""
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(table))
                 for table in (User, AccountToken, OutboxMessage, AuditEvent))


def add(browser, **fields):
    data = {"new-name": "Dana Newdesk", "new-email": "dana.new@clinic.example", "new-role": "desk"}
    data.update({f"new-{name}": value for name, value in fields.items()})
    return submit(browser, "/accounts/new", data, form_page="/accounts/")


def post_button(browser, url: str, **data):
    """A button of the Staff accounts page, as the admin's browser sends it."""
    page = browser.get("/accounts/")
    return browser.post(url, data={**hidden_fields(text(page)), **data})


def choose_password_and_log_in(app, email: str):
    """Open the invitation's link, choose a password, log in: the browser, at the authenticator step."""
    browser = app.test_client()
    link = password_link(email, MessageKind.INVITATION)
    chosen = submit(browser, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert location(chosen).startswith("/auth/login"), text(chosen)
    return browser, submit(browser, "/auth/login", {"email": email, "password": NEW_PASSWORD})


def test_an_added_desk_member_is_invited_chooses_a_password_enrols_and_opens_the_calendar(app):
    admin, browser = logged_in(app, Role.ADMIN, name="Alex Admin")

    response = add(browser, email="  Dana.New@Clinic.Example ")

    assert location(response) == "/accounts/"
    shown = text(browser.get("/accounts/"))
    assert "Dana Newdesk is added (front desk)" in shown and "dana.new@clinic.example" in shown
    user = db.session.scalar(select(User).where(User.email == "dana.new@clinic.example"))
    assert user.role == Role.DESK and user.active and not user.has_second_factor
    [mail] = messages_to("dana.new@clinic.example", MessageKind.INVITATION)
    assert "staff account" in mail.subject
    assert "You have a staff account at" in mail.text_body and "(role: front desk)" in mail.text_body
    assert "authenticator app" in mail.text_body and "registered you as a patient" not in mail.text_body
    [added] = audit_rows(AuditAction.STAFF_ADDED)
    assert added.user_id == admin.id and "front desk, by Alex Admin" in added.detail
    assert audit_rows(AuditAction.INVITATION_SENT)

    newcomer, response = choose_password_and_log_in(app, "dana.new@clinic.example")
    assert location(response) == "/auth/enrol"  # staff always set up the second factor
    assert newcomer.get("/desk/").status_code == 302  # not in until the code is confirmed
    page = text(newcomer.get("/auth/enrol"))
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    done = submit(newcomer, "/auth/enrol", {"code": totp.code_at(secret)})
    assert done.status_code == 200 and "recovery" in text(done).lower()
    assert newcomer.get("/desk/").status_code == 200


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "Please enter the person's name."),
    ({"name": "Dana\nNewdesk"}, "Please type the name on one line"),
    ({"email": "not-an-address"}, "That does not look like an email address"),
    ({"role": "patient"}, "Please choose a role: front desk, doctor, sonographer or administrator."),
    ({"role": "superuser"}, "Please choose a role: front desk, doctor, sonographer or administrator."),
])
def test_bad_input_is_refused_with_its_message_and_writes_nothing(app, fields, message):
    _, browser = logged_in(app, Role.ADMIN)
    before = counts()

    response = add(browser, **fields)

    assert response.status_code == 400 and message in text(response)
    assert counts() == before


def test_a_taken_email_in_any_case_is_refused_and_writes_nothing(app):
    factories.make_user(role=Role.PATIENT, email="taken@clinic.example")
    _, browser = logged_in(app, Role.ADMIN)
    before = counts()

    response = add(browser, email="Taken@Clinic.Example")

    assert response.status_code == 400 and "This email address already has an account here" in text(response)
    assert counts() == before


def test_a_change_of_role_ends_their_sessions_and_shows(app):
    _, admin = logged_in(app, Role.ADMIN)
    desk = factories.make_user(role=Role.DESK, name="Dana Desk")
    desk_browser = browser_of(app, desk)
    assert desk_browser.get("/desk/").status_code == 200

    response = post_button(admin, f"/accounts/{desk.id}/role", role="doctor")

    assert location(response) == f"/accounts/{desk.id}/clinician"  # a doctor's title, visits and hours next
    page = text(admin.get("/accounts/"))
    assert "Dana Desk is now doctor." in page
    assert db.session.get(User, desk.id).role == Role.DOCTOR
    assert desk_browser.get("/desk/").headers["Location"].startswith("/auth/login")  # logged out at once
    [changed] = audit_rows(AuditAction.ROLE_CHANGED)
    assert "from front desk to doctor" in changed.detail


def test_a_role_is_never_changed_to_or_from_patient(app):
    _, admin = logged_in(app, Role.ADMIN)
    desk = factories.make_user(role=Role.DESK)
    patient = factories.make_user(role=Role.PATIENT)
    before = counts()

    to_patient = post_button(admin, f"/accounts/{desk.id}/role", role="patient")
    from_patient = post_button(admin, f"/accounts/{patient.id}/role", role="desk")

    assert to_patient.status_code == 400 and "Please choose a role" in text(to_patient)
    assert from_patient.status_code == 400 and "That is not a staff account" in text(from_patient)
    assert counts() == before
    assert db.session.get(User, patient.id).role == Role.PATIENT


def test_a_deactivated_member_is_logged_out_at_once_cannot_log_in_and_can_be_reactivated(app):
    _, admin = logged_in(app, Role.ADMIN)
    doctor = factories.make_user(role=Role.DOCTOR, name="Dr. Gone")
    doctor_browser = browser_of(app, doctor)
    assert doctor_browser.get("/queue/").status_code == 200

    response = post_button(admin, f"/accounts/{doctor.id}/deactivate")

    assert location(response) == "/accounts/"
    assert "Dr. Gone's account is deactivated" in text(admin.get("/accounts/"))
    assert doctor_browser.get("/queue/").headers["Location"].startswith("/auth/login")
    assert AuthActions(app.test_client()).login(doctor.email).status_code == 400  # the login page, refused
    assert db.session.get(User, doctor.id) is not None  # kept: their past work stays theirs
    assert audit_rows(AuditAction.DEACTIVATED)

    response = post_button(admin, f"/accounts/{doctor.id}/reactivate")

    assert location(response) == "/accounts/"
    assert "active again" in text(admin.get("/accounts/"))
    assert AuthActions(app.test_client()).login(doctor.email).status_code == 302
    assert audit_rows(AuditAction.REACTIVATED)


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(app):
    only, admin = logged_in(app, Role.ADMIN, name="Only Admin")
    before = counts()

    demoted = post_button(admin, f"/accounts/{only.id}/role", role="desk")
    deactivated = post_button(admin, f"/accounts/{only.id}/deactivate")

    assert demoted.status_code == 400
    assert "Only Admin is the only active administrator, so they cannot be given another role" in text(demoted)
    assert deactivated.status_code == 400 and "You cannot deactivate your own account" in text(deactivated)
    assert counts() == before
    # Whoever asks (a closed admin account, a script), the last active admin stays one.
    closed = factories.make_user(role=Role.ADMIN)
    with write_transaction() as session:
        session.get(User, closed.id).active = False
    for change in (lambda: staff.change_role(only.id, Role.DOCTOR, by=closed),
                   lambda: staff.deactivate(only.id, by=closed)):
        with pytest.raises(staff.StaffChangeRefused, match="only active administrator"):
            change()
    db.session.rollback()
    assert db.session.get(User, only.id).role == Role.ADMIN and db.session.get(User, only.id).active


def test_an_admin_may_give_up_the_role_while_another_admin_remains(app):
    me, admin = logged_in(app, Role.ADMIN)
    factories.make_user(role=Role.ADMIN)

    response = post_button(admin, f"/accounts/{me.id}/role", role="doctor")

    assert location(response) == "/auth/login"  # the session ended with the old role
    assert db.session.get(User, me.id).role == Role.DOCTOR
    assert admin.get("/accounts/").headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DESK, Role.DOCTOR])
def test_only_an_admin_may_post_to_the_new_pages(app, role):
    target = factories.make_user(role=Role.DESK)
    _, browser = logged_in(app, role)
    token = hidden_fields(text(browser.get("/auth/security")))["csrf_token"]
    before = counts()
    for url, data in [("/accounts/new", {"new-name": "X Y", "new-email": "x@y.example", "new-role": "admin"}),
                      (f"/accounts/{target.id}/role", {"role": "admin"}),
                      (f"/accounts/{target.id}/deactivate", {}), (f"/accounts/{target.id}/reactivate", {})]:
        assert browser.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert counts() == before


# -- flask create-admin -------------------------------------------------------------------------

@pytest.fixture
def empty_portal(empty_database_url):
    """An app on a migrated database with no accounts at all, as production starts."""
    app = make_app(empty_database_url, PUBLIC_URL="https://portal.clinic.example")
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_create_admin_prints_one_link_that_works_for_a_day(empty_portal):
    result = empty_portal.test_cli_runner().invoke(args=["create-admin", "Boss@Clinic.Example", "--name", "Bea Boss"])

    assert result.exit_code == 0, result.output
    links = re.findall(r"https?://\S+", result.output)
    assert len(links) == 1 and links[0].startswith("https://portal.clinic.example/auth/password/set/")
    user = db.session.scalar(select(User).where(User.email == "boss@clinic.example"))
    assert user.role == Role.ADMIN and user.name == "Bea Boss"
    [token] = db.session.scalars(select(AccountToken).where(AccountToken.user_id == user.id))
    lifetime = token.expires_at - utc_now()
    assert 23.9 * 3600 < lifetime.total_seconds() <= 24 * 3600
    assert messages_to("boss@clinic.example") == []  # shown once, never kept in the outbox
    assert audit_rows(AuditAction.STAFF_ADDED)

    browser = empty_portal.test_client()
    path = links[0].removeprefix("https://portal.clinic.example")
    chosen = submit(browser, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert location(chosen).startswith("/auth/login")
    assert location(submit(browser, "/auth/login", {"email": "boss@clinic.example", "password": NEW_PASSWORD})) \
        == "/auth/enrol"


def test_create_admin_refuses_when_an_active_admin_exists_and_writes_nothing(app):
    factories.make_user(role=Role.ADMIN)
    before = counts()

    result = app.test_cli_runner().invoke(args=["create-admin", "second@clinic.example", "--name", "Second"])

    assert result.exit_code != 0 and "already has an active administrator" in result.output
    assert "http" not in result.output
    assert counts() == before


@pytest.mark.parametrize("name, message", [("Bea\nBoss", "on one line"), ("", "Please enter the person's name")])
def test_create_admin_refuses_a_refused_name_and_writes_nothing(empty_portal, name, message):
    result = empty_portal.test_cli_runner().invoke(args=["create-admin", "boss@clinic.example", "--name", name])

    assert result.exit_code != 0 and message in result.output
    assert counts() == (0, 0, 0, 0)


def test_create_admin_refuses_a_taken_email(empty_portal):
    factories.make_user(role=Role.DESK, email="boss@clinic.example")
    before = counts()

    result = empty_portal.test_cli_runner().invoke(args=["create-admin", "Boss@clinic.example", "--name", "Bea"])

    assert result.exit_code != 0 and "already has an account" in result.output
    assert counts() == before
