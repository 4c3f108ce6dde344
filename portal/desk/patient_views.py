"""Front-desk pages about patients: search, a patient's record, register a caller, book for a
patient (a free time, or an overbook with a reason), and the urgent cases still to call. A
search, a record and a booking page each show patient data, so each is written to the audit log.

Every booking goes through portal.booking.service.book_appointment with the desk's policy (no
minimum notice) and the desk user as `booked_by_id`. The service applies the triage rules
(booking/eligibility.py) itself: nothing is booked for a patient with an emergency no doctor has
dealt with, and a later time for an urgent case, another visit than the triage's route or a
second visit of a type needs a reason, which these pages ask for when the service wants one.
The confirmation, the reason asked for and the "just taken" page are desk/booking_pages.py's,
shared with the calendar's move.
"""
from collections import defaultdict
from datetime import date, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import audit, clinic, dates
from portal.audit import AuditAction
from portal.auth.guards import roles_required
from portal.auth.models import CONTACT_PREFERENCES, DESK_ROLES, Role, User
from portal.auth.service import PATIENT_DETAIL_NAMES, EmailTaken, register_patient, update_patient_details
from portal.booking.appointments import upcoming_and_past
from portal.booking.eligibility import URGENT_WINDOW, latest_start, seen_within_urgent_window
from portal.booking.models import ACTIVE_STATUSES, STATUS_LABELS, Appointment, AppointmentType, Clinician
from portal.booking.service import BookingPolicy, ReasonRequired, book_appointment, triage_state
from portal.booking.week import free_week
from portal.database import utc_now, write_transaction
from portal.desk.booking_pages import DeskFlow, confirm_slot, write_or_explain
from portal.desk.forms import (
    DeskConfirmSlotForm,
    DeskRegistrationForm,
    OverbookForm,
    PatientDetailsForm,
    PatientSearchForm,
)
from portal.extensions import db
from portal.letters.content import KIND_TITLES
from portal.letters.service import latest_versions, signed_letters_of
from portal.patients.search import (
    PatientQuery,
    SearchResults,
    UnclearSearch,
    latest_triage_by_patient,
    parse_query,
    search_patients,
)
from portal.triage.models import TriageSubmission
from portal.triage.rules import CLINICIAN_RULE_TEXT, RULE_TEXT, URGENCY_RULES, urgency_advice
from portal.triage.vocabulary import ROUTE_LABELS, Urgency

bp = Blueprint("desk_patients", __name__, url_prefix="/desk/patients")


def _patient_or_404(patient_id: int) -> User:
    patient = db.get_or_404(User, patient_id)
    if patient.role != Role.PATIENT:  # a staff account has no patient record: as if there were none
        abort(404)
    return patient


def _template_words() -> dict:
    return {"route_labels": ROUTE_LABELS, "status_labels": STATUS_LABELS, "rule_text": RULE_TEXT,
            "urgency_advice": {urgency: urgency_advice(urgency, current_app.config["EMERGENCY_NUMBER"])
                               for urgency in Urgency},
            "contact_preferences": CONTACT_PREFERENCES}


# --- search ---------------------------------------------------------------------------------------

def _search_audit_detail(typed: str, query: PatientQuery, results: SearchResults) -> str:
    """What the audit log keeps of a search: the words as typed and which patients were listed.

    The words are kept: the audit log is the protected store of who looked at whose data, and
    without them a look-up of one name (or one that found nobody) could not be told from routine work."""
    kind = ("date of birth" if query.date_of_birth else "phone" if query.phone_digits else "name or email")
    found = f"{len(results.patients)}{'+' if results.more else ''} found"
    listed = ", ".join(str(line.patient.id) for line in results.patients)
    return f"searched by {kind} for “{typed}”: {found}" + (f"; patients listed: {listed}" if listed else "")


@bp.route("/", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def search():
    """The search box is posted, so what was typed stays out of addresses and access logs; the
    results show under the box, which keeps the words. Every search that runs is audited."""
    form = PatientSearchForm()
    results, problem, query = None, None, None
    if form.validate_on_submit():
        try:
            query = parse_query(form.q.data)
        except UnclearSearch as error:
            problem = str(error)
        else:
            results = search_patients(query) if query is not None else None
    elif form.q.errors:
        problem = form.q.errors[0]
    page = render_template("desk/patients/search.html", form=form, results=results, problem=problem,
                           today=clinic.today(), **_template_words())
    if results is not None:
        # After rendering: the audit's own transaction begins with a rollback, which would expire
        # the patients found and load each again.
        detail = _search_audit_detail(form.q.data, query, results)
        with write_transaction():
            audit.record(AuditAction.PATIENT_SEARCHED, detail=detail)
    return page


# --- a patient's record ---------------------------------------------------------------------------

@bp.get("/<int:patient_id>")
@roles_required(*DESK_ROLES)
def patient(patient_id: int):
    record = _patient_or_404(patient_id)
    with write_transaction():  # every view of a record is in the audit log, in a transaction of its own
        audit.record(AuditAction.PATIENT_RECORD_VIEWED, patient_id=record.id)
    now = utc_now()
    upcoming, past = upcoming_and_past(record.id, now)
    today = clinic.today(now)
    letters = signed_letters_of(record.id)
    return render_template("desk/patients/patient.html", patient=record, upcoming=upcoming, past=past,
                           letters=letters, current_letters=latest_versions(letters), letter_titles=KIND_TITLES,
                           triage=latest_triage_by_patient([record.id]).get(record.id), today=today,
                           age=record.age_on(today), **_template_words())


# --- registering a caller -------------------------------------------------------------------------

EMAIL_IN_USE = ("Another account already has this email. Search for that patient instead, or check the "
                "address with the caller.")


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def register():
    """A caller may have no email: then no online account (no invitation, no login) until one is added."""
    form = DeskRegistrationForm()
    if form.validate_on_submit():
        try:
            user = register_patient(password=None, registered_by=current_user, name=form.name.data,
                                    email=form.email.data, preferred_contact=form.preferred_contact.data or None,
                                    date_of_birth=form.date_of_birth.data, phone=form.phone.data)
        except EmailTaken:
            form.email.errors.append("A patient with this email is already registered. "
                                     "Search for them instead of registering them again.")
        else:
            if user.email:
                flash(f"{user.name} is registered. We have emailed them an invitation to choose a password for "
                      f"their account at {user.email}; the link works for 7 days.", "success")
            else:
                flash(f"{user.name} is registered without an email: no online account and no mail until one is "
                      "added (Edit details). Next: triage by phone.", "success")
            return redirect(url_for(".patient", patient_id=user.id))
    return render_template("desk/patients/register.html", form=form), 400 if form.errors else 200


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def edit(patient_id: int):
    """Correct a patient's name, date of birth, phone, email and preferred contact. The audit log
    names the fields changed; a first email opens the online account with the usual invitation."""
    record = _patient_or_404(patient_id)
    form = PatientDetailsForm(obj=record)
    had_email = bool(record.email)
    if form.validate_on_submit():
        try:
            changed = update_patient_details(
                record.id, by_user=current_user, name=form.name.data, date_of_birth=form.date_of_birth.data,
                phone=form.phone.data, email=form.email.data, preferred_contact=form.preferred_contact.data or None)
        except EmailTaken:
            form.email.errors.append(EMAIL_IN_USE)
        else:
            if not changed:
                flash("Nothing was changed.", "info")
            else:
                words = ", ".join(PATIENT_DETAIL_NAMES[name] for name in changed)
                invited = "email" in changed and form.email.data and not had_email
                flash(f"{record.name}'s details are saved ({words} changed)."
                      + (" We have emailed them an invitation to choose a password." if invited else ""), "success")
            return redirect(url_for(".patient", patient_id=record.id))
    elif request.method == "GET":
        with write_transaction():
            audit.record(AuditAction.PATIENT_RECORD_VIEWED, patient_id=record.id, detail="to edit the details")
    return render_template("desk/patients/edit.html", form=form, patient=record), 400 if form.errors else 200


# --- booking for a patient ------------------------------------------------------------------------

def _active_types() -> list[AppointmentType]:
    return list(db.session.scalars(select(AppointmentType).where(AppointmentType.active).order_by(AppointmentType.id)))


def _routed_type(triage: TriageSubmission | None, types: list[AppointmentType]) -> AppointmentType | None:
    return next((t for t in types if triage is not None and t.route == triage.current_route), None)


def _chosen_type(types: list[AppointmentType], routed: AppointmentType | None) -> AppointmentType | None:
    """?type=<route> when it names an active type; else the routed type; else the first."""
    wanted = request.args.get("type")
    chosen = next((t for t in types if t.route == wanted), None)
    shown = chosen or routed or (types[0] if types else None)
    if wanted and chosen is None and shown is not None:
        flash(f"That visit type is not taking bookings, so the times of a {shown.name.lower()} are shown.", "warning")
    return shown


def _overbook_form(patient: User, chosen_type: AppointmentType | None, clinician_id: int | None) -> OverbookForm:
    """The squeeze-in form with its choices: every active clinician and every active visit type."""
    form = OverbookForm()
    form.clinician_id.choices = [(c.id, c.display_name) for c in db.session.scalars(
        select(Clinician).where(Clinician.active).order_by(Clinician.display_name, Clinician.id))]
    form.appointment_type_id.choices = [(t.id, t.name) for t in _active_types()]
    if request.method == "GET":
        form.appointment_type_id.data = chosen_type.id if chosen_type else None
        form.clinician_id.data = clinician_id
        form.fresh_key()
    elif form.idempotency_key.errors or not form.idempotency_key.data:
        form.fresh_key()
    return form


def _booking_page(patient: User, overbook: OverbookForm | None = None, status: int = 200):
    """The week of free times for one visit type, the triage banner and the overbook form.

    Every showing is audited as a view of the patient's data (date of birth and triage), first,
    in a transaction of its own, as the record page is."""
    with write_transaction():
        audit.record(AuditAction.PATIENT_BOOKING_VIEWED, patient_id=patient.id)
    policy = BookingPolicy.for_front_desk()
    now = utc_now()
    today = clinic.today(now)
    types = _active_types()
    triage = latest_triage_by_patient([patient.id]).get(patient.id)
    routed = _routed_type(triage, types)
    chosen = _chosen_type(types, routed)
    state = triage_state(patient.id)
    context = {"patient": patient, "triage": triage, "types": types, "routed": routed,
               "appointment_type": chosen, "zone_name": policy.zone.key, "age": patient.age_on(today),
               "open_emergency_id": state.open_emergency_id,
               "urgent_until": latest_start(state, now=now, horizon=policy.horizon) if state.urgent else None}
    clinician_id = None
    if chosen is not None and state.open_emergency_id is None:
        context |= free_week(chosen, zone=policy.zone, now=now, notice=policy.notice, horizon=policy.horizon,
                             latest_start=now + policy.horizon)
        clinician_id = context["clinician_id"]
    overbook = overbook or _overbook_form(patient, chosen, clinician_id)
    return render_template("desk/patients/book.html", overbook=overbook, **context, **_template_words()), status


@bp.get("/<int:patient_id>/book")
@roles_required(*DESK_ROLES)
def book(patient_id: int):
    return _booking_page(_patient_or_404(patient_id))


def _booking_flow(patient: User, appointment_type: AppointmentType) -> DeskFlow:
    """A booking for the patient through the desk's booking pages, the overbook's included: its
    confirmation, its week of free times, and where the next free times of the taken page lead."""
    pick_args = {"patient_id": patient.id, "type": appointment_type.route}
    return DeskFlow(patient=patient, appointment_type=appointment_type, confirm_template="desk/patients/confirm.html",
                    action=url_for(".confirm", **pick_args), back=url_for(".book", **pick_args),
                    pick_endpoint="desk_patients.confirm", pick_args=pick_args)


def _booked_message(appointment: Appointment, policy: BookingPolicy) -> str:
    when = dates.date_and_time(appointment.start_at, policy.zone, clinic.today())
    return (f"{appointment.appointment_type.name} booked for {appointment.patient.name} on {when} "
            f"with {appointment.clinician.display_name}")


@bp.route("/<int:patient_id>/book/confirm", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def confirm(patient_id: int):
    """GET shows the picked time (?type=&start=&clinician=) with a fresh idempotency key; POST books
    it and goes to the patient's record (Post/Redirect/Get), or shows why not with the next free times."""
    patient = _patient_or_404(patient_id)
    policy = BookingPolicy.for_front_desk()
    appointment_type = next((t for t in _active_types() if t.route == request.args.get("type")), None)
    if appointment_type is None:
        flash("Please choose a visit type and a time.", "error")
        return redirect(url_for(".book", patient_id=patient.id))

    def book(form: DeskConfirmSlotForm) -> Appointment:
        return book_appointment(patient_id=patient.id, clinician_id=int(form.clinician_id.data),
                                appointment_type_id=appointment_type.id, start=form.start_at,
                                idempotency_key=form.idempotency_key.data, booked_by_id=current_user.id,
                                policy=policy, override_reason=form.override_reason.data)

    def booked_page(appointment: Appointment):
        flash(_booked_message(appointment, policy) + ".", "success")
        return redirect(url_for(".patient", patient_id=patient.id))

    return confirm_slot(_booking_flow(patient, appointment_type), book, done=booked_page, policy=policy)


def _local_start(day: date, start_time, policy: BookingPolicy) -> datetime | None:
    """The clinic wall-clock time as an aware datetime, or None when the clocks skip it."""
    moment = datetime.combine(day, start_time, policy.zone)
    as_written = moment.astimezone(policy.zone)
    return moment if (as_written.date(), as_written.time()) == (day, start_time) else None


@bp.post("/<int:patient_id>/overbook")
@roles_required(*DESK_ROLES)
def overbook(patient_id: int):
    """Squeeze the patient in, even where the clinician is already busy: a reason is required."""
    patient = _patient_or_404(patient_id)
    policy = BookingPolicy.for_front_desk()
    form = _overbook_form(patient, None, None)
    if not form.validate_on_submit():
        return _booking_page(patient, form, 400)
    start = _local_start(form.day.data, form.start_time.data, policy)
    if start is None:
        form.start_time.errors.append("That time does not exist on that day: the clocks go forward. "
                                      "Please choose another time.")
        return _booking_page(patient, form, 400)

    def squeeze_in() -> Appointment:
        return book_appointment(
            patient_id=patient.id, clinician_id=form.clinician_id.data,
            appointment_type_id=form.appointment_type_id.data, start=start,
            idempotency_key=form.idempotency_key.data, booked_by_id=current_user.id, policy=policy,
            overbook_reason=form.reason.data, override_reason=form.override_reason.data)

    def form_again(error: ReasonRequired):
        form.override_reason.errors.append(error.message)
        return _booking_page(patient, form, 422)

    def overbooked_page(appointment: Appointment):
        flash(f"{_booked_message(appointment, policy)} as an overbook (reason: {appointment.overbook_reason}).",
              "success")
        return redirect(url_for(".patient", patient_id=patient.id))

    # The choices are the active types, so the one chosen exists: the taken page offers its times.
    flow = _booking_flow(patient, db.session.get(AppointmentType, form.appointment_type_id.data))
    return write_or_explain(flow, squeeze_in, form_again=form_again, done=overbooked_page, after=start,
                            clinician_id=form.clinician_id.data, policy=policy)


# --- urgent cases to call -------------------------------------------------------------------------

URGENT_RULE_IDS = tuple(rule.id for rule in URGENCY_RULES if rule.urgency == Urgency.URGENT)


@bp.get("/urgent")
@roles_required(*DESK_ROLES)
def urgent():
    """Urgent triage submissions still to book, oldest first: a case leaves the list when the
    patient has an active appointment inside its urgent window (eligibility.seen_within_urgent_window),
    linked to it or not. A visit booked later, even with a reason, leaves the case on the list."""
    candidates = db.session.scalars(
        select(TriageSubmission).where(TriageSubmission.urgency == Urgency.URGENT)
        .options(joinedload(TriageSubmission.patient))
        .order_by(TriageSubmission.created_at, TriageSubmission.id)).all()
    # The window is judged in Python, by the eligibility module, not in SQL (date arithmetic differs).
    visits = defaultdict(list)
    for patient_id, start, end in db.session.execute(
            select(Appointment.patient_id, Appointment.start_at, Appointment.end_at).where(
                Appointment.patient_id.in_({case.patient_id for case in candidates if case.patient_id}),
                Appointment.status.in_(ACTIVE_STATUSES))):
        visits[patient_id].append((start, end))
    cases = [case for case in candidates if not any(
        seen_within_urgent_window(case.created_at, start, end) for start, end in visits[case.patient_id])]
    # Why each is urgent, in the doctors' rule texts (one time frame: within 24 hours), and by when.
    return render_template("desk/patients/urgent.html", cases=cases, today=clinic.today(), urgent_window=URGENT_WINDOW,
                           urgent_rule_text={rule: CLINICIAN_RULE_TEXT[rule] for rule in URGENT_RULE_IDS},
                           **_template_words())
