"""The outbox: every message the portal will send, written in the transaction of the change it
is about, then sent by the worker. Rows are kept after sending (sent, dead or dropped)."""
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import UTCDateTime, utc_now
from portal.extensions import db


class MessageKind(StrEnum):
    CONFIRMATION = "confirmation"
    CHANGE = "change"
    CANCELLATION = "cancellation"
    REMINDER = "reminder"
    PASSWORD_RESET = "password_reset"  # a link to set a new password
    INVITATION = "invitation"  # a caller the desk registered: a link to set their own password
    ACCOUNT_EXISTS = "account_exists"  # someone tried to register with this email again
    EMAIL_CHANGE = "email_change"  # a link, to a patient's new address, that confirms it
    BOOKING_REOPENED = "booking_reopened"  # a doctor recorded that the patient's emergency was dealt with
    ROUTE_CHANGED = "route_changed"  # a doctor changed the kind of visit the patient's answers route to
    LETTER_READY = "letter_ready"  # a doctor signed a letter for the patient (the email says only that)


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its time, or for its next try after a failure
    SENDING = "sending"  # claimed by a worker until locked_until (a lease: a crashed worker's rows come back)
    SENT = "sent"
    DEAD = "dead"  # gave up after MAIL_MAX_ATTEMPTS tries; an admin may send it again
    DROPPED = "dropped"  # no longer wanted: a reminder for a visit moved or cancelled


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'dead', 'dropped')", name="status_known"),
        CheckConstraint("kind IN ('confirmation', 'change', 'cancellation', 'reminder', 'password_reset', "
                        "'invitation', 'account_exists', 'email_change', 'booking_reopened', 'route_changed', "
                        "'letter_ready')", name="kind_known"),
        # The worker's question: what is pending (or whose lease ran out) and due, oldest first.
        Index("ix_outbox_message_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)  # the calendar file attached, when there is one
    status: Mapped[str] = mapped_column(String(12), default=MessageStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
