"""Stored triage: the answers and the outcome exactly as evaluated, and the doctors' reviews beside them.

A submission's answers, outcome and rules version are written once and never changed (an ORM
guard refuses it). What a doctor does later is a TriageReview row; the submission only keeps
its current review state and current route, so the queue can filter and sort without joins.
"""
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import Role, User, age_on
from portal.database import UTCDateTime, utc_now
from portal.extensions import db
from portal.triage.rules import TriageOutcome
from portal.triage.vocabulary import Urgency

_ROUTES_SQL = "('vascular_ultrasound', 'sleep_study_referral', 'general_consult')"


class AnswerChannel(StrEnum):
    """How the answers were given: by the patient online, or read out by the desk on the phone."""

    ONLINE = "online"
    DESK_PHONE = "desk_phone"


# How pages and the audit say it.
CHANNEL_LABELS = {AnswerChannel.ONLINE: "answered online", AnswerChannel.DESK_PHONE: "answered by the desk by phone"}


class ReviewState(StrEnum):
    UNREVIEWED = "unreviewed"
    REVIEWED = "reviewed"


class TriageSubmission(db.Model):
    __tablename__ = "triage_submission"
    __table_args__ = (
        CheckConstraint("urgency IN ('routine', 'urgent', 'emergency')", name="urgency_known"),
        CheckConstraint(f"route IN {_ROUTES_SQL}", name="route_known"),
        CheckConstraint(f"current_route IN {_ROUTES_SQL}", name="current_route_known"),
        CheckConstraint("review_state IN ('unreviewed', 'reviewed')", name="review_state_known"),
        CheckConstraint("emergency_cleared_at IS NULL OR urgency = 'emergency'", name="only_emergencies_cleared"),
        CheckConstraint("channel IN ('online', 'desk_phone')", name="channel_known"),
        CheckConstraint("channel <> 'desk_phone' OR answered_by_id IS NOT NULL", name="phone_answers_say_who_asked"),
        Index("ix_triage_submission_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None while an anonymous visitor has not yet registered or logged in.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answers: Mapped[dict] = mapped_column(JSON)
    outcome: Mapped[dict] = mapped_column(JSON)  # TriageOutcome.to_dict(), as evaluated
    rules_version: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(32))  # the outcome's route, copied for queries
    urgency: Mapped[str] = mapped_column(String(16))
    urgency_rank: Mapped[int]
    # Only early-stopped at the emergency questions: the rest was never asked.
    complete: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    review_state: Mapped[str] = mapped_column(String(16), default=ReviewState.UNREVIEWED)
    current_route: Mapped[str] = mapped_column(String(32))  # the route after any doctor's change
    # True while the route is a placeholder: the questions stopped at the safety step, so the leg
    # and sleep questions were never asked; the doctor's review sets the route.
    route_provisional: Mapped[bool] = mapped_column(default=False)
    # When a doctor recorded that this emergency has been dealt with; until then booking stays
    # closed for the patient (booking/eligibility.py), whatever they answer afterwards.
    emergency_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Online (the patient, or a visitor not yet registered), or by the desk on the phone with the
    # caller: then `answered_by_id` is the desk user who asked the questions.
    channel: Mapped[str] = mapped_column(String(16), default=AnswerChannel.ONLINE, server_default="online")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Anonymous answers whose visitor then registered from their outcome page: the invitation link
    # mailed to that registration. Choosing a password through it joins these answers to that
    # account (service.join_registration_answers), in whatever browser the link is opened.
    registration_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("account_token.id", ondelete="SET NULL"), index=True)

    patient: Mapped[User | None] = relationship(foreign_keys=[patient_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    reviews: Mapped[list["TriageReview"]] = relationship(
        back_populates="submission", order_by="TriageReview.created_at")

    @classmethod
    def from_outcome(cls, answers: dict, outcome: TriageOutcome, *, patient_id: int | None,
                     complete: bool = True, answered_by_id: int | None = None) -> "TriageSubmission":
        """`answered_by_id`: the desk user who asked the questions on the phone (else online)."""
        return cls(patient_id=patient_id, answers=answers, outcome=outcome.to_dict(),
                   channel=AnswerChannel.DESK_PHONE if answered_by_id else AnswerChannel.ONLINE,
                   answered_by_id=answered_by_id,
                   rules_version=outcome.version, route=outcome.route, urgency=outcome.urgency,
                   urgency_rank=Urgency(outcome.urgency).rank, complete=complete,
                   current_route=outcome.route, route_provisional=outcome.route_provisional,
                   review_state=ReviewState.UNREVIEWED)

    @property
    def result(self) -> TriageOutcome:
        return TriageOutcome.from_dict(self.outcome)

    @property
    def by_phone(self) -> bool:
        return self.channel == AnswerChannel.DESK_PHONE

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, "answered online")

    @property
    def is_emergency(self) -> bool:
        return self.urgency == Urgency.EMERGENCY

    @property
    def emergency_open(self) -> bool:
        """An emergency that no doctor has yet recorded as dealt with: booking is closed."""
        return emergency_open(self.urgency, self.emergency_cleared_at)

    def age_on(self, day: date) -> int | None:
        return case_age(self.patient.date_of_birth if self.patient else None, self.answers.get("age"), day)

    def readable_by(self, user, *, answered_in_this_browser: bool = False) -> bool:
        """Who may see these answers and their outcome: doctors; the patient they belong to; and,
        while they are nobody's yet, the browser that gave them (triage/browser.py says which)."""
        if getattr(user, "is_authenticated", False):
            if user.role == Role.DOCTOR or (user.role == Role.PATIENT and self.patient_id == user.id):
                return True
        return self.patient_id is None and answered_in_this_browser


def emergency_open(urgency: str, cleared_at: datetime | None) -> bool:
    """TriageSubmission.emergency_open from the two columns, for lists that read columns (the queue)."""
    return urgency == Urgency.EMERGENCY and cleared_at is None


def case_age(date_of_birth: date | None, answered_age: int | None, day: date) -> int | None:
    """A case's age on `day`: from the patient's date of birth when there is one, else the age
    given in the answers (TriageSubmission.age_on, for lists that read columns)."""
    age = age_on(date_of_birth, day)
    return age if age is not None else answered_age


# The doctors' queue (portal/queue/cases.py) in its own order, most urgent first, then oldest, then
# id: a page is read straight off the index, with no sort of every case (migration 0011).
Index("ix_triage_submission_queue", TriageSubmission.urgency_rank.desc(), TriageSubmission.created_at,
      TriageSubmission.id)


IMMUTABLE_COLUMNS = ("answers", "outcome", "rules_version", "route", "urgency", "urgency_rank", "complete",
                     "created_at", "channel", "answered_by_id")


@event.listens_for(TriageSubmission, "before_update")
def _refuse_changes_to_what_was_submitted(mapper, connection, submission):
    state = inspect(submission)
    changed = [name for name in IMMUTABLE_COLUMNS if state.attrs[name].history.has_changes()]
    if changed:
        raise ValueError(f"triage submission {submission.id}: {', '.join(changed)} cannot change after submission")


class ReviewAction(StrEnum):
    REVIEWED = "reviewed"
    ROUTE_CHANGED = "route_changed"
    EMERGENCY_CLEARED = "emergency_cleared"  # the emergency was dealt with; may set the route too


class TriageReview(db.Model):
    """One thing a doctor did to a case: marked it reviewed, changed its route (with a reason),
    or recorded that its emergency has been dealt with (with a note, and the route if it changes)."""

    __tablename__ = "triage_review"
    __table_args__ = (
        CheckConstraint("action IN ('reviewed', 'route_changed', 'emergency_cleared')", name="action_known"),
        CheckConstraint("action <> 'emergency_cleared' OR length(reason) > 0", name="emergency_cleared_noted"),
        CheckConstraint("action <> 'route_changed' OR (old_route IS NOT NULL AND new_route IS NOT NULL "
                        "AND length(reason) > 0)", name="route_change_complete"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("triage_submission.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(32))
    old_route: Mapped[str | None] = mapped_column(String(32))
    new_route: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    submission: Mapped[TriageSubmission] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()


class TriageDraft(db.Model):
    """Answers in progress, kept on the server: the browser holds only the draft's random token."""

    __tablename__ = "triage_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
