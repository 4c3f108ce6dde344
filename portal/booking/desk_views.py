"""Front-desk pages: the clinicians' calendars and what the desk does to an appointment.

The day view has a column per active clinician; the week view has the seven days of one
clinician. Both read in a fixed number of queries whatever the number of appointments
(clinicians, weekly hours, time off, appointments with their patient, type and triage), and
lay each day out with `plan_day`, which is pure. Check-in, no-show, attended, cancel and move
go through portal.booking.service, which checks the rules and writes the audit log.
"""
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.booking.availability import Interval, WeeklyBlock
from portal.booking.desk_forms import DeskConfirmSlotForm
from portal.booking.eligibility import Verdict, latest_start
from portal.booking.models import STATUS_LABELS, Appointment, AppointmentStatus, Clinician, TimeOff
from portal.booking.service import (AppointmentNotChangeable, BookingError, BookingPolicy, FormAlreadyUsed,
                                    ReasonRequired, SlotUnavailable, TriageNotBookable, booking_decision,
                                    cancel_appointment, change_status, reschedule_appointment, triage_state)
from portal.booking.slots import (clinician_ids_offering, free_slots_by_clinician, local_day_bounds, next_open_slots,
                                  weekly_schedules)
from portal.database import utc_now
from portal.extensions import db

bp = Blueprint("desk", __name__, url_prefix="/desk")

DESK_ROLES = (Role.DESK, Role.ADMIN)
# A ?date= further than this from today is a typo (or a probe): show today instead.
FARTHEST_DATE = timedelta(days=3660)
# The status buttons of the calendar: value posted, label, what the flash message says happened.
STATUS_ACTIONS = {AppointmentStatus.CHECKED_IN: ("Check in", "is checked in"),
                  AppointmentStatus.NOSHOW: ("No-show", "is marked as a no-show"),
                  AppointmentStatus.FULFILLED: ("Attended", "is marked as attended")}


# --- laying out a day (pure) --------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarEntry:
    """One line of a clinician's day: an appointment, free time, time off, or the current time."""

    kind: str  # "appointment", "free", "time_off" or "now"
    start: datetime
    end: datetime
    appointment: Appointment | None = None
    reason: str = ""
    whole_day: bool = False  # time off covering the whole day
    actions: tuple[str, ...] = ()  # what the desk may do to the appointment now

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class DayPlan:
    day: date
    clinician: Clinician
    working: tuple[Interval, ...]
    entries: tuple[CalendarEntry, ...]
    over: bool = False  # its working hours have all passed: free time no longer matters

    @property
    def appointment_count(self) -> int:
        return sum(1 for e in self.entries if e.kind == "appointment"
                   and e.appointment.status != AppointmentStatus.CANCELLED)

    @property
    def free_minutes(self) -> int:
        return sum(e.minutes for e in self.entries if e.kind == "free")

    @property
    def off_all_day(self) -> bool:
        return any(e.kind == "time_off" and e.whole_day for e in self.entries)


_ORDER = {"time_off": 0, "appointment": 1, "now": 2, "free": 3}


def appointment_actions(appointment: Appointment, *, now: datetime, zone: ZoneInfo) -> tuple[str, ...]:
    """The buttons that make sense for an appointment now; the service has the last word."""
    status = appointment.status
    actions = []
    if status == AppointmentStatus.BOOKED:
        if appointment.start_at.astimezone(zone).date() == now.astimezone(zone).date():
            actions.append(AppointmentStatus.CHECKED_IN)
        if now >= appointment.start_at:
            actions.append(AppointmentStatus.NOSHOW)
        if appointment.start_at > now:
            actions += ["move", "cancel"]
    elif status == AppointmentStatus.CHECKED_IN:
        actions.append(AppointmentStatus.FULFILLED)
    return tuple(actions)


def _subtract(span: Interval, busy: Sequence[Interval]) -> list[Interval]:
    """The parts of `span` that no busy interval covers (`busy` sorted by start)."""
    gaps, cursor = [], span.start
    for interval in busy:
        if interval.end <= cursor or interval.start >= span.end:
            continue
        if interval.start > cursor:
            gaps.append(Interval(cursor, interval.start))
        cursor = max(cursor, interval.end)
    if cursor < span.end:
        gaps.append(Interval(cursor, span.end))
    return gaps


def _next_five_minutes(moment: datetime) -> datetime:
    floor = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=5)


def plan_day(day: date, clinician: Clinician, *, blocks: Iterable[WeeklyBlock], appointments: Iterable[Appointment],
             time_off: Iterable[TimeOff], zone: ZoneInfo, now: datetime) -> DayPlan:
    """A clinician's day in time order: appointments (cancelled ones too), time off, and the free
    time left inside the working blocks from now on. Every appointment but a cancelled one takes
    up its time (a no-show's slot has passed anyway)."""
    bounds = local_day_bounds(day, day, zone)
    working = tuple(sorted(
        Interval(datetime.combine(day, block.start, zone).astimezone(timezone.utc),
                 datetime.combine(day, block.end, zone).astimezone(timezone.utc))
        for block in blocks if block.weekday == day.weekday()))
    appointments = list(appointments)
    entries = [CalendarEntry("appointment", a.start_at, a.end_at, appointment=a,
                             actions=appointment_actions(a, now=now, zone=zone)) for a in appointments]
    busy = [Interval(a.start_at, a.end_at) for a in appointments if a.status != AppointmentStatus.CANCELLED]
    for off in time_off:
        start, end = max(off.start_at, bounds.start), min(off.end_at, bounds.end)
        if start < end:
            entries.append(CalendarEntry("time_off", start, end, reason=off.reason,
                                         whole_day=(start, end) == (bounds.start, bounds.end)))
            busy.append(Interval(start, end))
    busy.sort()
    # Free time that has passed cannot be booked: free time starts at the next five minutes from now.
    bookable_from = _next_five_minutes(now)
    for block in working:
        entries += [CalendarEntry("free", max(gap.start, bookable_from), gap.end)
                    for gap in _subtract(block, busy) if gap.end > bookable_from]
    if entries and bounds.start <= now < bounds.end:
        entries.append(CalendarEntry("now", now, now))
    entries.sort(key=lambda e: (e.start, _ORDER[e.kind], e.appointment.id if e.appointment else 0))
    return DayPlan(day, clinician, working, tuple(entries), over=all(block.end <= now for block in working))


# --- reading the calendar (a fixed number of queries) --------------------------------------------

def _active_clinicians() -> list[Clinician]:
    return list(db.session.scalars(
        select(Clinician).where(Clinician.active).order_by(Clinician.display_name, Clinician.id)))


def calendar(clinicians: Sequence[Clinician], first_day: date, last_day: date, *, zone: ZoneInfo,
             now: datetime) -> dict[int, list[DayPlan]]:
    """Each clinician's days from first_day to last_day, in three queries however many rows:
    weekly hours, time off, and appointments with their patient, visit type and triage."""
    ids = [c.id for c in clinicians]
    period = local_day_bounds(first_day, last_day, zone)
    schedules = weekly_schedules(ids)
    time_off = db.session.scalars(select(TimeOff).where(
        TimeOff.clinician_id.in_(ids), TimeOff.start_at < period.end, TimeOff.end_at > period.start)
        .order_by(TimeOff.start_at)).all()
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.clinician_id.in_(ids), Appointment.start_at < period.end,
                                  Appointment.end_at > period.start)
        .options(joinedload(Appointment.patient), joinedload(Appointment.appointment_type),
                 joinedload(Appointment.triage_submission))
        .order_by(Appointment.start_at, Appointment.id)).all()
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    by_day: dict[tuple[int, date], list[Appointment]] = defaultdict(list)
    for appointment in appointments:
        by_day[appointment.clinician_id, appointment.start_at.astimezone(zone).date()].append(appointment)
    off_by_clinician: dict[int, list[TimeOff]] = defaultdict(list)
    for off in time_off:
        off_by_clinician[off.clinician_id].append(off)
    return {
        clinician.id: [plan_day(day, clinician, blocks=schedules[clinician.id].blocks_on(day),
                                appointments=by_day[clinician.id, day], time_off=off_by_clinician[clinician.id],
                                zone=zone, now=now) for day in days]
        for clinician in clinicians
    }


def _chosen_date(today: date, name: str = "date") -> date:
    """?date=YYYY-MM-DD, or today when it is missing, garbled or implausibly far away."""
    try:
        chosen = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return today
    return chosen if abs(chosen - today) <= FARTHEST_DATE else today


def _safe_back(value: str | None, default: str) -> str:
    """Where to return after an action: a calendar page of ours, never another site."""
    if value and value.startswith("/desk/") and "//" not in value and "\\" not in value:
        return value
    return default


def _day_url(moment: datetime, zone: ZoneInfo) -> str:
    return url_for(".day", date=moment.astimezone(zone).date().isoformat())


class StatusForm(FlaskForm):
    to = HiddenField(validators=[AnyOf(list(STATUS_ACTIONS))])
    back = HiddenField()


@bp.get("/")
@roles_required(*DESK_ROLES)
def day():
    policy = BookingPolicy.for_front_desk()
    now = utc_now()
    today = now.astimezone(policy.zone).date()
    shown = _chosen_date(today)
    clinicians = _active_clinicians()
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
    today = now.astimezone(policy.zone).date()
    shown = _chosen_date(today)
    monday = shown - timedelta(days=shown.weekday())
    clinicians = _active_clinicians()
    wanted = request.args.get("clinician", type=int)
    clinician = next((c for c in clinicians if c.id == wanted), clinicians[0] if clinicians else None)
    plans = calendar([clinician], monday, monday + timedelta(days=6), zone=policy.zone,
                     now=now)[clinician.id] if clinician else []
    return render_template("desk/week.html", clinicians=clinicians, clinician=clinician, plans=plans,
                           monday=monday, sunday=monday + timedelta(days=6), today=today, shown=shown,
                           previous_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7),
                           back=request.full_path.rstrip("?"), status_actions=STATUS_ACTIONS,
                           status_labels=STATUS_LABELS, zone_name=policy.zone.key)


# --- what the desk does to an appointment --------------------------------------------------------

def _appointment_or_404(appointment_id: int) -> Appointment:
    appointment = db.session.scalar(
        select(Appointment).where(Appointment.id == appointment_id)
        .options(joinedload(Appointment.patient), joinedload(Appointment.clinician),
                 joinedload(Appointment.appointment_type), joinedload(Appointment.triage_submission)))
    if appointment is None:
        abort(404)
    return appointment


@bp.post("/appointments/<int:appointment_id>/status")
@roles_required(*DESK_ROLES)
def status(appointment_id: int):
    appointment = _appointment_or_404(appointment_id)
    zone = BookingPolicy.for_front_desk().zone
    patient_name = appointment.patient.name
    form = StatusForm()
    back = _safe_back(form.back.data, _day_url(appointment.start_at, zone))
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


class DeskCancelForm(FlaskForm):
    reason = TextAreaField("Reason for cancelling", validators=[
        DataRequired("Please give a reason for cancelling."),
        Length(max=300, message="Please use at most 300 characters.")])
    back = HiddenField()


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def cancel(appointment_id: int):
    appointment = _appointment_or_404(appointment_id)
    zone = BookingPolicy.for_front_desk().zone
    form = DeskCancelForm()
    if request.method == "GET":
        form.back.data = _safe_back(request.args.get("back"), _day_url(appointment.start_at, zone))
    back = _safe_back(form.back.data, _day_url(appointment.start_at, zone))
    if form.validate_on_submit():
        patient_name = appointment.patient.name
        try:
            cancel_appointment(appointment.id, by_user=current_user, reason=form.reason.data)
        except BookingError as error:
            flash(error.message, "error")
        else:
            flash(f"{patient_name}'s appointment is cancelled.", "success")
        return redirect(back)
    return render_template("desk/cancel.html", appointment=appointment, form=form, back=back,
                           cancellable=_movable(appointment, utc_now()), status_labels=STATUS_LABELS), (
        400 if form.errors else 200)


def _movable(appointment: Appointment, now: datetime) -> bool:
    return appointment.status == AppointmentStatus.BOOKED and appointment.start_at > now


def _move_confirm_page(appointment: Appointment, form: DeskConfirmSlotForm, start: datetime, clinician: Clinician,
                       calendar_url: str, status: int = 200):
    """The new time, with the triage rules' answer: a reason field when one is needed, no Move
    button when refused (the service decides again when the desk confirms)."""
    decision, _ = booking_decision(patient_id=appointment.patient_id, appointment_type=appointment.appointment_type,
                                   start=start, booked_by=current_user, now=utc_now(), moving=appointment)
    return render_template("desk/move_confirm.html", appointment=appointment, form=form, start=start,
                           clinician=clinician, calendar_url=calendar_url, decision=decision, verdicts=Verdict,
                           end=start + timedelta(minutes=appointment.appointment_type.duration_minutes)), status


def _picked_slot(now: datetime, latest: datetime) -> tuple[datetime, Clinician] | None:
    """The time and clinician a link on the move page names, if they could be a slot;
    the service checks the rest when the desk confirms."""
    try:
        start = datetime.fromisoformat(request.args.get("start", ""))
    except ValueError:
        return None
    clinician_id = request.args.get("clinician_id", type=int)
    if start.tzinfo is None or not now <= start <= latest or clinician_id is None or not 0 < clinician_id < 2**31:
        return None
    clinician = db.session.get(Clinician, clinician_id)
    return (start, clinician) if clinician is not None and clinician.active else None


@bp.route("/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def move(appointment_id: int):
    """GET: a week of free times for this visit type (or, with ?start=&clinician_id=, the
    confirmation of one). POST: move the appointment there, or say why not with the next times."""
    appointment = _appointment_or_404(appointment_id)
    policy = BookingPolicy.for_front_desk()
    now = utc_now()
    calendar_url = _day_url(appointment.start_at, policy.zone)
    if request.method == "GET" and not _movable(appointment, now):
        flash("This appointment can no longer be moved.", "error")
        return redirect(calendar_url)
    latest = now + policy.horizon  # staff may move past an urgent window, with a reason
    form = DeskConfirmSlotForm()
    if form.validate_on_submit():
        patient_name = appointment.patient.name
        try:
            moved = reschedule_appointment(appointment.id, by_user=current_user, new_start=form.start_at,
                                           new_clinician_id=int(form.clinician_id.data),
                                           idempotency_key=form.idempotency_key.data, policy=policy,
                                           override_reason=form.override_reason.data)
        except ReasonRequired as error:
            form.override_reason.errors.append(error.message)
            clinician = db.session.get(Clinician, int(form.clinician_id.data))
            if clinician is None:
                flash(error.message, "error")
                return redirect(url_for(".move", appointment_id=appointment.id))
            return _move_confirm_page(appointment, form, form.start_at, clinician, calendar_url, 422)
        except (AppointmentNotChangeable, FormAlreadyUsed, TriageNotBookable) as error:
            flash(error.message, "error")  # no other time would do better: say why, go back
            return redirect(calendar_url)
        except BookingError as error:
            # The next times with the clinician picked, or with anyone if they do not give this visit.
            clinician = db.session.get(Clinician, int(form.clinician_id.data))
            if clinician is not None and not (clinician.active and clinician.offers(appointment.appointment_type)):
                clinician = None
            alternatives = next_open_slots(appointment.appointment_type, after=min(form.start_at, latest),
                                           zone=policy.zone, now=utc_now(), notice=policy.notice,
                                           clinician_id=clinician.id if clinician else None,
                                           latest_start=latest, limit=6)
            return render_template("desk/taken.html", error=error, appointment=appointment,
                                   alternatives=alternatives, clinician=clinician), (
                409 if isinstance(error, SlotUnavailable) else 422)
        flash(f"{patient_name}'s appointment is moved to {moved.start_at.astimezone(policy.zone):%A %-d %B, %-I:%M %p}"
              f" with {moved.clinician.display_name}.", "success")
        return redirect(_day_url(moved.start_at, policy.zone))
    if request.method == "POST":
        flash("Something was missing from that form. Please pick a time again.", "error")
        return redirect(url_for(".move", appointment_id=appointment.id))
    if "start" in request.args:
        picked = _picked_slot(now, latest)
        if picked is None:
            flash("Please pick one of the times shown.", "error")
            return redirect(url_for(".move", appointment_id=appointment.id))
        start, clinician = picked
        form.fill(start, clinician.id)
        return _move_confirm_page(appointment, form, start, clinician, calendar_url)
    return _free_times_page(appointment, policy, now, latest, calendar_url)


def _free_times_page(appointment: Appointment, policy: BookingPolicy, now: datetime, latest: datetime,
                     calendar_url: str):
    """A week of free times for the visit type, per day and clinician, from ?week= (not before today)."""
    today = now.astimezone(policy.zone).date()
    last_allowed = latest.astimezone(policy.zone).date()
    first_day = min(max(_chosen_date(today, "week"), today), last_allowed)
    last_day = first_day + timedelta(days=6)
    offering = clinician_ids_offering(appointment.appointment_type)
    clinicians = {c.id: c for c in db.session.scalars(
        select(Clinician).where(Clinician.id.in_(offering)).order_by(Clinician.display_name, Clinician.id))}
    wanted = request.args.get("clinician", type=int)
    chosen = wanted if wanted in clinicians else None
    by_clinician = free_slots_by_clinician(
        appointment.appointment_type, [chosen] if chosen else list(clinicians), first_day=first_day,
        last_day=last_day, zone=policy.zone, now=now, notice=policy.notice)
    days = []
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        rows = []
        for clinician_id, clinician in clinicians.items():
            starts = [slot.start for slot in by_clinician.get(clinician_id, [])
                      if slot.start.astimezone(policy.zone).date() == day and slot.start <= latest]
            if starts:
                rows.append((clinician, starts))
        days.append((day, rows))
    state = triage_state(appointment.patient_id)
    return render_template(
        "desk/move.html", appointment=appointment, days=days, clinicians=clinicians, chosen=chosen,
        first_day=first_day, last_day=last_day, calendar_url=calendar_url, zone_name=policy.zone.key,
        urgent_until=latest_start(state, now=now, horizon=policy.horizon) if state.urgent else None,
        open_emergency_id=state.open_emergency_id,
        previous_week=first_day - timedelta(days=7) if first_day > today else None,
        next_week=first_day + timedelta(days=7) if last_day < last_allowed else None)
