"""Queueing messages: a row in the outbox, in the caller's transaction, audited (never its body).

The booking service's signals arrive here inside its write transaction: a booking queues its
confirmation and a reminder 24 hours before; a move queues a change and a reminder for the new
time; a cancellation queues the cancellation. A move or cancellation drops what was not yet sent
about the old visit (its reminder, or a confirmation still waiting for a retry), so an older
message never arrives after a newer one.
"""
from datetime import datetime, timedelta

from sqlalchemy import select, update

from portal import audit
from portal.audit import AuditAction
from portal.booking.models import Appointment
from portal.booking.service import appointment_booked, appointment_cancelled, appointment_moved
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.notify.messages import appointment_message
from portal.notify.models import MessageKind, MessageStatus, OutboxMessage

REMINDER_BEFORE = timedelta(hours=24)


def queue_message(*, kind: str, to: str, subject: str, text: str, html: str, due_at: datetime,
                  ics: str | None = None, appointment_id: int | None = None,
                  patient_id: int | None = None) -> OutboxMessage:
    """Add one message to the outbox in the current transaction (the caller commits it)."""
    message = OutboxMessage(kind=kind, to_address=to, subject=subject[:200], text_body=text, html_body=html, ics=ics,
                            due_at=due_at, appointment_id=appointment_id, status=MessageStatus.PENDING)
    db.session.add(message)
    db.session.flush()
    audit.record(AuditAction.MESSAGE_QUEUED, patient_id=patient_id, appointment_id=appointment_id,
                 detail=f"message {message.id}: {kind} to {to}, due {due_at.isoformat()}")
    return message


def queue_appointment_message(kind: MessageKind, appointment: Appointment, *, due_at: datetime,
                              moved_from: Appointment | None = None) -> OutboxMessage | None:
    """Queue one message about a visit; a patient without an email (a caller the desk registered)
    gets none, and the audit log says so: the desk tells them on the phone."""
    if not appointment.patient.email:
        audit.record(AuditAction.MESSAGE_NOT_SENT, patient_id=appointment.patient_id, appointment_id=appointment.id,
                     detail=f"{kind}: the patient has no email address")
        return None
    content = appointment_message(kind, appointment, moved_from=moved_from)
    return queue_message(kind=kind, to=appointment.patient.email, subject=content.subject, text=content.text,
                         html=content.html, ics=content.ics, due_at=due_at, appointment_id=appointment.id,
                         patient_id=appointment.patient_id)


def _queue_reminder(appointment: Appointment, now: datetime) -> None:
    """A reminder 24 hours before, unless that moment has already passed."""
    if appointment.start_at - REMINDER_BEFORE > now:
        queue_appointment_message(MessageKind.REMINDER, appointment, due_at=appointment.start_at - REMINDER_BEFORE)


def _drop_unsent(appointment: Appointment) -> None:
    """A visit moved or cancelled: what was not yet sent about it would now mislead (a reminder,
    or a confirmation still waiting for a retry after the change that replaced it)."""
    db.session.execute(update(OutboxMessage).where(
        OutboxMessage.appointment_id == appointment.id,
        OutboxMessage.kind.in_([MessageKind.REMINDER, MessageKind.CONFIRMATION, MessageKind.CHANGE]),
        OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]))
        .values(status=MessageStatus.DROPPED, locked_until=None))


def _on_booked(appointment: Appointment, *, now: datetime, **extra) -> None:
    queue_appointment_message(MessageKind.CONFIRMATION, appointment, due_at=now)
    _queue_reminder(appointment, now)


def _on_moved(appointment: Appointment, *, old: Appointment, now: datetime, **extra) -> None:
    _drop_unsent(old)
    queue_appointment_message(MessageKind.CHANGE, appointment, due_at=now, moved_from=old)
    _queue_reminder(appointment, now)


def _on_cancelled(appointment: Appointment, *, now: datetime, **extra) -> None:
    _drop_unsent(appointment)
    queue_appointment_message(MessageKind.CANCELLATION, appointment, due_at=now)


class NotResendable(ValueError):
    """Only a dead message can be sent again; the message says why not."""


def send_again(message_id: int, *, by_user) -> OutboxMessage:
    """An admin sends a dead message again: back to pending, due now, its tries counted afresh."""
    with write_transaction():
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update())
        if message is None:
            raise NotResendable("That message was not found.")
        if message.status != MessageStatus.DEAD:
            raise NotResendable(f"Message {message_id} is {message.status}: only a dead message can be sent again.")
        message.status, message.attempts, message.due_at = MessageStatus.PENDING, 0, utc_now()
        audit.record(AuditAction.MESSAGE_RESENT, appointment_id=message.appointment_id, user_id=by_user.id,
                     detail=f"message {message.id}: {message.kind} to {message.to_address}, sent again")
    return message


def listen_to_bookings() -> None:
    """Queue the messages of every booking, move and cancellation (connecting twice is harmless)."""
    appointment_booked.connect(_on_booked)
    appointment_moved.connect(_on_moved)
    appointment_cancelled.connect(_on_cancelled)
