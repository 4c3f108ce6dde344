"""Patient pages: the outcome of the questions, pick a free time, confirm it, and see, move or
cancel my appointments."""
from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal import clinic
from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.booking.appointments import upcoming_and_past
from portal.booking.eligibility import URGENT_WINDOW, latest_start
from portal.booking.forms import CancelForm, ConfirmSlotForm
from portal.booking.models import PATIENT_STATUS_LABELS, Appointment, AppointmentType
from portal.booking.picker import days_with_times
from portal.booking.service import (
    AppointmentNotChangeable,
    BookingError,
    BookingPolicy,
    FormAlreadyUsed,
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
    triage_state_of,
)
from portal.booking.slots import Slot, next_open_slots, open_slots
from portal.booking.week import clinicians_offering, free_week, picked_slot
from portal.database import utc_now
from portal.extensions import db
from portal.letters.content import KIND_TITLES
from portal.letters.service import latest_versions, signed_letters_of
from portal.phone_hours import describe as describe_phone_hours
from portal.triage.browser import answered_in_this_browser
from portal.triage.models import TriageSubmission
from portal.triage.rules import RULE_TEXT, urgency_advice
from portal.triage.service import latest_submission, open_emergency, record_staff_view
from portal.triage.vocabulary import ROUTE_EXPLAINED, Route, Urgency

bp = Blueprint("booking", __name__)


def _routed_type(submission: TriageSubmission) -> AppointmentType | None:
    """The visit type the patient's triage (or a doctor's change to it) routes them to."""
    return db.session.scalar(select(AppointmentType).where(
        AppointmentType.route == submission.current_route, AppointmentType.active))


def open_emergency_of_current_patient() -> TriageSubmission | None:
    """The logged-in patient's emergency not yet dealt with by a doctor (online booking is closed
    while there is one), looked up once per request and only by pages that ask."""
    if not (current_user.is_authenticated and current_user.role == Role.PATIENT):
        return None
    if "open_emergency" not in g:
        g.open_emergency = open_emergency(current_user.id)
    return g.open_emergency


def _latest_submission_of_current_patient() -> TriageSubmission | None:
    """The logged-in patient's latest triage, looked up once per request."""
    if "latest_submission" not in g:
        g.latest_submission = latest_submission(current_user.id)
    return g.latest_submission


@bp.app_context_processor
def _booking_state():
    return {"open_emergency": open_emergency_of_current_patient}


def _booking_closed_page():
    return render_template("booking/closed.html")


# Why the patient cannot pick a time online now, and what to do instead.
BOOKING_CLOSED, QUESTIONS_FIRST, CALL_US = "booking_closed", "questions_first", "call_us"
NOT_BOOKABLE_MESSAGES = {
    BOOKING_CLOSED: "Online booking is paused until a doctor has reviewed your answers. Please call us.",
    QUESTIONS_FIRST: "First, a few short questions, so that we book the right kind of visit for you.",
    CALL_US: "That kind of visit cannot be booked online just now. Please call us.",
}


def _what_to_book() -> tuple[TriageSubmission | None, AppointmentType | None, str | None]:
    """The latest triage and the visit type it routes to, or why there is none to book: booking
    closed while an emergency awaits a doctor, no answers yet, or a visit not booked online."""
    if open_emergency_of_current_patient() is not None:
        return None, None, BOOKING_CLOSED
    submission = _latest_submission_of_current_patient()
    if submission is None:
        return None, None, QUESTIONS_FIRST
    appointment_type = _routed_type(submission)
    if appointment_type is None:
        return None, None, CALL_US
    return submission, appointment_type, None


def _bookable_triage() -> tuple[TriageSubmission | None, AppointmentType | None, object]:
    """_what_to_book, with the page to show instead when there is nothing to book: the closed
    notice, the questions, or the home page."""
    submission, appointment_type, reason = _what_to_book()
    if reason == BOOKING_CLOSED:
        return None, None, _booking_closed_page()
    if reason == QUESTIONS_FIRST:
        flash(NOT_BOOKABLE_MESSAGES[reason], "info")
        return None, None, redirect(url_for("triage.start"))
    if reason == CALL_US:
        flash(NOT_BOOKABLE_MESSAGES[reason], "error")
        return None, None, redirect(url_for("pages.index"))
    return submission, appointment_type, None


def _week_page(template: str, appointment_type: AppointmentType, latest_start: datetime, **context):
    """The week of free times for one visit type, shared by booking and rescheduling."""
    policy = BookingPolicy.from_config()
    week = free_week(appointment_type, zone=policy.zone, now=utc_now(), notice=policy.notice,
                     horizon=policy.horizon, latest_start=latest_start)
    return render_template(template, appointment_type=appointment_type, **week, **context)


@bp.get("/book/")
@roles_required(Role.PATIENT)
def book():
    submission, appointment_type, elsewhere = _bookable_triage()
    if elsewhere is not None:
        return elsewhere
    if submission.urgency == Urgency.URGENT:  # the outcome page offers the next 24 hours
        return redirect(url_for(".outcome", submission_id=submission.id))
    return _week_page("booking/book.html", appointment_type, _latest_start(), submission=submission)


@bp.get("/book/slots.json")
@roles_required(Role.PATIENT)
def slots_json():
    """The free times of /book/ as data, for scripts and the slot picker: the same week (?week=),
    clinician (?clinician=) and rules, with the times in UTC. An urgent case gets its next 24
    hours, as the outcome page offers them. Nothing to book gives 409 and why; a week or
    clinician that cannot be shown as asked is said in `notices`, as the page says it."""
    submission, appointment_type, reason = _what_to_book()
    if reason is not None:
        return jsonify(error=reason, message=NOT_BOOKABLE_MESSAGES[reason]), 409
    policy = BookingPolicy.from_config()
    notices: list[str] = []
    week = free_week(appointment_type, zone=policy.zone, now=utc_now(), notice=policy.notice,
                     horizon=policy.horizon, latest_start=_latest_start(),
                     notify=lambda message, _category: notices.append(message))

    def times(slots):
        return [{"start": slot.start.isoformat(), "end": slot.end.isoformat(), "clinician_ids": slot.clinician_ids}
                for slot in slots]

    def day_or_none(day):
        return day.isoformat() if day else None

    first = week["first_free"]
    return jsonify(
        visit={"route": appointment_type.route, "name": appointment_type.name,
               "minutes": appointment_type.duration_minutes, "urgent": submission.urgency == Urgency.URGENT},
        zone=week["zone_name"], clinician=week["clinician_id"],
        clinicians=[{"id": c.id, "name": c.display_name} for c in week["clinicians"].values()],
        week={"first_day": week["first_day"].isoformat(), "last_day": week["last_day"].isoformat(),
              "previous": day_or_none(week["previous_week"]), "next": day_or_none(week["next_week"])},
        first_free=times([first])[0] if first else None,
        days=[{"date": day.isoformat(), "times": times(slots)} for day, slots in week["days"]],
        # A time is booked on its confirmation page: GET it with start= and clinician= (one of
        # the time's clinician_ids) for the form, then POST the form.
        confirm_url=url_for(".confirm_booking"),
        notices=notices)


def _latest_start() -> datetime:
    """The last start offered to the patient: the horizon, or 24 hours for an urgent case (from
    the triage this request has read already; the booking service reads it again as it books)."""
    emergency = open_emergency_of_current_patient()
    state = triage_state_of(_latest_submission_of_current_patient(), emergency.id if emergency else None)
    return latest_start(state, now=utc_now(), horizon=BookingPolicy.from_config().horizon)


def _alternatives(appointment_type: AppointmentType, after: datetime, latest_start: datetime) -> list[Slot]:
    """The next free times of this type from `after` on: what the loser of a race is offered."""
    policy = BookingPolicy.from_config()
    now = utc_now()
    return next_open_slots(appointment_type, after=min(after, latest_start), zone=policy.zone, now=now,
                           notice=policy.notice, latest_start=latest_start)


@bp.route("/book/confirm", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
def confirm_booking():
    submission, appointment_type, elsewhere = _bookable_triage()
    if elsewhere is not None:
        return elsewhere

    def book(form: ConfirmSlotForm) -> Appointment:
        return book_appointment(patient_id=current_user.id, clinician_id=int(form.clinician_id.data),
                                appointment_type_id=appointment_type.id, start=form.start_at,
                                idempotency_key=form.idempotency_key.data)

    return _confirm_slot(appointment_type, book, success=f"Your {appointment_type.name.lower()} is booked.",
                         endpoint="booking.confirm_booking", endpoint_args={"type": appointment_type.route},
                         back=url_for(".book", type=appointment_type.route), latest_start=_latest_start())


def _confirm_slot(appointment_type: AppointmentType, write, *, success: str, endpoint: str, endpoint_args: dict,
                  back: str, latest_start: datetime, moving: Appointment | None = None):
    """GET shows the picked slot with a fresh idempotency key; POST books it with `write(form)`
    and redirects (Post/Redirect/Get), or shows why not with the next free times."""
    form = ConfirmSlotForm()
    action = url_for(endpoint, **endpoint_args)
    if form.validate_on_submit():
        try:
            appointment = write(form)
        except (AppointmentNotChangeable, FormAlreadyUsed) as error:
            flash(error.message, "error")  # other times would fail the same way: say why, go back
            return redirect(url_for(".my_appointments"))
        except BookingError as error:
            alternatives = _alternatives(appointment_type, form.start_at, latest_start)
            return render_template("booking/taken.html", error=error, appointment_type=appointment_type,
                                   alternatives=alternatives, pick_endpoint=endpoint, pick_args=endpoint_args), (
                409 if isinstance(error, SlotUnavailable) else 422)
        flash(success, "success")
        return redirect(url_for(".my_appointments", booked=appointment.id))
    if request.method == "POST":
        flash("Something was missing from that form. Please pick a time again.", "error")
        return redirect(back)
    now = utc_now()
    picked = picked_slot(now=now, latest=now + BookingPolicy.from_config().horizon)
    if picked is None:
        flash("Please pick one of the times shown.", "error")
        return redirect(back)
    start, clinician = picked
    form.fill(start, clinician.id)
    return render_template("booking/confirm.html", form=form, appointment_type=appointment_type,
                           clinician=clinician, start=start, moving=moving,
                           end=start + timedelta(minutes=appointment_type.duration_minutes),
                           action=action, back=back)


@bp.get("/appointments/")
@roles_required(Role.PATIENT)
def my_appointments():
    now = utc_now()
    upcoming, past = upcoming_and_past(current_user.id, now)
    letters = signed_letters_of(current_user.id)
    return render_template("booking/appointments.html", upcoming=upcoming, past=past, now=now,
                           status_labels=PATIENT_STATUS_LABELS, highlight=request.args.get("booked", type=int),
                           letters=letters, current_letters=latest_versions(letters), letter_titles=KIND_TITLES)


def _own_appointment(appointment_id: int) -> Appointment:
    appointment = db.get_or_404(Appointment, appointment_id)
    if not appointment.readable_by(current_user):  # someone else's visit: as if there were none
        abort(404)
    return appointment


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
def cancel(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            cancel_appointment(appointment.id, by_user=current_user, reason=form.reason_text or "Canceled by patient")
        except BookingError as error:
            flash(error.message, "error")
        else:
            flash("Your appointment is canceled.", "success")
        return redirect(url_for(".my_appointments"))
    return render_template("booking/cancel.html", appointment=appointment, form=form), 400 if form.errors else 200


@bp.get("/appointments/<int:appointment_id>/reschedule")
@roles_required(Role.PATIENT)
def reschedule(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    if open_emergency_of_current_patient() is not None:
        return _booking_closed_page()
    if not appointment.status == "booked" or appointment.start_at <= utc_now():
        flash("This appointment can no longer be moved.", "error")
        return redirect(url_for(".my_appointments"))
    return _week_page("booking/reschedule.html", appointment.appointment_type, _latest_start(),
                      appointment=appointment)


@bp.route("/appointments/<int:appointment_id>/reschedule/confirm", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
def confirm_reschedule(appointment_id: int):
    appointment = _own_appointment(appointment_id)
    if open_emergency_of_current_patient() is not None:
        return _booking_closed_page()

    def move(form: ConfirmSlotForm) -> Appointment:
        return reschedule_appointment(appointment.id, by_user=current_user, new_start=form.start_at,
                                      new_clinician_id=int(form.clinician_id.data),
                                      idempotency_key=form.idempotency_key.data)

    return _confirm_slot(appointment.appointment_type, move, success="Your appointment has been moved.",
                         endpoint="booking.confirm_reschedule", endpoint_args={"appointment_id": appointment_id},
                         back=url_for(".reschedule", appointment_id=appointment_id), moving=appointment,
                         latest_start=_latest_start())


# --- the outcome of the questions: between triage and booking ---------------------------------------

def _visible_submission(submission_id: int) -> TriageSubmission:
    submission = db.get_or_404(TriageSubmission, submission_id)
    if not submission.readable_by(current_user, answered_in_this_browser=answered_in_this_browser(submission_id)):
        abort(404)  # someone else's answers: as if there were none
    if current_user.is_authenticated and current_user.role == Role.DOCTOR:
        record_staff_view(submission, current_user)
    return submission


def urgent_slots(appointment_type: AppointmentType):
    """Free times of this type within the next 24 hours: all an urgent case is offered."""
    policy = BookingPolicy.from_config()
    now = utc_now()
    local_today = clinic.today(now)
    return open_slots(appointment_type, first_day=local_today, last_day=local_today + timedelta(days=1),
                      zone=policy.zone, now=now, notice=policy.notice, latest_start=now + URGENT_WINDOW)


def _routine_week(submission: TriageSubmission, appointment_type: AppointmentType | None) -> dict | None:
    """The week of free times the outcome page leads with: for the logged-in patient's own latest
    answers, when they can book now (the same triage /book/ would use), else None."""
    if not (current_user.is_authenticated and current_user.role == Role.PATIENT) or appointment_type is None:
        return None
    latest, bookable_type, reason = _what_to_book()
    if reason is not None or latest.id != submission.id or bookable_type.id != appointment_type.id:
        return None
    policy = BookingPolicy.from_config()
    return free_week(appointment_type, zone=policy.zone, now=utc_now(), notice=policy.notice,
                     horizon=policy.horizon, latest_start=_latest_start())


@bp.get("/triage/<int:submission_id>")
def outcome(submission_id: int):
    """What the answers mean and the next step: emergency advice first; for an urgent case the
    clinic's phone, its hours and the next 24 hours (or where to be seen today instead); for a
    routine one the week of times, then why this visit."""
    submission = _visible_submission(submission_id)
    result = submission.result
    route = Route(submission.current_route)
    appointment_type = db.session.scalar(select(AppointmentType).where(AppointmentType.route == route,
                                                                       AppointmentType.active))
    urgent = submission.urgency == Urgency.URGENT
    now = utc_now()
    slots = urgent_slots(appointment_type) if urgent and appointment_type is not None else []
    clinicians = clinicians_offering(appointment_type) if slots else {}
    phone_open = clinic.phone_open(now)
    week = None if urgent or submission.is_emergency else _routine_week(submission, appointment_type)
    return render_template(
        "booking/outcome.html", **(week or {}), has_week=week is not None, submission=submission, result=result,
        route=route,
        route_title=ROUTE_EXPLAINED[route][0], route_text=ROUTE_EXPLAINED[route][1],
        # Why it is urgent goes in the alert; why this visit goes with the visit.
        urgency_reasons=[RULE_TEXT[rule] for rule in result.reasons if rule[0] in "EU"],
        route_reasons=[RULE_TEXT[rule] for rule in result.reasons if rule[0] == "R"],
        advice=urgency_advice(submission.urgency, current_app.config["EMERGENCY_NUMBER"]),
        appointment_type=appointment_type, slots=slots,
        urgent_days=days_with_times(slots, BookingPolicy.from_config().zone),
        emergency_number=current_app.config["EMERGENCY_NUMBER"],
        **({} if week else {"clinicians": clinicians}), phone_open=phone_open,
        phone_hours=describe_phone_hours(clinic.phone_hours()),
        # rlsvein-1: closed now, or nothing free in the next 24 hours: be seen elsewhere today.
        seen_elsewhere=urgent and (not phone_open or not slots),
        no_driving="U4" in result.reasons)
