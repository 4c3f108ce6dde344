"""The desk's pick → confirm → "just taken" flow, written once for every desk write: booking a
free time for a patient, moving an appointment, and the overbook.

A view says what its write is about in a DeskFlow and hands the service call to `confirm_slot`
(a picked time's confirmation page and its POST) or to `write_or_explain` (the overbook, which
has a form of its own). The service's answer becomes a page here: done → the view's redirect
(Post/Redirect/Get); a stated reason needed (ReasonRequired) → the form again, the service's words
on the reason field, 422; any other BookingError → the one "just taken" page, desk/taken.html,
with the next free times (the loser of a race is told, never a 500): 409 when the time was taken
meanwhile, else 422.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.auth.models import User
from portal.booking.models import Appointment, AppointmentType, Clinician
from portal.booking.service import (
    BookingError,
    BookingPolicy,
    PatientAlreadyBooked,
    ReasonRequired,
    SlotUnavailable,
    TriageNotBookable,
    booking_decision,
)
from portal.booking.slots import Slot, next_open_slots
from portal.booking.week import picked_slot
from portal.database import utc_now
from portal.desk.forms import DeskConfirmSlotForm
from portal.extensions import db

NEXT_TIMES_OFFERED = 6

Done = Callable[[Appointment], ResponseReturnValue]


@dataclass(frozen=True)
class DeskFlow:
    """One desk write and the pages around it. `moving` is the appointment a move replaces (None
    for a booking); the taken page then says what the patient keeps."""

    patient: User
    appointment_type: AppointmentType
    confirm_template: str  # the confirmation page, extending _confirm.html
    action: str  # where the confirmation posts
    back: str  # the week of free times: "Choose another time", "See all free times"
    pick_endpoint: str  # each next free time on the taken page links to this confirmation
    pick_args: dict
    moving: Appointment | None = None
    # A move offers the next times with the clinician picked: the desk chose them on purpose.
    same_clinician: bool = False
    # Errors after which no other time would do better (a move of a visit no longer changeable):
    # the desk is told why and sent to `gone_back_to` instead of being offered times.
    go_back_on: tuple[type[BookingError], ...] = ()
    gone_back_to: str | None = None
    context: dict = field(default_factory=dict)  # what else the confirmation page shows


def desk_message(error: BookingError, patient: User) -> str:
    """The service speaks to patients; the desk hears about the patient."""
    if isinstance(error, PatientAlreadyBooked):
        return f"{patient.name} already has an appointment at that time."
    return error.message


def _offering(flow: DeskFlow, clinician_id: int | None) -> Clinician | None:
    """The clinician picked, when the next times are to be theirs and they still give this visit."""
    if not flow.same_clinician or clinician_id is None:
        return None
    clinician = db.session.get(Clinician, clinician_id)
    if clinician is None or not (clinician.takes_bookings and clinician.offers(flow.appointment_type)):
        return None
    return clinician


def _next_free_times(flow: DeskFlow, error: BookingError, *, after: datetime, clinician: Clinician | None,
                     policy: BookingPolicy) -> list[Slot]:
    if isinstance(error, TriageNotBookable):  # other times would be refused the same way
        return []
    now = utc_now()
    latest = now + policy.horizon  # staff may book past an urgent window, with a reason
    return next_open_slots(flow.appointment_type, after=min(after, latest), zone=policy.zone, now=now,
                           notice=policy.notice, clinician_id=clinician.id if clinician else None,
                           latest_start=latest, limit=NEXT_TIMES_OFFERED)


def taken_page(flow: DeskFlow, error: BookingError, *, after: datetime, clinician_id: int | None,
               policy: BookingPolicy) -> ResponseReturnValue:
    """Why nothing was written, what stays as it was, and the next free times to pick from."""
    clinician = _offering(flow, clinician_id)
    alternatives = _next_free_times(flow, error, after=after, clinician=clinician, policy=policy)
    return render_template("desk/taken.html", flow=flow, message=desk_message(error, flow.patient),
                           clinician=clinician, alternatives=alternatives), (
        409 if isinstance(error, SlotUnavailable) else 422)


def write_or_explain(flow: DeskFlow, write: Callable[[], Appointment], *,
                     form_again: Callable[[ReasonRequired], ResponseReturnValue], done: Done, after: datetime,
                     clinician_id: int | None, policy: BookingPolicy) -> ResponseReturnValue:
    """Make the write and turn the service's answer into the page (this module's docstring)."""
    try:
        appointment = write()
    except ReasonRequired as error:
        return form_again(error)
    except flow.go_back_on as error:
        flash(error.message, "error")
        return redirect(flow.gone_back_to)
    except BookingError as error:
        return taken_page(flow, error, after=after, clinician_id=clinician_id, policy=policy)
    return done(appointment)


def confirm_page(flow: DeskFlow, form: DeskConfirmSlotForm, start: datetime, clinician: Clinician,
                 status: int = 200) -> ResponseReturnValue:
    """The picked time with the triage rules' answer: a reason field when one is needed, and no
    button when the write is refused (the service decides again when the desk confirms)."""
    decision, _ = booking_decision(patient_id=flow.patient.id, appointment_type=flow.appointment_type, start=start,
                                   booked_by=current_user, now=utc_now(), moving=flow.moving)
    return render_template(flow.confirm_template, form=form, patient=flow.patient, appointment=flow.moving,
                           appointment_type=flow.appointment_type, clinician=clinician, start=start,
                           end=start + timedelta(minutes=flow.appointment_type.duration_minutes),
                           decision=decision, action=flow.action, back=flow.back, **flow.context), status


def confirm_slot(flow: DeskFlow, write: Callable[[DeskConfirmSlotForm], Appointment], *, done: Done,
                 policy: BookingPolicy) -> ResponseReturnValue:
    """GET: the time a link picked (?start=&clinician=) with a fresh idempotency key, or back to
    the free times when the link names no time that could be one. POST: `write(form)`, explained."""
    form = DeskConfirmSlotForm()
    if form.validate_on_submit():
        clinician_id = int(form.clinician_id.data)

        def form_again(error: ReasonRequired) -> ResponseReturnValue:
            form.override_reason.errors.append(error.message)
            clinician = db.session.get(Clinician, clinician_id)
            if clinician is None:  # a changed form: nothing to show again
                return taken_page(flow, error, after=form.start_at, clinician_id=None, policy=policy)
            return confirm_page(flow, form, form.start_at, clinician, 422)

        return write_or_explain(flow, lambda: write(form), form_again=form_again, done=done, after=form.start_at,
                                clinician_id=clinician_id, policy=policy)
    if request.method == "POST":
        flash("Something was missing from that form. Please pick a time again.", "error")
        return redirect(flow.back)
    now = utc_now()
    picked = picked_slot(now=now, latest=now + policy.horizon)
    if picked is None:
        flash("Please pick one of the times shown.", "error")
        return redirect(flow.back)
    start, clinician = picked
    form.fill(start, clinician.id)
    return confirm_page(flow, form, start, clinician)
