"""Mailed links to choose a password (portal/auth/tokens.py, service.set_password_with_link) on
the real databases: one link sets one password, however many requests use it at once; a link
and its message are written with the change that made them, or not at all."""
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.auth.models import AccountEvent, AccountToken, User
from portal.auth.service import account_event, register_patient, request_password_reset, set_password_with_link
from portal.extensions import db
from portal.notify.models import MessageKind, OutboxMessage
from tests import factories
from tests.db.threads import run_at_once
from tests.mailbox import password_link

CLICKS = 6


def test_a_link_used_by_many_requests_at_once_sets_one_password(app):
    factories.make_user(email="pat@example.com")
    request_password_reset("pat@example.com")
    token = password_link("pat@example.com", MessageKind.PASSWORD_RESET).rsplit("/", 1)[1]
    passwords = [f"a good passphrase number {n}" for n in range(CLICKS)]

    outcomes = run_at_once(app, [lambda p=p: set_password_with_link(token, p) for p in passwords])

    winners = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, User)]
    assert len(winners) == 1, outcomes
    assert all(outcome is None for n, outcome in enumerate(outcomes) if n not in winners)
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.email == "pat@example.com"))
    assert user.check_password(passwords[winners[0]])
    assert user.session_epoch == 1  # ended once, by the one that won


def test_an_invitation_and_its_message_roll_back_with_a_failed_registration(app):
    """The last step of a registration fails (its audit row, written after the link and the
    message): no account, no link, no message is left."""
    def failing_audit(sender, *, action, **extra):
        if action == AccountEvent.INVITATION_SENT:
            raise RuntimeError("the audit row could not be written")

    account_event.connect(failing_audit)
    try:
        with pytest.raises(RuntimeError):
            register_patient(name="Pat Example", email="pat@example.com", date_of_birth=date(1970, 1, 1),
                             phone="(555) 010-1234", password=None)
    finally:
        account_event.disconnect(failing_audit)

    db.session.rollback()
    for model in (User, AccountToken, OutboxMessage):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
