"""The mail worker: claim what is due, send it, record how it went.

Claiming is its own short transaction: due rows (pending, or sending whose lease ran out) are
marked sending with a lease. On PostgreSQL the claim reads FOR UPDATE SKIP LOCKED, so workers
running at once each take different rows; on SQLite the write transaction (BEGIN IMMEDIATE) does
the same one worker at a time. Sending happens outside any transaction; then each row is marked
sent, or failed with exponential backoff (1, 2, 4, ... minutes) until MAIL_MAX_ATTEMPTS, after
which it is dead. Rows are never deleted. A worker that dies mid-send leaves its rows to come
back when the lease ends: a message may then be sent twice, never lost.
"""
import signal
import time as clock
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import and_, or_, select

from portal import audit
from portal.audit import AuditAction
from portal.booking.models import Appointment
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.notify.account_messages import forget_link
from portal.notify.mailer import deliver
from portal.notify.models import MessageKind, MessageStatus, OutboxMessage

LEASE = timedelta(minutes=5)
ROUND_SIZE = 50
FIRST_RETRY = timedelta(minutes=1)


@dataclass
class Round:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


def claim_due(now: datetime, *, limit: int = 50) -> list[int]:
    """Mark up to `limit` due messages as this worker's for LEASE; return their ids."""
    with write_transaction():
        query = (select(OutboxMessage).where(
            OutboxMessage.due_at <= now,
            or_(OutboxMessage.status == MessageStatus.PENDING,
                and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.locked_until < now)))
            .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit))
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = db.session.scalars(query).all()
        for message in claimed:
            message.status = MessageStatus.SENDING
            message.locked_until = now + LEASE
        return [message.id for message in claimed]


def _record(message_id: int, *, now: datetime, error: Exception | None, outcome: Round) -> None:
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        message.locked_until = None
        if error is None:
            message.status, message.sent_at = MessageStatus.SENT, now
            forget_link(message)
            outcome.sent.append(message_id)
            audit.record(AuditAction.MESSAGE_SENT, appointment_id=message.appointment_id,
                         detail=f"message {message.id}: {message.kind} to {message.to_address}")
            return
        message.attempts += 1
        message.last_error = f"{type(error).__name__}: {error}"[:1000]
        if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            message.status = MessageStatus.DEAD
            outcome.dead.append(message_id)
        else:
            message.status = MessageStatus.PENDING
            message.due_at = now + FIRST_RETRY * 2 ** (message.attempts - 1)
            outcome.failed.append(message_id)


def _still_wanted(message_id: int) -> OutboxMessage | None:
    """The claimed message, unless it was dropped meanwhile (its visit moved or was cancelled) or
    is a reminder of a visit no longer booked, which is dropped now."""
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        if message.status != MessageStatus.SENDING:
            return None
        appointment = db.session.get(Appointment, message.appointment_id) if message.appointment_id else None
        if message.kind == MessageKind.REMINDER and (appointment is None or not appointment.is_active):
            message.status, message.locked_until = MessageStatus.DROPPED, None
            return None
        return message


def send_due(now: datetime | None = None, *, limit: int = 50) -> Round:
    """One round: claim what is due and send it; what fails is tried again later."""
    now = now or utc_now()
    outcome = Round()
    for message_id in claim_due(now, limit=limit):
        message = _still_wanted(message_id)
        if message is None:
            continue
        try:
            deliver(message)
        except Exception as error:  # noqa: BLE001 - whatever stops a send counts as a try, so it can end dead
            _record(message_id, now=now, error=error, outcome=outcome)
        else:
            _record(message_id, now=now, error=None, outcome=outcome)
    db.session.remove()
    return outcome


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running: send what is due, wait, and again, until stopped.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds to wait between rounds with --loop.")
@with_appcontext
def send_mail_command(loop: bool, interval: float):
    """Send the messages that are due (about appointments, and account links and notes)."""
    stopping = []
    if loop:
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while True:
        total = Round()
        while True:  # rounds until what is due is done (each round takes at most ROUND_SIZE)
            outcome = send_due(limit=ROUND_SIZE)
            for name in ("sent", "failed", "dead"):
                getattr(total, name).extend(getattr(outcome, name))
            if len(outcome.sent) + len(outcome.failed) + len(outcome.dead) < ROUND_SIZE or stopping:
                break
        click.echo(f"sent {len(total.sent)}, to retry {len(total.failed)}, dead {len(total.dead)}")
        if not loop:
            return
        deadline = clock.monotonic() + interval
        while not stopping and clock.monotonic() < deadline:
            clock.sleep(0.2)
        if stopping:
            click.echo("stopping")
            return
