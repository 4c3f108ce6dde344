"""Booking, cancelling and rescheduling: the only code that writes Appointment rows.

Each write runs in one write transaction that first locks the clinicians and the patient
involved (PostgreSQL: SELECT ... FOR UPDATE on their rows; SQLite: BEGIN IMMEDIATE takes the
database write lock), then checks the slot against hours, time off and appointments, then
inserts. The partial unique indexes and PostgreSQL's exclusion constraints back this up: if
anything slips past the checks, the database refuses the row and the caller gets SlotUnavailable.
"""
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import AuditAction
from portal.auth.models import Role, User
from portal.booking.availability import Interval, free_slots
from portal.booking.eligibility import (
    OVERRIDE_LABELS,
    Actor,
    BookingRequest,
    Decision,
    Override,
    TriageState,
    Verdict,
    decide,
)
from portal.booking.models import (
    ACTIVE_STATUSES,
    STATUS_WORDS,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Clinician,
)
from portal.booking.slots import busy_intervals, local_day_bounds, weekly_schedules
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.triage.models import TriageSubmission
from portal.triage.service import latest_submission, open_emergency_id
from portal.triage.vocabulary import Urgency

_signals = Namespace()
# Sent inside the write transaction once the change is flushed, so what a receiver writes (the
# notify outbox) commits or rolls back with the appointment. Sender: the appointment booked, the
# new appointment of a move (with `old`), or the appointment cancelled.
appointment_booked = _signals.signal("appointment-booked")
appointment_moved = _signals.signal("appointment-moved")
appointment_cancelled = _signals.signal("appointment-cancelled")


class BookingError(Exception):
    """A booking request that cannot be carried out; `message` is shown to the person."""

    message = "That appointment cannot be booked."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        if message:
            self.message = message


class SlotUnavailable(BookingError):
    message = "Sorry, that time was just taken."


class NotBookable(BookingError):
    message = "That time is not open for booking."


class PatientAlreadyBooked(BookingError):
    message = "You already have an appointment at that time."


class AppointmentNotChangeable(BookingError):
    message = "This appointment can no longer be changed."


class TriageNotBookable(BookingError):
    """The patient's triage does not allow this booking (booking/eligibility.py says why)."""


class ReasonRequired(TriageNotBookable):
    """Staff may make this booking against the patient's triage only by stating a reason."""

    def __init__(self, message: str, overrides: tuple[Override, ...]):
        super().__init__(message)
        self.overrides = overrides


class StatusChangeRefused(BookingError):
    message = "That change of status is not possible for this appointment."


class FormAlreadyUsed(BookingError):
    message = "This page was already used to book, and that booking has since changed. Please pick a time again."


@dataclass(frozen=True)
class BookingPolicy:
    """The clinic's booking rules: its zone, the minimum notice and how far ahead one may book."""

    zone: ZoneInfo
    notice: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=365)

    @classmethod
    def from_config(cls) -> "BookingPolicy":
        config = current_app.config
        return cls(zone=ZoneInfo(config["CLINIC_TIMEZONE"]),
                   notice=timedelta(minutes=config["BOOKING_MIN_NOTICE_MINUTES"]),
                   horizon=timedelta(days=config["BOOKING_HORIZON_DAYS"]))

    @classmethod
    def for_front_desk(cls) -> "BookingPolicy":
        """The clinic's rules with no minimum notice: the desk may book or move to a time starting now."""
        return dataclasses.replace(cls.from_config(), notice=timedelta(0))


def _lock(model, ids) -> None:
    """Lock rows in id order, so two transactions never wait on each other in a cycle."""
    for row_id in sorted(set(ids)):
        db.session.execute(select(model.id).where(model.id == row_id).with_for_update())


_TOO_FAR_AHEAD = "That time is too far ahead to book yet. Please pick an earlier time."


def _check_slot(clinician: Clinician, appointment_type: AppointmentType, start: datetime, *,
                policy: BookingPolicy, now: datetime) -> datetime:
    """Raise unless `start` is a free slot of the clinician for this type; return its end."""
    if start < now + policy.notice:
        raise NotBookable("That time has passed or is too soon to book online. Please pick a later time.")
    if start > now + policy.horizon:
        raise NotBookable(_TOO_FAR_AHEAD)
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    if not clinician.takes_bookings or not appointment_type.active:
        raise NotBookable("That clinician or visit type is not taking bookings.")
    if not clinician.offers(appointment_type):
        raise NotBookable(f"{clinician.display_name} does not give this kind of visit. "
                          "Please pick one of the times shown.")
    local_day = start.astimezone(policy.zone).date()
    period = local_day_bounds(local_day, local_day, policy.zone)
    busy = busy_intervals([clinician.id], period)[clinician.id]
    offered = free_slots(weekly_schedules([clinician.id])[clinician.id].blocks_on(local_day), busy,
                         duration=end - start, first_day=local_day, last_day=local_day,
                         zone=policy.zone, now=now, notice=policy.notice)
    if Interval(start, end) in offered:
        return end
    if any(b.start < end and start < b.end for b in _active_appointments(clinician.id, start, end)):
        raise SlotUnavailable()
    raise NotBookable("That time is outside the clinician's working hours. Please pick one of the times shown.")


def _active_appointments(clinician_id: int, start: datetime, end: datetime) -> list[Interval]:
    rows = db.session.execute(select(Appointment.start_at, Appointment.end_at).where(
        Appointment.clinician_id == clinician_id, Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at < end, Appointment.end_at > start))
    return [Interval(s, e) for s, e in rows]


def _check_patient_free(patient_id: int, start: datetime, end: datetime) -> None:
    clash = db.session.scalar(select(Appointment.id).where(
        Appointment.patient_id == patient_id, Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at < end, Appointment.end_at > start).limit(1))
    if clash is not None:
        raise PatientAlreadyBooked()


def _by_idempotency_key(key: str | None) -> Appointment | None:
    if not key:
        return None
    return db.session.scalar(select(Appointment).where(Appointment.idempotency_key == key))


def _replay(key: str | None, patient_id: int) -> Appointment | None:
    """The appointment an earlier submit of the same form made, if any and still active.

    A form whose booking was cancelled or moved since (the back button, days later) must not
    claim success for a booking that no longer stands.
    """
    existing = _by_idempotency_key(key)
    if existing is not None and (existing.patient_id != patient_id or not existing.is_active):
        raise FormAlreadyUsed()
    return existing


def triage_state(patient_id: int) -> TriageState:
    """What the booking rules need of the patient's triage: the latest submission (its current
    route, unless still provisional, and its urgency) and any emergency not yet dealt with."""
    return triage_state_of(latest_submission(patient_id), open_emergency_id(patient_id))


def triage_state_of(latest: TriageSubmission | None, open_emergency_id: int | None) -> TriageState:
    """triage_state from a latest submission and open emergency a page has already read."""
    if latest is None:
        return TriageState(open_emergency_id=open_emergency_id)
    return TriageState(submission_id=latest.id, route=None if latest.route_provisional else latest.current_route,
                       urgency=Urgency(latest.urgency), open_emergency_id=open_emergency_id)


def _actor(patient_id: int, booked_by: User | None) -> Actor:
    """The patient online, or staff on their behalf; a patient never books for someone else."""
    if booked_by is None or booked_by.role == Role.PATIENT:
        if booked_by is not None and booked_by.id != patient_id:
            raise NotBookable("You can only book for yourself.")
        return Actor.PATIENT
    return Actor.STAFF


def _has_other_upcoming(patient_id: int, appointment_type_id: int, now: datetime, *,
                        moving: Appointment | None) -> bool:
    """An active visit of this type that has not ended, other than the one being moved."""
    query = select(Appointment.id).where(
        Appointment.patient_id == patient_id, Appointment.appointment_type_id == appointment_type_id,
        Appointment.status.in_(ACTIVE_STATUSES), Appointment.end_at > now)
    if moving is not None:
        query = query.where(Appointment.id != moving.id)
    return db.session.scalar(query.limit(1)) is not None


def _standing_overrides(moving: Appointment | None) -> frozenset[Override]:
    if moving is None or not moving.override_reason:
        return frozenset()
    return frozenset(Override(value) for value in moving.override_list)


def booking_decision(*, patient_id: int, appointment_type: AppointmentType, start: datetime, booked_by: User | None,
                     now: datetime, moving: Appointment | None = None) -> tuple[Decision, TriageState]:
    """The triage rules' answer for this booking or move (eligibility.decide on the stored state).
    Pages call it to ask for a reason before the desk confirms; the writers call it again inside
    their transaction, after the locks, where it decides."""
    state = triage_state(patient_id)
    request = BookingRequest(
        actor=_actor(patient_id, booked_by), route=appointment_type.route, start=start, now=now,
        standing_overrides=_standing_overrides(moving),
        has_other_upcoming_of_type=_has_other_upcoming(patient_id, appointment_type.id, now, moving=moving))
    return decide(state, request, clinic_phone=current_app.config["CLINIC_PHONE"],
                  emergency_number=current_app.config["EMERGENCY_NUMBER"]), state


def _check_triage(*, patient_id: int, appointment_type: AppointmentType, start: datetime, booked_by: User | None,
                  now: datetime, override_reason: str | None, moving: Appointment | None):
    """Apply the triage rules (the booking rule of triage safety): raise when refused or when a needed reason
    is missing; else return (overrides to store, their reason, the triage to link)."""
    decision, state = booking_decision(patient_id=patient_id, appointment_type=appointment_type, start=start,
                                       booked_by=booked_by, now=now, moving=moving)
    if decision.verdict == Verdict.REFUSED:
        raise TriageNotBookable(decision.message)
    if decision.verdict == Verdict.NEEDS_REASON and not override_reason:
        raise ReasonRequired(decision.message, decision.overrides)
    standing_reason = moving.override_reason if moving is not None else None
    reason = (override_reason or standing_reason) if decision.overrides else None
    # Linked to the latest triage when it is the visit that triage routes to: the queue then shows
    # the case booked. A move otherwise keeps the link it had.
    link = state.submission_id if state.route == appointment_type.route else (
        moving.triage_submission_id if moving is not None else None)
    return decision.overrides, reason, link


def book_appointment(*, patient_id: int, clinician_id: int, appointment_type_id: int, start: datetime,
                     idempotency_key: str | None = None, booked_by_id: int | None = None,
                     overbook_reason: str | None = None, override_reason: str | None = None,
                     policy: BookingPolicy | None = None, now: datetime | None = None) -> Appointment:
    """Book a free slot for a patient. A repeated idempotency key returns the first booking.
    The patient's triage is checked here, whoever books (booking/eligibility.py); staff may set a
    triage rule aside only with `override_reason`, stored on the appointment and audited.
    With `overbook_reason` (front desk only, checked by the caller), the clinician may already be
    busy then: a deliberate squeeze-in, stored and audited as such; the patient rule still holds."""
    if start.tzinfo is None:
        raise ValueError("book_appointment needs an aware datetime")
    start = start.astimezone(UTC)  # UTC in the core: arithmetic on it is real time, across DST too
    policy = policy or BookingPolicy.from_config()
    now = now or utc_now()
    try:
        with write_transaction():
            _lock(Clinician, [clinician_id])
            _lock(User, [patient_id])
            # Checked after the locks: a concurrent submit of the same form has committed by now.
            if (existing := _replay(idempotency_key, patient_id)) is not None:
                return existing
            appointment = _insert_locked(
                patient_id=patient_id, clinician_id=clinician_id, appointment_type_id=appointment_type_id,
                start=start, idempotency_key=idempotency_key, booked_by_id=booked_by_id or patient_id,
                policy=policy, now=now, overbook_reason=(overbook_reason or "").strip() or None,
                override_reason=(override_reason or "").strip()[:300] or None)
            appointment_booked.send(appointment, now=now)
    except IntegrityError:
        # Another transaction committed first (the unique key or an index refused our row).
        if (existing := _replay(idempotency_key, patient_id)) is not None:
            return existing
        raise SlotUnavailable() from None
    return appointment


def _insert_locked(*, patient_id: int, clinician_id: int, appointment_type_id: int, start: datetime,
                   idempotency_key: str | None, booked_by_id: int, policy: BookingPolicy, now: datetime,
                   moving: Appointment | None = None, overbook_reason: str | None = None,
                   override_reason: str | None = None) -> Appointment:
    """Check and insert one appointment; the caller holds the clinician and patient locks, so the
    triage state read here cannot change before the commit (a doctor's review or new answers
    lock the patient too)."""
    clinician = db.session.get(Clinician, clinician_id)
    appointment_type = db.session.get(AppointmentType, appointment_type_id)
    patient = db.session.get(User, patient_id)
    booked_by = db.session.get(User, booked_by_id)
    if clinician is None or appointment_type is None or patient is None or patient.role != Role.PATIENT:
        raise NotBookable("That clinician or visit type does not exist.")
    if overbook_reason:
        end = _check_overbook(clinician, appointment_type, start, policy=policy, now=now)
    else:
        end = _check_slot(clinician, appointment_type, start, policy=policy, now=now)
    _check_patient_free(patient_id, start, end)
    overrides, override_reason, triage_submission_id = _check_triage(
        patient_id=patient_id, appointment_type=appointment_type, start=start, booked_by=booked_by, now=now,
        override_reason=override_reason, moving=moving)
    appointment = Appointment(patient_id=patient_id, clinician_id=clinician_id,
                              appointment_type_id=appointment_type_id, start_at=start, end_at=end,
                              status=AppointmentStatus.BOOKED, idempotency_key=idempotency_key or None,
                              booked_by_id=booked_by_id, rescheduled_from_id=moving.id if moving else None,
                              triage_submission_id=triage_submission_id, overbook=bool(overbook_reason),
                              overbook_reason=overbook_reason, overrides=",".join(overrides) or None,
                              override_reason=override_reason)
    db.session.add(appointment)
    db.session.flush()
    if moving is None:
        audit.record(AuditAction.APPOINTMENT_OVERBOOKED if overbook_reason else AuditAction.APPOINTMENT_BOOKED,
                     patient_id=patient_id, appointment_id=appointment.id, user_id=booked_by_id,
                     detail=f"{appointment_type.name} with {clinician.display_name} at {start.isoformat()}"
                            + (f"; overbook: {overbook_reason}" if overbook_reason else ""))
    if overrides:
        audit.record(AuditAction.APPOINTMENT_TRIAGE_OVERRIDE, patient_id=patient_id, appointment_id=appointment.id,
                     user_id=booked_by_id, detail="; ".join(OVERRIDE_LABELS[o] for o in overrides)
                     + f" (triage case {triage_submission_id or 'none'}): {override_reason}")
    return appointment


def _check_overbook(clinician: Clinician, appointment_type: AppointmentType, start: datetime, *,
                    policy: BookingPolicy, now: datetime) -> datetime:
    """A squeeze-in may overlap the clinician's other appointments, but not lie in the past, nor
    beyond the booking horizon that binds every booking."""
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    if end <= now:
        raise NotBookable("That time has already passed.")
    if start > now + policy.horizon:
        raise NotBookable(_TOO_FAR_AHEAD)
    if not clinician.takes_bookings or not appointment_type.active:
        raise NotBookable("That clinician or visit type is not taking bookings.")
    return end


def _changeable(appointment_id: int, *, by_user: User, now: datetime) -> Appointment:
    """The appointment, locked, if `by_user` may still change it."""
    appointment = db.session.scalar(
        select(Appointment).where(Appointment.id == appointment_id).with_for_update()
        .execution_options(populate_existing=True))  # the locked row, not a copy read before the lock
    if appointment is None or (by_user.role == Role.PATIENT and appointment.patient_id != by_user.id):
        raise AppointmentNotChangeable("That appointment was not found.")
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentNotChangeable(f"This appointment is {STATUS_WORDS[appointment.status].in_a_sentence} "
                                       "and can no longer be changed.")
    if appointment.start_at <= now:
        raise AppointmentNotChangeable("This appointment has already started and can no longer be changed.")
    return appointment


def _mark_cancelled(appointment: Appointment, *, by_user: User, reason: str, now: datetime) -> None:
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancellation_reason = reason.strip()[:300] or "No reason given"
    appointment.cancelled_at = now
    appointment.cancelled_by_id = by_user.id


def cancel_appointment(appointment_id: int, *, by_user: User, reason: str, now: datetime | None = None) -> Appointment:
    """Cancel a booked appointment; the row is kept with who cancelled, when and why."""
    now = now or utc_now()
    with write_transaction():
        appointment = _changeable(appointment_id, by_user=by_user, now=now)
        _mark_cancelled(appointment, by_user=by_user, reason=reason, now=now)
        audit.record(AuditAction.APPOINTMENT_CANCELLED, patient_id=appointment.patient_id,
                     appointment_id=appointment.id, user_id=by_user.id, detail=appointment.cancellation_reason)
        appointment_cancelled.send(appointment, now=now)
    return appointment


def reschedule_appointment(appointment_id: int, *, by_user: User, new_start: datetime,
                           new_clinician_id: int | None = None, idempotency_key: str | None = None,
                           override_reason: str | None = None, policy: BookingPolicy | None = None,
                           now: datetime | None = None) -> Appointment:
    """Move an appointment in one transaction: the old one is cancelled and the new one booked
    together, or neither happens, so the patient never ends with both or with none. The triage
    rules apply to the new time as to a booking; a reason the desk gave for the old time still
    stands for the rules it set aside, and `override_reason` covers any new one."""
    if new_start.tzinfo is None:
        raise ValueError("reschedule_appointment needs an aware datetime")
    new_start = new_start.astimezone(UTC)
    policy = policy or BookingPolicy.from_config()
    now = now or utc_now()
    patient_id = None
    try:
        with write_transaction():
            old = db.session.get(Appointment, appointment_id)
            if old is None:
                raise AppointmentNotChangeable("That appointment was not found.")
            patient_id = old.patient_id
            clinician_id = new_clinician_id or old.clinician_id
            # Same lock order as booking (clinicians, then the appointment, then the patient),
            # so a move and a booking never wait on each other in a cycle.
            _lock(Clinician, [old.clinician_id, clinician_id])
            if (existing := _replay(idempotency_key, patient_id)) is not None:
                return existing
            old = _changeable(appointment_id, by_user=by_user, now=now)
            _lock(User, [patient_id])
            _mark_cancelled(old, by_user=by_user, reason="Moved to another time", now=now)
            db.session.flush()  # frees the old slot, so a move to an overlapping time is possible
            new = _insert_locked(
                patient_id=patient_id, clinician_id=clinician_id,
                appointment_type_id=old.appointment_type_id, start=new_start, idempotency_key=idempotency_key,
                booked_by_id=by_user.id, policy=policy, now=now, moving=old,
                override_reason=(override_reason or "").strip()[:300] or None)
            audit.record(AuditAction.APPOINTMENT_MOVED, patient_id=patient_id, appointment_id=new.id,
                         user_id=by_user.id, detail=f"from {old.start_at.isoformat()} (appointment {old.id}) "
                                                    f"to {new.start_at.isoformat()}")
            appointment_moved.send(new, old=old, now=now)
    except IntegrityError:
        if (existing := _replay(idempotency_key, patient_id)) is not None:
            return existing
        raise SlotUnavailable() from None
    return new


# Which status may follow which (FHIR Appointment); anything else is refused.
_NEXT_STATUS = {
    AppointmentStatus.CHECKED_IN: ({AppointmentStatus.BOOKED}, AuditAction.APPOINTMENT_CHECKED_IN),
    AppointmentStatus.NOSHOW: ({AppointmentStatus.BOOKED}, AuditAction.APPOINTMENT_NO_SHOW),
    AppointmentStatus.FULFILLED: ({AppointmentStatus.CHECKED_IN}, AuditAction.APPOINTMENT_FULFILLED),
}
def change_status(appointment_id: int, to_status: str, *, by_user: User, policy: BookingPolicy | None = None,
                  now: datetime | None = None) -> Appointment:
    """Check in (only from booked, only on its day), mark a no-show (only from booked, only
    after its start) or mark attended (only from checked in). Anything else changes nothing."""
    policy = policy or BookingPolicy.from_config()
    now = now or utc_now()
    if to_status not in _NEXT_STATUS:
        raise StatusChangeRefused()
    allowed_from, action = _NEXT_STATUS[to_status]
    with write_transaction():
        appointment = db.session.scalar(select(Appointment).where(Appointment.id == appointment_id)
                                        .with_for_update().execution_options(populate_existing=True))
        if appointment is None:
            raise StatusChangeRefused("That appointment was not found.")
        if appointment.status not in allowed_from:
            raise StatusChangeRefused(
                f"This appointment is {STATUS_WORDS[appointment.status].in_a_sentence}, so it cannot be marked "
                f"{STATUS_WORDS[to_status].in_a_sentence}.")
        if to_status == AppointmentStatus.CHECKED_IN and (
                appointment.start_at.astimezone(policy.zone).date() != now.astimezone(policy.zone).date()):
            raise StatusChangeRefused("A patient can only be checked in on the day of the appointment.")
        if to_status == AppointmentStatus.NOSHOW and now < appointment.start_at:
            raise StatusChangeRefused("A no-show can only be marked after the appointment's start time.")
        appointment.status = to_status
        if to_status == AppointmentStatus.CHECKED_IN:
            appointment.checked_in_at = now
        audit.record(action, patient_id=appointment.patient_id, appointment_id=appointment.id, user_id=by_user.id)
    return appointment
