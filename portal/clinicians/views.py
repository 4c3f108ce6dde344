"""A clinician's own pages: "My day" (their visits of a day, in time order, each with its reason
and the triage's summary) and a visit's record, read-only, for visits on their own calendar.
A doctor's row leads to the triage's case page in the queue; a sonographer's to the visit's record.
Both pages are audited: the day with the visits it listed, a visit's record with the triage shown.

Also the administrator's page of a clinician's details (title and the visits they give), beside
the staff accounts under /accounts/ (portal/auth/admin_views.py keeps the accounts themselves)."""
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal import audit, clinic
from portal.audit import AuditAction
from portal.auth.guards import roles_required
from portal.auth.models import CLINICIAN_ROLES, STAFF_ROLE_NAMES, Role, User
from portal.auth.staff import StaffChangeRefused
from portal.booking.models import Appointment, AppointmentType
from portal.clinicians.day import day_visits, stated_reason, triage_for, triage_summary, visit_reason
from portal.clinicians.forms import ClinicianDetailsForm
from portal.clinicians.records import clinician_of, set_clinician_details
from portal.database import write_transaction
from portal.extensions import db
from portal.queue.case_record import read_case_record
from portal.triage.vocabulary import ROUTE_LABELS

bp = Blueprint("clinicians", __name__, url_prefix="/my-day")
records_bp = Blueprint("clinician_records", __name__, url_prefix="/accounts")


def _chosen_day(today: date) -> date:
    """?day=YYYY-MM-DD, or today; a day not understood, or years away, is said so and today shown."""
    day, problem = clinic.asked_day(request.args.get("day", ""), today)
    if problem:
        flash(problem, "warning")
    return day


@bp.get("/")
@roles_required(*CLINICIAN_ROLES)
def day():
    today = clinic.today()
    shown = _chosen_day(today)
    clinician = clinician_of(current_user.id)
    visits = day_visits(clinician, shown, zone=clinic.zone()) if clinician is not None else []
    with write_transaction():
        audit.record(AuditAction.DAY_VIEWED,
                     detail=f"{shown.isoformat()}: {len(visits)} visits"
                            + (f" (appointments {', '.join(str(v.appointment.id) for v in visits)})" if visits else ""))
    return render_template("clinicians/day.html", clinician=clinician, visits=visits, day=shown, today=today,
                           previous_day=shown - timedelta(days=1), next_day=shown + timedelta(days=1),
                           is_doctor=current_user.role == Role.DOCTOR)


@bp.get("/visits/<int:appointment_id>")
@roles_required(*CLINICIAN_ROLES)
def visit(appointment_id: int):
    """A visit on the clinician's own calendar, with its reason and the triage's answers; any other
    visit is as if it did not exist (404)."""
    appointment = db.get_or_404(Appointment, appointment_id)
    if appointment.clinician.user_id != current_user.id:
        abort(404)
    triage = triage_for(appointment)
    rules, flags = triage_summary(triage)
    grouped_answers = read_case_record(triage).grouped_answers if triage is not None else []
    with write_transaction():
        audit.record(AuditAction.VISIT_VIEWED, patient_id=appointment.patient_id, appointment_id=appointment.id,
                     detail=f"from My day; case {triage.id}" if triage is not None else "from My day; no triage")
        if triage is not None:  # as a doctor's read of the case is
            audit.record(AuditAction.TRIAGE_VIEWED, patient_id=triage.patient_id, detail=f"case {triage.id}")
    return render_template("clinicians/visit.html", appointment=appointment, triage=triage,
                           reason=visit_reason(appointment, triage), stated_reason=stated_reason(appointment),
                           rules=rules, flags=flags, grouped_answers=grouped_answers, route_labels=ROUTE_LABELS,
                           today=clinic.today())


def _visit_types() -> list[AppointmentType]:
    return list(db.session.scalars(select(AppointmentType).where(AppointmentType.active).order_by(AppointmentType.id)))


def _details_page(user: User, form: ClinicianDetailsForm, status: int = 200):
    clinician = clinician_of(user.id)
    return render_template("clinicians/details.html", account=user, clinician=clinician, form=form,
                           role_name=STAFF_ROLE_NAMES[user.role]), status


@records_bp.route("/<int:user_id>/clinician", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def details(user_id: int):
    """A clinician's title and the visits they give; 404 for an account with no clinician record."""
    user = db.get_or_404(User, user_id)
    clinician = clinician_of(user.id)
    if clinician is None:
        abort(404)  # desk staff, admins and patients have no clinician details
    if request.method == "GET":
        form = ClinicianDetailsForm(formdata=None).offer(_visit_types())
        form.title.data = clinician.title
        form.visit_types.data = [t.id for t in clinician.appointment_types]
        return _details_page(user, form)
    form = ClinicianDetailsForm().offer(_visit_types())
    if form.validate_on_submit():
        try:
            set_clinician_details(user.id, title=form.title.data or "", visit_type_ids=form.visit_types.data or [],
                                  by=current_user)
        except StaffChangeRefused as refused:
            form.title.errors.append(refused.message)
        else:
            flash(f"{user.name}'s clinician details are saved.", "success")
            return redirect(url_for(".details", user_id=user.id))
    return _details_page(user, form, 400)
