"""Front-desk calendar pages: the clinicians' day and week, and what the desk does to an
appointment (check in, no-show, attended, cancel, move).

The day view has a column per active clinician; the week view has the seven days of one
clinician; desk/calendar.py lays them out. Every change goes through portal.booking.service,
which checks the rules and writes the audit log; a move's confirmation and its "just taken" page
are desk/booking_pages.py's, as the desk's bookings are.
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import clinic, dates
from portal.auth.guards import roles_required
from portal.auth.models import DESK_ROLES
from portal.booking.eligibility import latest_start
from portal.booking.models import STATUS_LABELS, Appointment, AppointmentStatus, Clinician
from portal.booking.service import (
    AppointmentNotChangeable,
    BookingError,
    BookingPolicy,
    FormAlreadyUsed,
    TriageNotBookable,
    cancel_appointment,
    change_status,
    reschedule_appointment,
    triage_state,
)
from portal.booking.slots import Slot, clinician_ids_offering, free_slots_by_clinician
from portal.booking.week import days_of_week, week_start
from portal.database import utc_now
from portal.desk.booking_pages import DeskFlow, confirm_slot
from portal.desk.calendar import active_clinicians, calendar
from portal.desk.forms import STATUS_ACTIONS, DeskCancelForm, DeskConfirmSlotForm, StatusForm
from portal.extensions import db
from portal.redirects import safe_path

bp = Blueprint("desk", __name__, url_prefix="/desk")


def _chosen_date(today: date) -> date:
    """?date=YYYY-MM-DD, or today when it is missing, garbled or implausibly far away (a typo or
    a probe: clinic.plausible_day); the page then says it shows today instead."""
    day, problem = clinic.asked_day(request.args.get("date", ""), today)
    if problem:
        flash(problem, "warning")
    return day


def _day_url(moment: datetime, zone: ZoneInfo) -> str:
    return url_for(".day", date=moment.astimezone(zone).date().isoformat())


@bp.get("/")
@roles_required(*DESK_ROLES)
def day():
    policy = BookingPolicy.for_front_desk()
    now = utc_now()
    today = clinic.today(now)
    shown = _chosen_date(today)
    clinicians = active_clinicians()
    plans = calendar(clinicians, shown, shown, zone=policy.zone, now=now)
    return render_template("desk/day.html", day=shown, today=today, columns=[plans[c.id][0] for c in clinicians],
                           previous_day=shown - timedelta(days=1), next_day=shown + timedelta(days=1),
                           back=request.full_path.rstrip("?"), status_actions=STATUS_ACTIONS,
                           status_labels=STATUS_LABELS, zone_name=policy.zone.key)


@bp.get("/week")
@roles_required(*DESK_ROLES)
def week():
    policy = BookingPolicy.for_front_desk()
    now = utc_now()
    today = clinic.today(now)
    shown = _chosen_date(today)
    monday = shown - timedelta(days=shown.weekday())
    clinicians = active_clinicians()
    wanted = request.args.get("clinician", type=int)
    clinician = next((c for c in clinicians if c.id == wanted), clinicians[0] if clinicians else None)
    if request.args.get("clinician") and clinician is not None and clinician.id != wanted:
        flash(f"That clinician was not found among those working now, so {clinician.display_name}'s week is shown.",
              "warning")
    plans = calendar([clinician], monday, monday + timedelta(days=6), zone=policy.zone,
                     now=now)[clinician.id] if clinician else []
    return render_template("desk/week.html", clinicians=clinicians, clinician=clinician, plans=plans,
                           monday=monday, sunday=monday + timedelta(days=6), today=today, shown=shown,
                           previous_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7),
                           back=request.full_path.rstrip("?"), status_actions=STATUS_ACTIONS,
                           status_labels=STATUS_LABELS, zone_name=policy.zone.key)


# --- what the desk does to an appointment --------------------------------------------------------

def _appointment_or_404(appointment_id: int) -> Appointment:
    return db.get_or_404(Appointment, appointment_id, options=[
        joinedload(Appointment.patient), joinedload(Appointment.clinician),
        joinedload(Appointment.appointment_type), joinedload(Appointment.triage_submission)])


@bp.post("/appointments/<int:appointment_id>/status")
@roles_required(*DESK_ROLES)
def status(appointment_id: int):
    appointment = _appointment_or_404(appointment_id)
    zone = BookingPolicy.for_front_desk().zone
    patient_name = appointment.patient.name
    form = StatusForm()
    back = safe_path(form.back.data, under="/desk/") or _day_url(appointment.start_at, zone)
    if not form.validate_on_submit():
        flash("That change of status is not possible for this appointment.", "error")
        return redirect(back)
    try:
        change_status(appointment.id, form.to.data, by_user=current_user)
    except BookingError as error:
        flash(error.message, "error")
    else:
        flash(f"{patient_name} {STATUS_ACTIONS[form.to.data][1]}.", "success")
    return redirect(back)


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def cancel(appointment_id: int):
    appointment = _appointment_or_404(appointment_id)
    zone = BookingPolicy.for_front_desk().zone
    form = DeskCancelForm()
    if request.method == "GET":
        form.back.data = safe_path(request.args.get("back"), under="/desk/") or _day_url(appointment.start_at, zone)
    back = safe_path(form.back.data, under="/desk/") or _day_url(appointment.start_at, zone)
    if form.validate_on_submit():
        patient_name = appointment.patient.name
        try:
            cancel_appointment(appointment.id, by_user=current_user, reason=form.reason.data)
        except BookingError as error:
            flash(error.message, "error")
        else:
            flash(f"{patient_name}'s appointment is canceled.", "success")
        return redirect(back)
    return render_template("desk/cancel.html", appointment=appointment, form=form, back=back,
                           cancellable=_movable(appointment, utc_now()), status_labels=STATUS_LABELS), (
        400 if form.errors else 200)


def _movable(appointment: Appointment, now: datetime) -> bool:
    return appointment.status == AppointmentStatus.BOOKED and appointment.start_at > now


def _move_flow(appointment: Appointment, calendar_url: str) -> DeskFlow:
    """A move through the desk's booking pages: its confirmation, its week of free times, and the
    calendar to go back to when the appointment can no longer be moved (no other time would do)."""
    return DeskFlow(patient=appointment.patient, appointment_type=appointment.appointment_type,
                    confirm_template="desk/move_confirm.html",
                    action=url_for(".confirm_move", appointment_id=appointment.id),
                    back=url_for(".move", appointment_id=appointment.id), pick_endpoint="desk.confirm_move",
                    pick_args={"appointment_id": appointment.id}, moving=appointment, same_clinician=True,
                    go_back_on=(AppointmentNotChangeable, FormAlreadyUsed, TriageNotBookable),
                    gone_back_to=calendar_url, context={"calendar_url": calendar_url})


@bp.get("/appointments/<int:appointment_id>/move")
@roles_required(*DESK_ROLES)
def move(appointment_id: int):
    """A week of free times for this visit type (?week=, ?clinician=), each a link to its confirmation."""
    appointment = _appointment_or_404(appointment_id)
    policy = BookingPolicy.for_front_desk()
    now = utc_now()
    calendar_url = _day_url(appointment.start_at, policy.zone)
    if not _movable(appointment, now):
        flash("This appointment can no longer be moved.", "error")
        return redirect(calendar_url)
    # Staff may move past an urgent window, with a reason: the whole horizon is offered.
    return _free_times_page(appointment, policy, now, now + policy.horizon, calendar_url)


@bp.route("/appointments/<int:appointment_id>/move/confirm", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def confirm_move(appointment_id: int):
    """GET: the picked time (?start=&clinician=) to confirm. POST: move the appointment there and
    show the new day (Post/Redirect/Get), or say why not with the next free times."""
    appointment = _appointment_or_404(appointment_id)
    policy = BookingPolicy.for_front_desk()
    calendar_url = _day_url(appointment.start_at, policy.zone)
    if request.method == "GET" and not _movable(appointment, utc_now()):
        flash("This appointment can no longer be moved.", "error")
        return redirect(calendar_url)
    patient_name = appointment.patient.name

    def move_to(form: DeskConfirmSlotForm) -> Appointment:
        return reschedule_appointment(appointment.id, by_user=current_user, new_start=form.start_at,
                                      new_clinician_id=int(form.clinician_id.data),
                                      idempotency_key=form.idempotency_key.data, policy=policy,
                                      override_reason=form.override_reason.data)

    def moved_page(moved: Appointment):
        flash(f"{patient_name}'s appointment is moved to "
              f"{dates.date_and_time(moved.start_at, policy.zone, clinic.today())}"
              f" with {moved.clinician.display_name}.", "success")
        return redirect(_day_url(moved.start_at, policy.zone))

    return confirm_slot(_move_flow(appointment, calendar_url), move_to, done=moved_page, policy=policy)


def _free_times_page(appointment: Appointment, policy: BookingPolicy, now: datetime, latest: datetime,
                     calendar_url: str):
    """A week of free times for the visit type, per day and clinician, from ?week= (not before today)."""
    today = clinic.today(now)
    last_allowed = latest.astimezone(policy.zone).date()
    first_day = week_start(today, last_allowed)
    last_day = first_day + timedelta(days=6)
    offering = clinician_ids_offering(appointment.appointment_type)
    clinicians = {c.id: c for c in db.session.scalars(
        select(Clinician).where(Clinician.id.in_(offering)).order_by(Clinician.display_name, Clinician.id))}
    wanted = request.args.get("clinician", type=int)
    chosen = wanted if wanted in clinicians else None
    if request.args.get("clinician") and chosen is None:
        flash("That clinician does not give this visit, so every clinician's times are shown.", "warning")
    by_clinician = free_slots_by_clinician(
        appointment.appointment_type, [chosen] if chosen else list(clinicians), first_day=first_day,
        last_day=last_day, zone=policy.zone, now=now, notice=policy.notice)
    days = []
    for day in days_of_week(first_day):
        rows = []
        for clinician_id, clinician in clinicians.items():
            slots = [Slot(slot.start, slot.end, (clinician_id,)) for slot in by_clinician.get(clinician_id, [])
                     if slot.start.astimezone(policy.zone).date() == day and slot.start <= latest]
            if slots:
                rows.append((clinician, slots))
        days.append((day, rows))
    state = triage_state(appointment.patient_id)
    return render_template(
        "desk/move.html", appointment=appointment, days=days, clinicians=clinicians, chosen=chosen,
        first_day=first_day, last_day=last_day, calendar_url=calendar_url, zone_name=policy.zone.key,
        urgent_until=latest_start(state, now=now, horizon=policy.horizon) if state.urgent else None,
        open_emergency_id=state.open_emergency_id,
        previous_week=first_day - timedelta(days=7) if first_day > today else None,
        next_week=first_day + timedelta(days=7) if last_day < last_allowed else None)
