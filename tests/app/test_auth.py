"""Accounts through the test client: register, log in, log out, `next`, inactive users, role guards."""
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.extensions import db
from tests import factories
from tests.client import AuthActions, csrf_token, hidden_fields, submit
from tests.pages import text

VALID_REGISTRATION = {
    "name": "Pat Example",
    "email": "pat@example.com",
    "date_of_birth": "1975-04-12",
    "phone": "(555) 010-1234",
    "password": "a long enough password",
    "confirm": "a long enough password",
}


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


# --- registering --------------------------------------------------------------------------------

def test_register_with_valid_data_logs_in_and_opens_my_appointments(client):
    response = submit(client, "/auth/register", VALID_REGISTRATION)

    assert response.status_code == 302
    assert response.headers["Location"] == "/appointments/"
    page = client.get("/appointments/")
    assert page.status_code == 200
    assert "Welcome! Your account is ready." in text(page)

    user = stored_user("pat@example.com")
    assert user is not None
    assert user.role == Role.PATIENT
    assert user.name == "Pat Example"
    assert user.date_of_birth == date(1975, 4, 12)
    assert user.password_hash.startswith("$argon2")
    assert "a long enough password" not in user.password_hash
    assert user.check_password("a long enough password")


def test_register_stores_the_email_in_lower_case(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "email": "Pat.Mixed@Example.COM"})

    assert response.status_code == 302
    assert stored_user("pat.mixed@example.com") is not None


def test_register_accepts_an_email_with_surrounding_spaces(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "email": " pat@example.com "})

    assert response.status_code == 302
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
    assert is_anonymous(client)


def test_register_refuses_a_short_password(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "password": "short", "confirm": "short"})

    assert response.status_code == 400
    assert "Your password needs at least 10 characters." in text(response)
    assert user_count() == 0


def test_register_refuses_a_confirmation_that_does_not_match(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "confirm": "a different password"})

    assert response.status_code == 400
    assert "The two passwords are not the same." in text(response)
    assert user_count() == 0


def test_register_keeps_what_was_typed_except_passwords(client):
    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "phone": "call me"})

    page = response.get_data(as_text=True)
    assert 'value="Pat Example"' in page
    assert 'value="pat@example.com"' in page
    assert "a long enough password" not in page


def test_register_refuses_an_email_already_used_in_another_case(client):
    factories.make_user(email="pat@example.com")

    response = submit(client, "/auth/register", {**VALID_REGISTRATION, "email": "Pat@Example.com"})

    assert response.status_code == 400
    assert "An account with this email already exists" in text(response)
    assert user_count() == 1
    assert is_anonymous(client)


def test_register_without_csrf_token_is_refused(client):
    response = client.post("/auth/register", data=VALID_REGISTRATION)

    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert user_count() == 0


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

    assert response.status_code == 302
    assert response.headers["Location"] == "/appointments/"


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


# --- role guards --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.DESK, Role.DOCTOR, Role.ADMIN])
@pytest.mark.parametrize("url", ["/book/", "/appointments/", "/book/confirm"])
def test_staff_get_403_on_patient_pages(client, role, url):
    user = factories.make_user(role=role)
    login = AuthActions(client).login(user.email)
    assert login.status_code == 302 and login.headers["Location"] == "/"

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
