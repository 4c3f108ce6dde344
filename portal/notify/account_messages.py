"""Messages about accounts, queued in the transaction of the change they are about: a link to
choose a new password, an invitation to choose a first one (a patient who registered online, a
caller the desk registered, or a staff member an administrator added), and a note to the owner
of an email someone tried to register again. The accounts package announces these with signals
(tokens.account_link_issued, and service.account_event for REGISTRATION_REPEATED), so it never
imports the outbox.

A link is a key to the account until it is used or expires, and only its hash is kept with the
account; the outbox row keeps the message as sent, so the worker blanks the link out of the row
once the message is sent (forget_link).
"""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select

from portal import audit, clinic, dates
from portal.audit import AuditAction
from portal.auth.models import STAFF_ROLE_NAMES, AccountEvent, Role, TokenPurpose, User
from portal.auth.service import account_event
from portal.auth.tokens import LINK_PATHS, account_link_issued, link_path
from portal.database import utc_now
from portal.extensions import db
from portal.notify.models import MessageKind, MessageStatus, OutboxMessage
from portal.notify.outbox import queue_message

KIND_OF_LINK = {TokenPurpose.PASSWORD_RESET: MessageKind.PASSWORD_RESET,
                TokenPurpose.INVITATION: MessageKind.INVITATION,
                TokenPurpose.EMAIL_CHANGE: MessageKind.EMAIL_CHANGE}
# Someone registering an email in use again, and again: its owner hears of it once an hour at most.
ACCOUNT_EXISTS_EVERY = timedelta(hours=1)
# A mailed link in a message's text or HTML: its path, then the token.
_LINK = re.compile("(" + "|".join(re.escape(path) for path in LINK_PATHS.values()) + r")[A-Za-z0-9_-]+")
FORGOTTEN = "(removed-once-sent)"


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str


def account_message(kind: MessageKind, user: User, *, link: str | None = None, expires_at: datetime | None = None,
                    by_the_desk: bool = False) -> Content:
    """Subject, text and HTML of one message about `user`'s account (templates/notify/account.*);
    an invitation to a staff account says so, and that the first login sets up an authenticator."""
    config = current_app.config
    zone = clinic.zone()
    public = config["PUBLIC_URL"]
    context = {
        "kind": kind, "user": user, "link": link, "by_the_desk": by_the_desk,
        "staff_role": STAFF_ROLE_NAMES.get(user.role),
        "expires": dates.date_and_time(expires_at, zone, clinic.today()) if expires_at else None,
        "zone_name": dates.zone_name(zone),
        "login_url": f"{public}/auth/login", "forgot_url": f"{public}/auth/password/forgot",
        "clinic": {"name": config["CLINIC_NAME"], "phone": config["CLINIC_PHONE"],
                   "address": config["CLINIC_ADDRESS"]},
    }
    subjects = {
        MessageKind.PASSWORD_RESET: "Choose a new password for your {clinic} account",
        MessageKind.INVITATION: ("Your staff account at {clinic}: choose your password" if user.role != Role.PATIENT
                                 else "{clinic}: choose a password for your account" if by_the_desk
                                 else "Finish creating your {clinic} account"),
        MessageKind.ACCOUNT_EXISTS: "You already have a {clinic} account",
        MessageKind.EMAIL_CHANGE: "Confirm your new email address for {clinic}",
    }
    return Content(subject=subjects[kind].format(clinic=config["CLINIC_NAME"]),
                   text=render_template("notify/account.txt", **context),
                   html=render_template("notify/account.html", **context))


def _queue(kind: MessageKind, user: User, content: Content, now: datetime, *,
           to: str | None = None) -> OutboxMessage | None:
    """Queue it to `to` (else the account's email); an account without an email gets nothing,
    and the audit log says so."""
    to = to or user.email
    patient_id = user.id if user.role == Role.PATIENT else None
    if not to:
        audit.record(AuditAction.MESSAGE_NOT_SENT, patient_id=patient_id, detail=f"{kind}: no email address")
        return None
    return queue_message(kind=kind, to=to, subject=content.subject, text=content.text, html=content.html,
                         due_at=now, patient_id=patient_id)


def _on_link_issued(user: User, *, token: str, purpose: str, expires_at: datetime,
                    registered_by: User | None = None, next_path: str | None = None, by_mail: bool = True,
                    new_email: str | None = None, **extra) -> None:
    if not by_mail:  # shown once to whoever asked for it (flask create-admin), never kept in the outbox
        return
    kind = KIND_OF_LINK[TokenPurpose(purpose)]
    link = current_app.config["PUBLIC_URL"] + link_path(token, TokenPurpose(purpose), next_path)
    content = account_message(kind, user, link=link, expires_at=expires_at, by_the_desk=registered_by is not None)
    _queue(kind, user, content, utc_now(), to=new_email)  # an email change goes to the new address


def _on_account_event(account: User | None, *, action: str, **extra) -> None:
    if action != AccountEvent.REGISTRATION_REPEATED or account is None:
        return
    now = utc_now()
    told_lately = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == MessageKind.ACCOUNT_EXISTS, OutboxMessage.to_address == account.email,
        OutboxMessage.created_at > now - ACCOUNT_EXISTS_EVERY))
    if not told_lately:
        _queue(MessageKind.ACCOUNT_EXISTS, account, account_message(MessageKind.ACCOUNT_EXISTS, account), now)


def forget_link(message: OutboxMessage) -> None:
    """Blank the link out of a sent message's row: the person has it in their mailbox, and the
    database should hold no working key to an account."""
    if message.kind in KIND_OF_LINK.values() and message.status == MessageStatus.SENT:
        message.text_body = _LINK.sub(rf"\g<1>{FORGOTTEN}", message.text_body)
        message.html_body = _LINK.sub(rf"\g<1>{FORGOTTEN}", message.html_body)


def listen_to_accounts() -> None:
    """Queue the messages about accounts (connecting twice is harmless)."""
    account_link_issued.connect(_on_link_issued)
    account_event.connect(_on_account_event)
