"""Accounts through the test client: register, log in, log out, `next`, inactive users, role guards.

Registering answers "check your email" whether or not the address has an account; the patient
chooses their password through the link mailed to them (tests/mailbox.py reads the outbox)."""
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import AccountToken, Role, User
from portal.extensions import db
from portal.notify.models import MessageKind
from tests import factories
from tests.client import AuthActions, csrf_token, hidden_fields, submit
from tests.mailbox import links_in, messages_to, password_link
from tests.pages import location, text

VALID_REGISTRATION = {
    "name": "Pat Example",
    "email": "pat@example.com",
    "date_of_birth": "1975-04-12",
    "phone": "(555) 010-1234",
}
NEW_PASSWORD = "rivers and mountains in spring"
# Where staff land after logging in: the desk and admins on today's calendar, doctors and
# sonographers on "My day".
STAFF_START_PAGES = {Role.DESK: "/desk/", Role.DOCTOR: "/my-day/", Role.SONOGRAPHER: "/my-day/", Role.ADMIN: "/desk/"}


def user_count() -> int:
    db.session.rollback()  # end the test's read snapshot, so rows the app wrote are seen
    return db.session.scalar(select(func.count()).select_from(User))


def stored_user(email: str) -> User | None:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


def is_logged_in_as_patient(client) -> bool:
    return client.get("/appointments/").status_code == 200


def is_anonymous(client) -> bool:
    response = client.get("/appointments/")
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/login"


def choose_password(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return submit(client, link, {"password": password, "confirm": password if confirm is None else confirm})


# --- registering --------------------------------------------------------------------------------

def test_register_sends_a_link_to_choose_a_password_and_logs_nobody_in(client):
    response = submit(client, "/auth/register", VALID_REGISTRATION)

    assert response.status_code == 302
    assert location(response) == "/auth/register/sent"
    page = text(client.get(response.headers["Location"]))
    assert "Check your email" in page
    assert "We have sent a message to pat@example.com." in page
    assert is_anonymous(client)

    user = stored_user("pat@example.com")
    assert (user.role, user.name, user.date_of_birth) == (Role.PATIENT, "Pat Example", date(1975, 4, 12))
    assert user.password_hash.startswith("$argon2")  # a random secret nobody knows, until the link
    [invitation] = messages_to("pat@example.com", MessageKind.INVITATION)
    assert invitation.subject.startswith("Finish creating your")
    assert "Dear Pat Example" in invitation.text_body
    assert password_link("pat@example.com", MessageKind.INVITATION).startswith("/auth/password/set/")


def test_the_new_patient_chooses_a_password_through_the_link_and_is_logged_in(app, client):
    submit(client, "/auth/register", VALID_REGISTRATION)
    link = password_link("pat@example.com", MessageKind.INVITATION)

    page = client.get(link)
    assert page.status_code == 200
    assert "Choose a password" in text(page) and "pat@example.com" in text(page)
    chosen = choose_password(client, link)

    assert location(chosen) == "/appointments/"  # logged in by the link: no second login
    assert "Your password is set." in text(client.get(chosen.headers["Location"]))
    assert is_logged_in_as_patient(client)
    assert stored_user("pat@example.com").check_password(NEW_PASSWORD)
    other = app.test_client()
    logged = AuthActions(other).login("pat@example.com", NEW_PASSWORD)
    assert logged.status_code == 302 and logged.headers["Location"] == "/appointments/"
    assert other.get(link).status_code == 404  # the link worked once


@pytest.mark.parametrize("password, message", [
    ("password1234", "This password is too common"),
    ("green apple", "Your password needs at least 12 characters."),  # 11 characters
    ("Pat Example 1975", "Please do not use your name or email address in your password"),
    ("pat@example.com", "Please do not use your name or email address in your password"),
    ("x" * 129, "Your password can have at most 128 characters."),
])
def test_the_password_chosen_after_registering_follows_the_policy(client, password, message):
    submit(client, "/auth/register", VALID_REGISTRATION)
    link = password_link("pat@example.com", MessageKind.INVITATION)

    response = choose_password(client, link, password)

    assert response.status_code == 400
    assert message in text(response)
    assert not stored_user("pat@example.com").check_password(password)
    assert client.get(link).status_code == 200  # a refused password does not spend the link


def test_the_password_chosen_after_registering_must_be_typed_twice_the_same(client):
    submit(client, "/auth/register", VALID_REGISTRATION)
    link = password_link("pat@example.com", MessageKind.INVITATION)

    response = choose_password(client, link, NEW_PASSWORD, confirm="rivers and mountains in summer")

    assert response.status_code == 400
    assert "The two passwords are not the same." in text(response)
    assert not stored_user("pat@example.com").check_password(NEW_PASSWORD)


def test_register_stores_the_email_in_lower_case(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "email": "Pat.Mixed@Example.COM"})

    assert location(response) == "/auth/register/sent"
    assert stored_user("pat.mixed@example.com") is not None
    assert messages_to("pat.mixed@example.com", MessageKind.INVITATION)


def test_register_accepts_an_email_with_surrounding_spaces(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "email": " pat@example.com "})

    assert location(response) == "/auth/register/sent"
    assert stored_user("pat@example.com") is not None


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "Please enter your name."),
    ("name", "   ", "Please enter your name."),
    ("email", "", "Please enter your email address."),
    ("email", "not-an-email", "That does not look like an email address"),
    ("email", "pat@", "That does not look like an email address"),
    ("date_of_birth", (date.today() + timedelta(days=30)).isoformat(), "Date of birth cannot be in the future."),
    ("date_of_birth", "", "Please enter your date of birth."),
    ("phone", "call me", "Enter a phone number with 7 to 15 digits"),
    ("phone", "12", "Enter a phone number with 7 to 15 digits"),
    ("phone", "", "Please enter a phone number."),
], ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None)
def test_register_refuses_a_bad_field_with_a_clear_message(client, field, value, message):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, field: value})

    assert response.status_code == 400
    assert message in text(response)
    assert user_count() == 0
    assert messages_to(VALID_REGISTRATION["email"]) == []
    assert is_anonymous(client)


def test_register_keeps_what_was_typed(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "phone": "call me"})

    page = response.get_data(as_text=True)
    assert 'value="Pat Example"' in page
    assert 'value="pat@example.com"' in page


def _as_answered(response) -> tuple:
    """What a registering visitor's browser gets back, less the CSRF token and request id."""
    body = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "csrf", response.get_data(as_text=True))
    return response.status_code, response.headers.get("Location"), body


def test_registering_an_email_in_use_answers_exactly_as_a_new_one(app):
    first, second = app.test_client(), app.test_client()
    new = submit(first, "/auth/register", {**VALID_REGISTRATION, "email": "Pat@Example.com"})
    again = submit(second, "/auth/register", {**VALID_REGISTRATION, "email": "Pat@Example.com"})

    assert _as_answered(again) == _as_answered(new)
    assert _as_answered(second.get(again.headers["Location"])) == _as_answered(first.get(new.headers["Location"]))
    assert user_count() == 1
    assert is_anonymous(first) and is_anonymous(second)


def test_registering_an_email_in_use_tells_its_owner_by_mail_and_changes_nothing(client):
    owner = factories.make_user(email="pat@example.com", name="Pat Owner")
    owner_id = owner.id

    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "email": "PAT@example.com"})
    submit(client, "/auth/register", VALID_REGISTRATION)  # and again, at once

    assert location(response) == "/auth/register/sent"
    assert user_count() == 1
    stored = stored_user("pat@example.com")
    assert (stored.name, stored.date_of_birth) == ("Pat Owner", date(1960, 1, 1))
    assert stored.check_password(factories.PASSWORD)
    assert db.session.scalars(select(AccountToken)).all() == []  # no link: the owner has a password
    [note] = messages_to("pat@example.com")  # one note an hour, however often someone tries
    assert note.kind == MessageKind.ACCOUNT_EXISTS
    assert "Someone tried to create a new account" in note.text_body and "Dear Pat Owner" in note.text_body
    assert set(links_in(note)) == {"/auth/login", "/auth/password/forgot"}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.REGISTRATION_REPEATED)).all()
    assert [(event.patient_id, event.user_id) for event in events] == [(owner_id, owner_id)] * 2
    assert AuthActions(client).login("pat@example.com").status_code == 302


def test_register_without_csrf_token_is_refused(client):
    response = client.post("/auth/register", data=VALID_REGISTRATION)

    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert user_count() == 0


def test_register_carries_next_through_the_link(client):
    submit(client, "/auth/register?next=/book/", VALID_REGISTRATION, form_page="/auth/register?next=/book/")
    link = password_link("pat@example.com", MessageKind.INVITATION)
    assert parse_qs(urlsplit(link).query) == {"next": ["/book/"]}

    chosen = choose_password(client, link)

    assert chosen.headers["Location"] == "/book/"


# --- logging in ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["pat@example.com", "PAT@EXAMPLE.COM", "Pat@Example.com", " pat@example.com "])
def test_login_works_with_the_email_in_any_case(client, typed):
    factories.make_user(email="pat@example.com")

    response = AuthActions(client).login(typed)

    assert response.status_code == 302
    assert response.headers["Location"] == "/appointments/"
    assert is_logged_in_as_patient(client)


def test_login_with_a_wrong_password_does_not_log_in(client):
    factories.make_user(email="pat@example.com")

    response = AuthActions(client).login("pat@example.com", "not-the-password")

    assert response.status_code == 400
    assert "That email and password do not match an account." in text(response)
    assert is_anonymous(client)


def test_login_with_an_unknown_email_gives_the_same_message(client):
    response = AuthActions(client).login("nobody@example.com")

    assert response.status_code == 400
    assert "That email and password do not match an account." in text(response)
    assert is_anonymous(client)


def test_login_without_csrf_token_is_refused(client):
    factories.make_user(email="pat@example.com")

    response = client.post("/auth/login", data={"email": "pat@example.com", "password": factories.PASSWORD})

    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert is_anonymous(client)


def test_login_with_a_wrong_csrf_token_is_refused(client):
    factories.make_user(email="pat@example.com")
    page = client.get("/auth/login")
    fields = {**hidden_fields(page.get_data(as_text=True)), "csrf_token": "forged"}

    response = client.post("/auth/login", data={**fields, "email": "pat@example.com", "password": factories.PASSWORD})

    assert response.status_code == 400
    assert is_anonymous(client)


def test_an_inactive_user_cannot_log_in(client):
    user = factories.make_user(email="gone@example.com")
    user.active = False
    db.session.commit()

    response = AuthActions(client).login("gone@example.com")

    assert response.status_code == 400
    assert "do not match" in text(response)
    assert is_anonymous(client)


def test_a_user_deactivated_while_logged_in_loses_access(client):
    user = factories.make_user(email="pat@example.com")
    AuthActions(client).login("pat@example.com")
    assert is_logged_in_as_patient(client)

    user.active = False
    db.session.commit()

    assert is_anonymous(client)


# --- next ---------------------------------------------------------------------------------------

def test_login_follows_next_to_a_page_of_this_site(client):
    factories.make_user(email="pat@example.com")

    response = submit(client, "/auth/login?next=/book/", {"email": "pat@example.com", "password": factories.PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/book/"


@pytest.mark.parametrize("target", [
    "http://evil.example/steal",
    "https://evil.example",
    "//evil.example/steal",
    "https:evil.example",
    "javascript:alert(1)",
    "evil.example",
])
def test_login_ignores_next_pointing_off_site(client, target):
    factories.make_user(email="pat@example.com")

    response = client.get("/auth/login", query_string={"next": target})
    fields = hidden_fields(response.get_data(as_text=True))
    response = client.post("/auth/login", query_string={"next": target},
                           data={**fields, "email": "pat@example.com", "password": factories.PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/appointments/"


def test_login_never_sends_a_raw_backslash_path(client):
    """Browsers read "/\\evil.example" as "//evil.example"; it must not reach them as is."""
    factories.make_user(email="pat@example.com")

    response = client.get("/auth/login", query_string={"next": "/\\evil.example"})
    fields = hidden_fields(response.get_data(as_text=True))
    response = client.post("/auth/login", query_string={"next": "/\\evil.example"},
                           data={**fields, "email": "pat@example.com", "password": factories.PASSWORD})

    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\\" not in location
    assert not location.startswith("//")


def test_register_ignores_next_pointing_off_site(client):
    response = submit(client, "/auth/register?next=http://evil.example/", VALID_REGISTRATION,
                      form_page="/auth/register?next=http://evil.example/")

    assert response.headers["Location"] == "/auth/register/sent"
    link = password_link("pat@example.com", MessageKind.INVITATION)
    assert "evil" not in link
    assert choose_password(client, link).headers["Location"] == "/appointments/"


# --- logging out --------------------------------------------------------------------------------

def test_logout_by_get_is_not_allowed_and_keeps_the_session(client):
    factories.make_user(email="pat@example.com")
    AuthActions(client).login("pat@example.com")

    response = client.get("/auth/logout")

    assert response.status_code == 405
    assert is_logged_in_as_patient(client)


def test_logout_without_csrf_token_is_refused(client):
    factories.make_user(email="pat@example.com")
    AuthActions(client).login("pat@example.com")

    response = client.post("/auth/logout")

    assert response.status_code == 400
    assert is_logged_in_as_patient(client)


def test_logout_with_csrf_token_logs_out(client):
    factories.make_user(email="pat@example.com")
    auth = AuthActions(client)
    auth.login("pat@example.com")

    response = auth.logout()

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "You are logged out." in text(client.get("/"))
    assert is_anonymous(client)


def test_the_logout_button_carries_a_csrf_token(client):
    factories.make_user(email="pat@example.com")
    AuthActions(client).login("pat@example.com")

    page = client.get("/appointments/").get_data(as_text=True)

    assert 'action="/auth/logout"' in page
    assert csrf_token(page)


@pytest.mark.parametrize("role, title, menu", [
    (Role.DESK, "Calendar", ["Calendar", "Patients", "Schedules"]),
    (Role.DOCTOR, "My day", ["My day", "Triage queue"]),
    (Role.SONOGRAPHER, "My day", ["My day"]),
    (Role.ADMIN, "Calendar", ["Calendar", "Audit log", "Staff accounts"]),
])
def test_staff_land_on_their_own_start_page_after_logging_in(client, role, title, menu):
    """Not the patients' home page: the desk and admins start on today's calendar (the audit log
    one click away for admins), doctors and sonographers on their own day's visits."""
    user = factories.make_user(role=role)
    login = AuthActions(client).login(user.email)
    assert location(login) == STAFF_START_PAGES[role]
    page = client.get(location(login))
    assert page.status_code == 200
    assert f"<title>{title}" in text(page)
    if role in (Role.DESK, Role.ADMIN):
        assert "Today</span></h1>" in text(page)  # today's calendar, not another day
    menu_links = re.findall(r'<nav aria-label="Main">(.*?)</nav>', text(page), re.S)[0]
    assert all(f">{name}</a>" in menu_links for name in menu)
    if role == Role.SONOGRAPHER:
        assert ">Triage queue</a>" not in menu_links


# --- role guards --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.DESK, Role.DOCTOR, Role.SONOGRAPHER, Role.ADMIN])
@pytest.mark.parametrize("url", ["/book/", "/appointments/", "/book/confirm"])
def test_staff_get_403_on_patient_pages(client, role, url):
    user = factories.make_user(role=role)
    login = AuthActions(client).login(user.email)
    assert login.status_code == 302 and login.headers["Location"] == STAFF_START_PAGES[role]

    response = client.get(url)

    assert response.status_code == 403
    assert "You do not have access to this page" in text(response)


@pytest.mark.parametrize("url", ["/book/", "/appointments/", "/appointments/1/cancel", "/appointments/1/reschedule"])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query)["next"] == [url]
    assert "Please log in to see that page." in text(client.get(response.headers["Location"]))
