"""The admins' outbox page: what waits, what failed and what is dead, and sending a dead
message again, through the test client with CSRF on."""
from datetime import timedelta

from sqlalchemy import select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role
from portal.database import utc_now
from portal.extensions import db
from portal.notify.models import MessageStatus, OutboxMessage
from tests.client import csrf_token, logged_in
from tests.pages import text, words


def message(status: str, *, attempts: int = 0, error: str | None = None, to: str = "pat@example.com") -> int:
    row = OutboxMessage(kind="confirmation", to_address=to, subject=f"A {status} message", text_body="body",
                        html_body="<p>body</p>", status=status, attempts=attempts, last_error=error,
                        due_at=utc_now() - timedelta(minutes=5))
    db.session.add(row)
    db.session.commit()
    return row.id


def test_admins_see_what_waits_and_what_is_dead_and_send_a_dead_one_again(app):
    message(MessageStatus.PENDING, attempts=2, error="ConnectionRefusedError: [Errno 111] Connection refused")
    dead = message(MessageStatus.DEAD, attempts=8, error="SMTPRecipientsRefused", to="wrong@example.com")
    message(MessageStatus.SENT)
    admin, browser = logged_in(app, Role.ADMIN)

    page = browser.get("/desk/outbox")
    assert page.status_code == 200
    shown = words(text(page))
    assert "pending: 1" in shown and "dead: 1" in shown and "sent: 1" in shown
    assert "Connection refused" in shown and "wrong@example.com" in shown
    assert "A sent message" not in shown  # sent ones are counted, not listed

    sent_again = browser.post(f"/desk/outbox/{dead}/send-again", data={"csrf_token": csrf_token(text(page))})
    assert sent_again.status_code == 302
    assert f"Message {dead} will be sent again" in words(text(browser.get("/desk/outbox")))
    db.session.rollback()
    row = db.session.get(OutboxMessage, dead)
    assert (row.status, row.attempts) == (MessageStatus.PENDING, 0) and row.due_at <= utc_now()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.MESSAGE_RESENT)).all()
    assert event.user_id == admin.id and "body" not in event.detail


def test_only_a_dead_message_can_be_sent_again(app):
    sent = message(MessageStatus.SENT)
    _, browser = logged_in(app, Role.ADMIN)
    page = browser.get("/desk/outbox")
    response = browser.post(f"/desk/outbox/{sent}/send-again", data={"csrf_token": csrf_token(text(page))},
                            follow_redirects=True)
    assert "only a dead message can be sent again" in words(text(response))
    db.session.rollback()
    assert db.session.get(OutboxMessage, sent).status == MessageStatus.SENT
    assert browser.post(f"/desk/outbox/{sent}/send-again", data={}).status_code == 400  # no CSRF token


def test_nobody_else_sees_the_outbox(app):
    for role in (Role.PATIENT, Role.DESK, Role.DOCTOR):
        _, browser = logged_in(app, role)
        assert browser.get("/desk/outbox").status_code == 403
