"""Forgotten passwords and invitations through the test client, with CSRF on: the link comes out
of the outbox row as the person would read it in their mail (tests/mailbox.py)."""
import email
import email.policy
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import AccountToken, Role, TokenPurpose, User
from portal.database import write_transaction
from portal.extensions import db
from portal.notify.models import MessageKind, OutboxMessage
from portal.notify.worker import send_due
from tests import factories
from tests.client import AuthActions, csrf_token, logged_in, submit
from tests.conftest import make_app
from tests.mailbox import messages_to, password_link
from tests.pages import location, main, text, words

NEW_PASSWORD = "rivers and mountains in spring"
SAME_ANSWER = "we have sent it a link to choose a new password"


def ask_for_a_reset(client, email: str):
    return submit(client, "/auth/password/forgot", {"email": email})


def choose_password(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return submit(client, link, {"password": password, "confirm": password if confirm is None else confirm})


def stored_user(email: str) -> User:
    db.session.rollback()  # see what the app committed
    return db.session.scalar(select(User).where(User.email == email))


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def reset_link_for(client, email: str) -> str:
    assert location(ask_for_a_reset(client, email)) == "/auth/password/forgot/sent"
    return password_link(email, MessageKind.PASSWORD_RESET)


def no_longer_works(response) -> bool:
    return response.status_code == 404 and "This link no longer works" in text(response) and \
        'href="/auth/password/forgot"' in main(response)


# --- asking -------------------------------------------------------------------------------------

def test_the_login_page_offers_forgot_your_password(client):
    page = client.get("/auth/login")

    assert '<a href="/auth/password/forgot">Forgot your password?</a>' in page.get_data(as_text=True)
    assert client.get("/auth/password/forgot").status_code == 200


def test_a_reset_link_is_mailed_and_only_its_hash_is_kept(client):
    user = factories.make_user(email="pat@example.com", name="Pat Example")
    user_id = user.id

    response = ask_for_a_reset(client, "Pat@Example.com ")

    assert location(response) == "/auth/password/forgot/sent"
    page = words(main(client.get(response.headers["Location"])))
    assert f"If an account uses pat@example.com, {SAME_ANSWER}." in page
    assert "Check your email" in page
    [message] = messages_to("pat@example.com", MessageKind.PASSWORD_RESET)
    assert message.subject.startswith("Choose a new password")
    assert "Dear Pat Example" in message.text_body and "The link works once, until" in message.text_body
    link = password_link("pat@example.com", MessageKind.PASSWORD_RESET)
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes
    [stored] = db.session.scalars(select(AccountToken)).all()
    assert (stored.user_id, stored.purpose, stored.used_at) == (user_id, TokenPurpose.PASSWORD_RESET, None)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert timedelta(minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=1)
    [asked] = audit_rows(AuditAction.PASSWORD_RESET_REQUESTED)
    assert asked.patient_id == user_id and "a link sent" in asked.detail


def test_an_unknown_email_gets_the_same_answer_and_no_message(app):
    factories.make_user(email="known@example.com")
    known_browser, unknown_browser = app.test_client(), app.test_client()

    known = ask_for_a_reset(known_browser, "known@example.com")
    unknown = ask_for_a_reset(unknown_browser, "nobody@example.com")

    assert (unknown.status_code, unknown.headers["Location"]) == (known.status_code, known.headers["Location"])
    known_page = known_browser.get(known.headers["Location"]).get_data(as_text=True)
    unknown_page = unknown_browser.get(unknown.headers["Location"]).get_data(as_text=True)
    assert unknown_page == known_page.replace("known@example.com", "nobody@example.com")
    assert messages_to("nobody@example.com") == []
    assert len(messages_to("known@example.com", MessageKind.PASSWORD_RESET)) == 1
    unknown_row = audit_rows(AuditAction.PASSWORD_RESET_REQUESTED)[-1]
    assert (unknown_row.patient_id, unknown_row.user_id) == (None, None)
    assert unknown_row.detail == "no account with that email"  # never the address typed


def test_a_closed_account_gets_the_same_answer_and_no_link(client):
    user = factories.make_user(email="gone@example.com")
    user.active = False
    db.session.commit()

    response = ask_for_a_reset(client, "gone@example.com")

    assert location(response) == "/auth/password/forgot/sent"
    assert messages_to("gone@example.com") == []


def test_a_badly_typed_address_is_explained(client):
    response = ask_for_a_reset(client, "not-an-email")

    assert response.status_code == 400
    assert "That does not look like an email address" in text(response)


def test_asking_again_voids_the_older_link(client):
    factories.make_user(email="pat@example.com")
    older = reset_link_for(client, "pat@example.com")
    newer = reset_link_for(client, "pat@example.com")

    assert older != newer
    assert no_longer_works(client.get(older))
    assert client.get(newer).status_code == 200


def test_at_most_five_links_an_hour_go_to_one_account(client):
    factories.make_user(email="pat@example.com")

    for _ in range(7):
        assert location(ask_for_a_reset(client, "pat@example.com")) == "/auth/password/forgot/sent"

    assert len(messages_to("pat@example.com", MessageKind.PASSWORD_RESET)) == 5
    assert "not sent: 5 links in the last hour already" in audit_rows(AuditAction.PASSWORD_RESET_REQUESTED)[-1].detail


# --- using the link -----------------------------------------------------------------------------

def test_the_link_sets_a_new_password_once(app, client):
    factories.make_user(email="pat@example.com")
    link = reset_link_for(client, "pat@example.com")

    page = client.get(link)
    assert page.status_code == 200 and "Choose a new password" in text(page)
    response = choose_password(client, link)

    assert location(response) == "/appointments/"  # a patient is logged in by the link
    assert "Your new password is set" in text(client.get(response.headers["Location"]))
    user = stored_user("pat@example.com")
    assert user.check_password(NEW_PASSWORD) and not user.check_password(factories.PASSWORD)
    assert AuthActions(app.test_client()).login("pat@example.com", NEW_PASSWORD).headers["Location"] == \
        "/appointments/"
    [token] = db.session.scalars(select(AccountToken)).all()
    assert token.used_at is not None
    [reset] = audit_rows(AuditAction.PASSWORD_RESET)
    assert reset.patient_id == user.id and "every session ended" in reset.detail


def test_a_used_link_answers_with_a_page_to_ask_again(app):
    factories.make_user(email="pat@example.com")
    client = app.test_client()
    link = reset_link_for(client, "pat@example.com")
    choose_password(client, link)

    again = app.test_client()
    assert no_longer_works(again.get(link))
    form_page = again.get("/auth/password/forgot").get_data(as_text=True)
    posted = again.post(link, data={"csrf_token": csrf_token(form_page), "password": "another good passphrase here",
                                    "confirm": "another good passphrase here"})
    assert no_longer_works(posted)
    assert stored_user("pat@example.com").check_password(NEW_PASSWORD)


def test_an_expired_link_answers_with_a_page_to_ask_again(client):
    factories.make_user(email="pat@example.com")
    link = reset_link_for(client, "pat@example.com")
    with write_transaction() as session:
        session.execute(update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    assert no_longer_works(client.get(link))
    assert "Send me a new link" in text(client.get(link))


def test_a_link_that_expires_while_the_page_is_open_sets_nothing(client):
    factories.make_user(email="pat@example.com")
    link = reset_link_for(client, "pat@example.com")
    page = client.get(link).get_data(as_text=True)
    with write_transaction() as session:
        session.execute(update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    response = client.post(link, data={"csrf_token": csrf_token(page), "password": NEW_PASSWORD,
                                       "confirm": NEW_PASSWORD})

    assert no_longer_works(response)
    assert stored_user("pat@example.com").check_password(factories.PASSWORD)


@pytest.mark.parametrize("path", ["/auth/password/reset/not-a-real-token", "/auth/password/set/x",
                                  "/auth/password/reset/" + "a" * 500])
def test_an_unknown_link_answers_with_a_page_to_ask_again(client, path):
    assert no_longer_works(client.get(path))


@pytest.mark.parametrize("password, message", [
    ("password1234", "This password is too common"),
    # Fullwidth letters fold (NFKC) into the breached "password1234" that would be stored.
    ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14", "This password is too common"),
    ("sunny beach", "Your password needs at least 12 characters."),  # 11 characters
    ("Maria Lopez 1960", "Please do not use your name or email address in your password"),
    ("maria.lopez@example.com", "Please do not use your name or email address in your password"),
])
def test_the_policy_holds_for_a_reset(client, password, message):
    factories.make_user(email="maria.lopez@example.com", name="Maria Lopez")
    link = reset_link_for(client, "maria.lopez@example.com")

    response = choose_password(client, link, password)

    assert response.status_code == 400
    assert message in text(response)
    assert stored_user("maria.lopez@example.com").check_password(factories.PASSWORD)
    assert client.get(link).status_code == 200  # still usable: nothing was set


def test_a_reset_ends_every_other_session(app):
    user, elsewhere = logged_in(app, email="pat@example.com")
    assert elsewhere.get("/appointments/").status_code == 200
    client = app.test_client()

    choose_password(client, reset_link_for(client, "pat@example.com"))

    response = elsewhere.get("/appointments/")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/login"


def test_a_reset_lifts_a_lockout(app, client):
    user = factories.make_user(email="pat@example.com")
    user.failed_login_count, user.failed_login_since = 4, datetime.now(UTC)
    user.locked_until = datetime.now(UTC) + timedelta(minutes=15)
    db.session.commit()

    choose_password(client, reset_link_for(client, "pat@example.com"))

    user = stored_user("pat@example.com")
    assert (user.failed_login_count, user.failed_login_since, user.locked_until) == (0, None, None)
    assert client.get("/appointments/").status_code == 200  # logged in by the link
    other = app.test_client()
    assert AuthActions(other).login("pat@example.com", NEW_PASSWORD).status_code == 302
    assert other.get("/appointments/").status_code == 200


def test_a_reset_leaves_staff_with_their_second_factor(client):
    factories.make_user(email="desk@example.com", role=Role.DESK)
    choose_password(client, reset_link_for(client, "desk@example.com"))

    response = submit(client, "/auth/login", {"email": "desk@example.com", "password": NEW_PASSWORD})

    assert location(response) == "/auth/verify"  # the password alone does not log staff in


def test_a_sent_message_no_longer_holds_its_link(app, client, tmp_path):
    app.config.update(MAIL_SERVER="", MAIL_FILE_DIR=str(tmp_path / "mail"))
    factories.make_user(email="pat@example.com")
    link = reset_link_for(client, "pat@example.com")
    token = link.rsplit("/", 1)[1]

    assert len(send_due().sent) == 1

    db.session.rollback()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.PASSWORD_RESET))
    assert token not in message.text_body and token not in message.html_body
    assert "/auth/password/reset/(removed-once-sent)" in message.text_body
    [sent] = (tmp_path / "mail").glob("*.eml")
    mail = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    assert token in mail.get_body(("plain",)).get_content()  # the person got it
    assert client.get(link).status_code == 200  # and it still works for them


# --- invitations --------------------------------------------------------------------------------

def test_a_caller_registered_by_the_desk_is_invited_to_choose_a_password(app):
    desk, browser = logged_in(app, Role.DESK)
    desk_id = desk.id
    page = browser.get("/desk/patients/new")
    response = browser.post("/desk/patients/new", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "name": "Maria Lopez",
        "email": "maria.lopez@example.com", "date_of_birth": "1971-05-20", "phone": "(555) 010-4242"})

    assert response.status_code == 302
    shown = text(browser.get(response.headers["Location"]))
    assert "We have emailed them an invitation to choose a password" in shown
    [invitation] = messages_to("maria.lopez@example.com", MessageKind.INVITATION)
    assert "The front desk at" in invitation.text_body and "has registered you" in invitation.text_body
    maria = stored_user("maria.lopez@example.com")
    [token] = db.session.scalars(select(AccountToken)).all()
    assert (token.user_id, token.purpose) == (maria.id, TokenPurpose.INVITATION)
    assert timedelta(days=6, hours=23) < token.expires_at - token.created_at <= timedelta(days=7)
    [sent] = audit_rows(AuditAction.INVITATION_SENT)
    assert (sent.user_id, sent.patient_id) == (desk_id, maria.id)

    patient = app.test_client()
    link = password_link("maria.lopez@example.com", MessageKind.INVITATION)
    assert "Choose a password" in text(patient.get(link))
    assert location(choose_password(patient, link)) == "/appointments/"  # logged in by the link
    assert AuthActions(app.test_client()).login("maria.lopez@example.com", NEW_PASSWORD).headers["Location"] == \
        "/appointments/"
    [chosen] = audit_rows(AuditAction.PASSWORD_CHOSEN)
    assert chosen.patient_id == maria.id


def test_the_policy_holds_for_an_invitation(app):
    _, browser = logged_in(app, Role.DESK)
    page = browser.get("/desk/patients/new")
    browser.post("/desk/patients/new", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "name": "Maria Lopez",
        "email": "maria.lopez@example.com", "date_of_birth": "1971-05-20", "phone": "(555) 010-4242"})
    patient = app.test_client()
    link = password_link("maria.lopez@example.com", MessageKind.INVITATION)

    response = choose_password(patient, link, "password1234")

    assert response.status_code == 400 and "This password is too common" in text(response)


def test_a_reset_voids_an_unused_invitation(app):
    """Once a password is set through any link, the others stop working: an old invitation
    cannot set the password again behind the owner's back."""
    _, browser = logged_in(app, Role.DESK)
    page = browser.get("/desk/patients/new")
    browser.post("/desk/patients/new", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "name": "Maria Lopez",
        "email": "maria.lopez@example.com", "date_of_birth": "1971-05-20", "phone": "(555) 010-4242"})
    client = app.test_client()
    invitation = password_link("maria.lopez@example.com", MessageKind.INVITATION)

    choose_password(client, reset_link_for(client, "maria.lopez@example.com"))

    assert no_longer_works(client.get(invitation))


# --- anti-automation ----------------------------------------------------------------------------

def test_one_address_asking_for_links_again_and_again_is_slowed_down(database_url):
    app = make_app(database_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        browser = app.test_client()
        token = csrf_token(text(browser.get("/auth/password/forgot")))
        statuses = [browser.post("/auth/password/forgot", data={"csrf_token": token, "email": "nobody@example.com"})
                    .status_code for _ in range(11)]
        assert 429 not in statuses[:10] and statuses[-1] == 429
        db.session.remove()
        db.engine.dispose()
