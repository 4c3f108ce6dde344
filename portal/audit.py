"""The audit log: who did or saw what to which patient record, when, and from where.

Append-only. Rows are added inside the same transaction as the change they describe, so a
change and its audit row commit or fail together. No code updates or deletes them: the ORM
refuses it here, and the database refuses it too (triggers on PostgreSQL and SQLite, made in
the migration).
"""
from datetime import datetime
from enum import StrEnum

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.database import UTCDateTime, utc_now
from portal.extensions import db


class AuditAction(StrEnum):
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_OVERBOOKED = "appointment.overbooked"
    APPOINTMENT_MOVED = "appointment.moved"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_CHECKED_IN = "appointment.checked_in"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    APPOINTMENT_FULFILLED = "appointment.fulfilled"
    APPOINTMENT_TRIAGE_OVERRIDE = "appointment.triage_override"  # booked against the triage, with a reason
    PATIENT_REGISTERED = "patient.registered"
    PATIENT_RECORD_VIEWED = "patient.record_viewed"
    TRIAGE_VIEWED = "triage.viewed"
    TRIAGE_REVIEWED = "triage.reviewed"
    TRIAGE_EMERGENCY_CLEARED = "triage.emergency_cleared"
    TRIAGE_CLAIMED = "triage.claimed"  # anonymous answers joined a patient's record, as the patient confirmed
    SCHEDULE_CHANGED = "schedule.changed"
    TIME_OFF_ADDED = "schedule.time_off_added"
    TIME_OFF_REMOVED = "schedule.time_off_removed"


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_patient_at", "patient_id", "at"),
        Index("ix_audit_event_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    patient: Mapped[User | None] = relationship(foreign_keys=[patient_id])


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(mapper, connection, target):
    raise ValueError("the audit log is append-only")


def record(action: str, *, patient_id: int | None = None, appointment_id: int | None = None,
           detail: str = "", user_id: int | None = None) -> AuditEvent:
    """Add one audit row to the current transaction (the caller commits it with its change).

    The user and address come from the request when there is one; a command-line job passes
    `user_id` or leaves it empty.
    """
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    address = request.remote_addr if has_request_context() else None
    entry = AuditEvent(action=action, user_id=user_id, patient_id=patient_id, appointment_id=appointment_id,
                       ip_address=address, detail=detail[:2000])
    db.session.add(entry)
    return entry
