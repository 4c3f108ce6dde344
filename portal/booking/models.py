"""Scheduling tables. Times are aware UTC datetimes; working hours are local wall-clock times.

Appointment rows are written only by portal.booking.service, which keeps the booking
rules (README); the indexes below back them up in the database itself.
"""
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import Role, User
from portal.database import UTCDateTime, utc_now
from portal.extensions import db
from portal.triage.vocabulary import Route

if TYPE_CHECKING:
    from portal.triage.models import TriageSubmission

__all__ = ["ACTIVE_STATUSES", "PATIENT_STATUS_LABELS", "STATUS_LABELS", "STATUS_WORDS", "StatusWords", "Appointment",
           "MOVED", "AppointmentStatus", "AppointmentType", "Clinician", "Route",
           "SlotVersion", "TimeOff", "WorkingHours", "clinician_appointment_type"]


class AppointmentStatus(StrEnum):
    """FHIR Appointment statuses (checked_in is FHIR's checked-in)."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"


ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


@dataclass(frozen=True)
class StatusWords:
    """How one status is said, wherever it is said."""

    label: str  # on staff pages: "No-show"
    for_patient: str  # on the patient's own pages: "Missed"
    in_a_sentence: str  # "This appointment is ...": "a no-show"
    button: str = ""  # the desk's button that sets it, if one does: "No-show"
    done: str = ""  # what the desk is told after the button: "is marked as a no-show"


# The one table of the statuses' words (the tables below are views of it).
STATUS_WORDS = {
    AppointmentStatus.BOOKED: StatusWords("Booked", "Booked", "booked"),
    AppointmentStatus.CHECKED_IN: StatusWords("Checked in", "Checked in", "checked in", "Check in", "is checked in"),
    AppointmentStatus.FULFILLED: StatusWords("Attended", "Attended", "attended", "Attended", "is marked as attended"),
    AppointmentStatus.CANCELLED: StatusWords("Canceled", "Canceled", "canceled"),
    AppointmentStatus.NOSHOW: StatusWords("No-show", "Missed", "a no-show", "No-show", "is marked as a no-show"),
}
# Not a status of its own: a cancelled row whose visit was moved to another time (a newer row
# names it in rescheduled_from_id). Pages say "Moved", never "Cancelled" in red (Appointment.shown_status).
MOVED = "moved"
MOVED_WORDS = StatusWords("Moved", "Moved to another time", "moved to another time")
STATUS_LABELS = {status: words.label for status, words in STATUS_WORDS.items()} | {MOVED: MOVED_WORDS.label}
PATIENT_STATUS_LABELS = {status: words.for_patient for status, words in STATUS_WORDS.items()} | {
    MOVED: MOVED_WORDS.for_patient}
_ACTIVE_SQL = "status IN ('booked', 'checked_in')"
# An overbook is a deliberate double-booking by the front desk: the clinician rules skip it.
_ACTIVE_NOT_OVERBOOK_SQL = "status IN ('booked', 'checked_in') AND NOT overbook"


# Which kinds of visit each clinician gives: a sonographer scans, a sleep physician sees sleep referrals.
clinician_appointment_type = Table(
    "clinician_appointment_type", db.metadata,
    Column("clinician_id", ForeignKey("clinician.id", ondelete="CASCADE"), primary_key=True),
    Column("appointment_type_id", ForeignKey("appointment_type.id", ondelete="CASCADE"), primary_key=True),
)


class Clinician(db.Model):
    __tablename__ = "clinician"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # The secret of the clinician's calendar feed (/feeds/<token>.ics); NULL while it is off.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    user: Mapped[User] = relationship()
    working_hours: Mapped[list["WorkingHours"]] = relationship(
        back_populates="clinician", order_by="(WorkingHours.weekday, WorkingHours.start_time)")
    time_off: Mapped[list["TimeOff"]] = relationship(back_populates="clinician", order_by="TimeOff.start_at")
    appointment_types: Mapped[list["AppointmentType"]] = relationship(
        secondary=clinician_appointment_type, order_by="AppointmentType.id")

    @property
    def takes_bookings(self) -> bool:
        """Offered for booking: the record is open and so is the person's account (a deactivated
        account's past visits stay under their name, but nobody books them again)."""
        return self.active and self.user.active

    def offers(self, appointment_type: "AppointmentType") -> bool:
        return any(t.id == appointment_type.id for t in self.appointment_types)

    def __repr__(self) -> str:
        return f"<Clinician {self.id} {self.display_name}>"


class AppointmentType(db.Model):
    __tablename__ = "appointment_type"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 480", name="duration_sensible"),
        CheckConstraint(
            "route IN ('vascular_ultrasound', 'sleep_study_referral', 'general_consult')", name="route_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    route: Mapped[str] = mapped_column(String(32), unique=True)
    duration_minutes: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<AppointmentType {self.route} {self.duration_minutes}min>"


class WorkingHours(db.Model):
    """One block of a clinician's weekly hours; a day may have several (a lunch gap between).

    Rows with the same effective_from make one version of the week; a version holds from its
    date until the next version's (NULL: from the start)."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]  # 0 = Monday ... 6 = Sunday
    effective_from: Mapped[date | None]
    start_time: Mapped[time]
    end_time: Mapped[time]

    clinician: Mapped[Clinician] = relationship(back_populates="working_hours")


class SlotVersion(db.Model):
    """A number that rises whenever a clinician's busy time or hours change: the database's own
    triggers raise it (migration 0012), whatever wrote the change. portal/booking/slot_cache.py
    uses it to know a week's free times it computed are still right."""

    __tablename__ = "slot_version"

    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")


class TimeOff(db.Model):
    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        Index("ix_time_off_clinician_period", "clinician_id", "start_at", "end_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")

    clinician: Mapped[Clinician] = relationship(back_populates="time_off")


class Appointment(db.Model):
    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        CheckConstraint(
            "status IN ('booked', 'checked_in', 'fulfilled', 'cancelled', 'noshow')", name="status_known"),
        CheckConstraint("NOT overbook OR coalesce(length(overbook_reason), 0) > 0", name="overbook_has_reason"),
        CheckConstraint("overrides IS NULL OR coalesce(length(override_reason), 0) > 0", name="override_has_reason"),
        # Invariants 1 and 2 backed by the database: no two active rows start together for one
        # clinician or one patient. PostgreSQL also gets exclusion constraints on the time range
        # (see the migration), which catch overlaps with different starts.
        Index("uq_appointment_clinician_start_active", "clinician_id", "start_at", unique=True,
              sqlite_where=text(_ACTIVE_NOT_OVERBOOK_SQL), postgresql_where=text(_ACTIVE_NOT_OVERBOOK_SQL)),
        Index("uq_appointment_patient_start_active", "patient_id", "start_at", unique=True,
              sqlite_where=text(_ACTIVE_SQL), postgresql_where=text(_ACTIVE_SQL)),
        Index("ix_appointment_clinician_period", "clinician_id", "start_at", "end_at"),
        Index("ix_appointment_patient_start", "patient_id", "start_at"),
        # Where a moved visit went (Appointment.moved_to, loaded with every list of visits).
        Index("ix_appointment_rescheduled_from", "rescheduled_from_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id"))
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_type.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.BOOKED)
    # The booking form's key: a second submit of the same form finds this row instead of booking twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    cancellation_reason: Mapped[str | None] = mapped_column(String(300))
    overbook: Mapped[bool] = mapped_column(default=False)
    overbook_reason: Mapped[str | None] = mapped_column(String(300))
    # Triage rules staff set aside for this visit (booking/eligibility.py Override values, comma
    # separated) and the reason they gave; NULL when it was booked as the triage says.
    overrides: Mapped[str | None] = mapped_column(String(100))
    override_reason: Mapped[str | None] = mapped_column(String(300))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    # The triage this visit was booked from: its route chose the type, its urgency the window.
    triage_submission_id: Mapped[int | None] = mapped_column(ForeignKey("triage_submission.id"), index=True)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    clinician: Mapped[Clinician] = relationship()
    appointment_type: Mapped[AppointmentType] = relationship()
    rescheduled_from: Mapped["Appointment | None"] = relationship(remote_side=[id], back_populates="moved_to")
    # The visit this one was moved to, if it was (lists load it with selectinload).
    moved_to: Mapped["Appointment | None"] = relationship(back_populates="rescheduled_from", uselist=False)
    triage_submission: Mapped["TriageSubmission | None"] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def shown_status(self) -> str:
        """The status as pages show it: MOVED for a visit moved to another time, else the status."""
        if self.status == AppointmentStatus.CANCELLED and self.moved_to is not None:
            return MOVED
        return self.status

    @property
    def override_list(self) -> list[str]:
        return self.overrides.split(",") if self.overrides else []

    def readable_by(self, user) -> bool:
        """Who may see this visit, on any page or file (.ics): its own patient; a sonographer the
        visits on their own calendar; and the rest of the clinic's staff (the desk books and moves
        it, a doctor sees it on the case)."""
        if not getattr(user, "is_authenticated", False):
            return False
        if user.role == Role.PATIENT:
            return self.patient_id == user.id
        if user.role == Role.SONOGRAPHER:
            return self.clinician.user_id == user.id
        return True

    def __repr__(self) -> str:
        return f"<Appointment {self.id} {self.status} {self.start_at.isoformat()}>"
