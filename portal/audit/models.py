"""The audit log's table and the actions it names.

Append-only: no code updates or deletes a row; the ORM refuses it here, and the database refuses
it too (triggers on PostgreSQL and SQLite, made in the migration). The audit package depends on
the accounts package (their events are named there), never the other way round.
"""
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import AccountEvent
from portal.database import UTCDateTime, utc_now
from portal.extensions import db

if TYPE_CHECKING:
    from portal.auth.models import User


class AuditAction(StrEnum):
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_OVERBOOKED = "appointment.overbooked"
    APPOINTMENT_MOVED = "appointment.moved"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_CHECKED_IN = "appointment.checked_in"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    APPOINTMENT_FULFILLED = "appointment.fulfilled"
    APPOINTMENT_TRIAGE_OVERRIDE = "appointment.triage_override"  # booked against the triage, with a reason
    MESSAGE_QUEUED = "message.queued"  # a message about an appointment was queued (never its body)
    MESSAGE_SENT = "message.sent"
    MESSAGE_RESENT = "message.resent"  # an admin sent a dead message again
    MESSAGE_NOT_SENT = "message.not_sent"  # nothing to send it to: the patient has no email
    PATIENT_REGISTERED = "patient.registered"
    PATIENT_RECORD_VIEWED = "patient.record_viewed"
    PATIENT_BOOKING_VIEWED = "patient.booking_viewed"  # the desk's booking page: date of birth and triage
    PATIENT_SEARCHED = "patient.searched"  # the desk's search: what was typed, and the patients listed
    AUDIT_LOG_VIEWED = "audit.log_viewed"  # an admin read the audit log: the filters and page
    TRIAGE_VIEWED = "triage.viewed"
    TRIAGE_REVIEWED = "triage.reviewed"
    TRIAGE_EMERGENCY_CLEARED = "triage.emergency_cleared"
    TRIAGE_ANSWERED_BY_PHONE = "triage.answered_by_phone"  # the desk asked the questions with the caller
    TRIAGE_CLAIMED = "triage.claimed"  # anonymous answers joined a patient's record, as the patient confirmed
    LETTER_DRAFTED = "letter.drafted"  # a referral letter or scan request started, or its correction
    LETTER_EDITED = "letter.edited"
    LETTER_SIGNED = "letter.signed"
    LETTER_VIEWED = "letter.viewed"
    LETTER_DOWNLOADED = "letter.downloaded"  # as PDF or FHIR
    SCHEDULE_CHANGED = "schedule.changed"
    TIME_OFF_ADDED = "schedule.time_off_added"
    TIME_OFF_REMOVED = "schedule.time_off_removed"
    FEED_READ = "schedule.feed_read"  # a calendar program read a clinician's feed (its appointments)
    # Clinicians' records (portal/clinicians): made, closed, opened, title and visits changed.
    CLINICIAN_CHANGED = "clinician.changed"
    DAY_VIEWED = "clinician.day_viewed"  # a clinician's "My day": the day and the visits listed
    VISIT_VIEWED = "appointment.viewed"  # a visit's record, read from "My day"
    # Accounts (portal/auth): logins, failures, lockouts, sessions ended, second factor, password.
    LOGIN = AccountEvent.LOGIN.value
    LOGIN_FAILED = AccountEvent.LOGIN_FAILED.value
    LOCKED = AccountEvent.LOCKED.value
    UNLOCKED = AccountEvent.UNLOCKED.value
    LOGOUT = AccountEvent.LOGOUT.value
    SESSIONS_ENDED = AccountEvent.SESSIONS_ENDED.value
    SECOND_FACTOR_ENROLLED = AccountEvent.SECOND_FACTOR_ENROLLED.value
    SECOND_FACTOR_REMOVED = AccountEvent.SECOND_FACTOR_REMOVED.value
    RECOVERY_CODE_USED = AccountEvent.RECOVERY_CODE_USED.value
    RECOVERY_CODES_MADE = AccountEvent.RECOVERY_CODES_MADE.value
    PASSWORD_CHANGED = AccountEvent.PASSWORD_CHANGED.value
    PASSWORD_RESET_REQUESTED = AccountEvent.PASSWORD_RESET_REQUESTED.value
    PASSWORD_RESET = AccountEvent.PASSWORD_RESET.value
    PASSWORD_CHOSEN = AccountEvent.PASSWORD_CHOSEN.value
    INVITATION_SENT = AccountEvent.INVITATION_SENT.value
    REGISTRATION_REPEATED = AccountEvent.REGISTRATION_REPEATED.value
    STAFF_ADDED = AccountEvent.STAFF_ADDED.value
    ROLE_CHANGED = AccountEvent.ROLE_CHANGED.value
    DEACTIVATED = AccountEvent.DEACTIVATED.value
    REACTIVATED = AccountEvent.REACTIVATED.value
    DETAILS_CHANGED = AccountEvent.DETAILS_CHANGED.value
    EMAIL_CHANGE_REQUESTED = AccountEvent.EMAIL_CHANGE_REQUESTED.value
    EMAIL_CHANGED = AccountEvent.EMAIL_CHANGED.value


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

    user: Mapped["User | None"] = relationship("User", foreign_keys=[user_id])
    patient: Mapped["User | None"] = relationship("User", foreign_keys=[patient_id])


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(mapper, connection, target):
    raise ValueError("the audit log is append-only")
