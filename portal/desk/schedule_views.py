"""Front-desk schedules: clinicians' weekly hours (in versions from a date) and time off."""
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal import clinic, dates
from portal.auth.guards import roles_required
from portal.auth.models import DESK_ROLES
from portal.booking.models import Clinician, TimeOff
from portal.booking.schedule_service import (
    WEEKDAYS,
    ScheduleError,
    add_time_off,
    appointments_outside_hours,
    parse_day_blocks,
    remove_time_off,
    set_weekly_hours,
)
from portal.booking.slots import weekly_schedules
from portal.database import utc_now
from portal.desk.forms import HoursForm, TimeOffForm
from portal.extensions import db
from portal.notify.feeds import set_feed

bp = Blueprint("desk_schedules", __name__, url_prefix="/desk/schedules")


def _text_of(blocks, *, as_typed: bool = False) -> dict[int, str]:
    """Each weekday's hours: "8:30 AM–12:00 PM" to read, or "08:30-12:00" as the hours form takes them."""
    by_day: dict[int, list[str]] = {day: [] for day in range(7)}
    for block in sorted(blocks, key=lambda b: (b.weekday, b.start)):
        by_day[block.weekday].append(f"{block.start:%H:%M}-{block.end:%H:%M}" if as_typed
                                     else f"{dates.time_of_day(block.start)}–{dates.time_of_day(block.end)}")
    return {day: ", ".join(texts) for day, texts in by_day.items()}


@bp.get("/")
@roles_required(*DESK_ROLES)
def index():
    clinicians = db.session.scalars(select(Clinician).order_by(Clinician.active.desc(), Clinician.display_name)).all()
    schedules = weekly_schedules([c.id for c in clinicians])
    today = clinic.today()
    current = {c.id: _text_of(schedules[c.id].blocks_on(today)) for c in clinicians}
    return render_template("desk/schedules/index.html", clinicians=clinicians, current=current, weekdays=WEEKDAYS)


def _render_clinician(clinician: Clinician, hours_form: HoursForm, time_off_form: TimeOffForm, status: int = 200):
    zone = clinic.zone()
    now = utc_now()
    today = clinic.today(now)
    schedule = weekly_schedules([clinician.id])[clinician.id]
    versions = [(since, _text_of(blocks)) for since, blocks in schedule.versions
                if since is None or since >= today or since == max(
                    (s for s, _ in schedule.versions if s is not None and s <= today), default=None)]
    time_off = db.session.scalars(select(TimeOff).where(TimeOff.clinician_id == clinician.id, TimeOff.end_at > now)
                                  .order_by(TimeOff.start_at)).all()
    to_move = appointments_outside_hours(clinician.id, zone, since=now)
    return render_template("desk/schedules/clinician.html", clinician=clinician, hours_form=hours_form,
                           time_off_form=time_off_form, versions=versions, time_off=time_off, to_move=to_move,
                           weekdays=WEEKDAYS, today=today), status


@bp.get("/<int:clinician_id>")
@roles_required(*DESK_ROLES)
def clinician_page(clinician_id: int):
    clinician = db.get_or_404(Clinician, clinician_id)
    today = clinic.today()
    hours_form = HoursForm(prefix="hours")
    hours_form.effective_from.data = today + timedelta(days=1)
    for field, text in zip(hours_form.day_fields(), _text_of(
            weekly_schedules([clinician.id])[clinician.id].blocks_on(today), as_typed=True).values(), strict=True):
        field.data = text
    return _render_clinician(clinician, hours_form, TimeOffForm(prefix="off"))


@bp.post("/<int:clinician_id>/feed")
@roles_required(*DESK_ROLES)
def calendar_feed(clinician_id: int):
    """Make the clinician's feed address anew (the old one stops working) or turn it off."""
    clinician = db.get_or_404(Clinician, clinician_id)
    if not FlaskForm().validate_on_submit() or request.form.get("feed") not in ("new", "off"):
        abort(400)
    on = request.form["feed"] == "new"
    set_feed(clinician.id, on=on, by_user=current_user)
    flash("A new calendar feed address is ready; the old one no longer works." if on
          else "The calendar feed is turned off.", "success")
    return redirect(url_for(".clinician_page", clinician_id=clinician_id))


@bp.post("/<int:clinician_id>/hours")
@roles_required(*DESK_ROLES)
def save_hours(clinician_id: int):
    clinician = db.get_or_404(Clinician, clinician_id)
    form = HoursForm(prefix="hours")
    if form.validate_on_submit():
        hours = {}
        for weekday, field in enumerate(form.day_fields()):
            try:
                hours[weekday] = parse_day_blocks(field.data, weekday)
            except ScheduleError as error:
                field.errors = [*field.errors, str(error)]
        if not any(field.errors for field in form.day_fields()):
            set_weekly_hours(clinician.id, effective_from=form.effective_from.data, hours=hours, by_user=current_user)
            flash(f"New hours for {clinician.display_name} from {dates.dated(form.effective_from.data)} are saved.",
                  "success")
            return redirect(url_for(".clinician_page", clinician_id=clinician.id))
    return _render_clinician(clinician, form, TimeOffForm(prefix="off"), 400)


@bp.post("/<int:clinician_id>/time-off")
@roles_required(*DESK_ROLES)
def save_time_off(clinician_id: int):
    clinician = db.get_or_404(Clinician, clinician_id)
    form = TimeOffForm(prefix="off")
    if form.validate_on_submit():
        start, end = form.period(clinic.zone())
        try:
            add_time_off(clinician.id, start=start, end=end, reason=form.reason.data or "", by_user=current_user)
        except ScheduleError as error:
            form.last_day.errors = [*form.last_day.errors, str(error)]
        else:
            flash("Time off saved. Any appointments it covers are listed below: please move them.", "success")
            return redirect(url_for(".clinician_page", clinician_id=clinician.id))
    return _render_clinician(clinician, HoursForm(prefix="hours"), form, 400)


@bp.post("/time-off/<int:time_off_id>/remove")
@roles_required(*DESK_ROLES)
def delete_time_off(time_off_id: int):
    time_off = db.get_or_404(TimeOff, time_off_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    clinician_id = time_off.clinician_id
    remove_time_off(time_off_id, by_user=current_user)
    flash("Time off removed.", "success")
    return redirect(url_for(".clinician_page", clinician_id=clinician_id))
