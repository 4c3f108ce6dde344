"""The doctors' queue of triaged cases, most urgent first, and the case page with its review and,
for an emergency, the record that it has been dealt with."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from portal import clinic
from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.booking.models import ACTIVE_STATUSES, Appointment
from portal.extensions import db
from portal.queue.forms import EmergencyDealtWithForm, ReviewForm
from portal.triage.models import ReviewState, TriageReview, TriageSubmission
from portal.triage.questions import QUESTIONS, STEPS, describe_answer
from portal.triage.rules import CLINICIAN_RULE_TEXT, FLAG_TEXT
from portal.triage.service import ReviewError, record_emergency_dealt_with, record_review, record_staff_view
from portal.triage.vocabulary import ROUTE_LABELS, Route, Urgency

bp = Blueprint("queue", __name__, url_prefix="/queue")

PAGE_SIZE = 25
ANONYMOUS_PAGE_SIZE = 10  # a short list: these are seen, but never crowd out patients' cases


def _filter_value(name: str, allowed) -> str | None:
    """One filter of the address, or None; one the queue does not know is said so, not ignored."""
    value = request.args.get(name, "")
    if value and value not in allowed:
        flash(f"The {name} filter “{value[:40]}” was not understood, so it is not applied.", "warning")
    return value if value in allowed else None


@bp.get("/")
@roles_required(Role.DOCTOR)
def queue():
    """Patients' cases, and below them answers no patient has yet confirmed as theirs, each with
    its own pages, so a flood of anonymous answers cannot push patients' cases off the first page.

    Four queries whatever the number of cases: one counting both lists, one page of each, and
    the doctor's own account; nothing per row."""
    route = _filter_value("route", set(Route))
    urgency = _filter_value("urgency", set(Urgency))
    review = _filter_value("review", set(ReviewState))
    booked = exists().where(Appointment.triage_submission_id == TriageSubmission.id,
                            Appointment.status.in_(ACTIVE_STATUSES))
    conditions = []
    if route:
        conditions.append(TriageSubmission.current_route == route)
    if urgency:
        conditions.append(TriageSubmission.urgency == urgency)
    if review:
        conditions.append(TriageSubmission.review_state == review)
    # count(patient_id) counts only the linked ones: both totals in one statement.
    everything, total = db.session.execute(
        select(func.count(TriageSubmission.id), func.count(TriageSubmission.patient_id)).where(*conditions)).one()
    anonymous_total = everything - total
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    anonymous_pages = max(1, -(-anonymous_total // ANONYMOUS_PAGE_SIZE))
    anonymous_page = min(max(request.args.get("anon_page", 1, type=int), 1), anonymous_pages)
    most_urgent_then_oldest = (TriageSubmission.urgency_rank.desc(), TriageSubmission.created_at,
                               TriageSubmission.id)
    # The page's cases first, then whether each is booked: asked of every case before the LIMIT,
    # PostgreSQL hashed every active appointment to answer it (46 of 58 ms on bench/make_clinic.py's
    # clinic); for 25 cases it looks each up in the index on triage_submission_id.
    page_ids = (select(TriageSubmission.id).where(TriageSubmission.patient_id.is_not(None), *conditions)
                .order_by(*most_urgent_then_oldest).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE).subquery())
    rows = db.session.execute(
        select(TriageSubmission, booked.label("booked"))
        .join(page_ids, page_ids.c.id == TriageSubmission.id)
        .options(joinedload(TriageSubmission.patient))
        .order_by(*most_urgent_then_oldest)).all()
    # No account, so no appointment and no patient to load.
    anonymous_rows = db.session.scalars(
        select(TriageSubmission).where(TriageSubmission.patient_id.is_(None), *conditions)
        .order_by(*most_urgent_then_oldest)
        .limit(ANONYMOUS_PAGE_SIZE).offset((anonymous_page - 1) * ANONYMOUS_PAGE_SIZE)).all()
    filters = {"route": route or "", "urgency": urgency or "", "review": review or ""}
    return render_template("queue/queue.html", rows=rows, total=total, page=page, pages=pages,
                           anonymous_rows=anonymous_rows, anonymous_total=anonymous_total,
                           anonymous_page=anonymous_page, anonymous_pages=anonymous_pages, filters=filters,
                           today=clinic.today(), route_labels=ROUTE_LABELS, rule_text=CLINICIAN_RULE_TEXT,
                           flag_text=FLAG_TEXT)


def _case_page(submission_id: int, *, review: ReviewForm | None = None,
               emergency: EmergencyDealtWithForm | None = None):
    """The case with its answers, reasons, flags, appointments and history, and the doctor's
    forms: while its emergency is open, only the record that it was dealt with."""
    submission = db.session.scalar(
        select(TriageSubmission).where(TriageSubmission.id == submission_id)
        .options(joinedload(TriageSubmission.patient),
                 selectinload(TriageSubmission.reviews).joinedload(TriageReview.reviewer))
        .execution_options(populate_existing=True))
    if submission is None:
        abort(404)
    review = review or ReviewForm()
    emergency = (emergency or EmergencyDealtWithForm()).offer_routes(provisional=submission.route_provisional)
    if request.method == "GET":
        record_staff_view(submission, current_user)
    appointments = []
    if submission.patient_id is not None:
        appointments = db.session.scalars(
            select(Appointment).where(Appointment.patient_id == submission.patient_id)
            .options(joinedload(Appointment.clinician), joinedload(Appointment.appointment_type))
            .order_by(Appointment.start_at.desc())).all()
    grouped_answers = [(step, [(QUESTIONS[qid], describe_answer(qid, submission.answers.get(qid)))
                               for qid in step.question_ids]) for step in STEPS]
    page = render_template("queue/case.html", submission=submission, result=submission.result, form=review,
                           emergency_form=emergency, grouped_answers=grouped_answers, appointments=appointments,
                           today=clinic.today(), route_labels=ROUTE_LABELS, rule_text=CLINICIAN_RULE_TEXT,
                           flag_text=FLAG_TEXT)
    return page, 400 if review.errors or emergency.errors else 200


@bp.route("/<int:submission_id>", methods=["GET", "POST"])
@roles_required(Role.DOCTOR)
def case(submission_id: int):
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            record_review(submission_id, doctor=current_user, new_route=form.new_route.data or None,
                          reason=form.reason.data)
        except ReviewError as error:
            form.reason.errors.append(str(error))
        else:
            flash("Your review is saved.", "success")
            return redirect(url_for(".case", submission_id=submission_id))
    return _case_page(submission_id, review=form)


@bp.post("/<int:submission_id>/emergency")
@roles_required(Role.DOCTOR)
def emergency_dealt_with(submission_id: int):
    """Record that the case's emergency has been dealt with: booking opens again for the patient."""
    form = EmergencyDealtWithForm()
    submission = db.session.get(TriageSubmission, submission_id)
    if submission is None:
        abort(404)
    form.offer_routes(provisional=submission.route_provisional)
    if form.validate_on_submit():
        try:
            record_emergency_dealt_with(submission_id, doctor=current_user, note=form.note.data,
                                        new_route=form.new_route.data or None)
        except ReviewError as error:
            form.note.errors.append(str(error))
        else:
            flash("Recorded: the emergency has been dealt with. The patient can book again.", "success")
            return redirect(url_for(".case", submission_id=submission_id))
    return _case_page(submission_id, emergency=form)
