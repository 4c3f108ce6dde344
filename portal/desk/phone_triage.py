"""The desk answers the triage with a caller on the phone, from the caller's record.

The same steps, questions, checks and rules as the patient's own questionnaire (triage/answering.py
reads a step for both; triage/service.py stores the answers), so the phone changes who types, not
what is asked. The answers in progress are a TriageDraft like the patient's, whose token this
browser's session keeps per patient; the submission is stored on the patient's record as answered
by the desk by phone, with who asked, and audited. Stored through triage/service.submit, which
locks the patient first: an emergency closes booking for the patient at once, for every path
(booking/eligibility.py). The result page tells the desk what to tell the caller.
"""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, user_logged_out
from flask_wtf import FlaskForm

from portal import audit, clinic
from portal.audit import AuditAction
from portal.auth.guards import roles_required
from portal.auth.models import DESK_ROLES, Role, User
from portal.booking.service import triage_state
from portal.database import write_transaction
from portal.extensions import db
from portal.triage import service
from portal.triage.answering import read_step, visible_questions
from portal.triage.browser import chosen_units
from portal.triage.models import TriageSubmission
from portal.triage.questions import EMERGENCY_QUESTION_IDS, QUESTIONS, STEPS, AnswerError
from portal.triage.rules import RULE_TEXT, evaluate_safety
from portal.triage.vocabulary import ROUTE_LABELS, Urgency

bp = Blueprint("desk_triage", __name__, url_prefix="/desk/patients")

STEP_IDS = [step.id for step in STEPS]
DRAFTS_KEY = "desk_triage_drafts"  # patient id (as text) -> the token of the answers being taken


def _patient_or_404(patient_id: int) -> User:
    patient = db.get_or_404(User, patient_id)
    if patient.role != Role.PATIENT:
        abort(404)
    return patient


def _token(patient_id: int) -> str | None:
    return session.get(DRAFTS_KEY, {}).get(str(patient_id))


def _keep_token(patient_id: int, token: str | None) -> None:
    drafts = dict(session.get(DRAFTS_KEY, {}))
    if token:
        drafts[str(patient_id)] = token
    else:
        drafts.pop(str(patient_id), None)
    session[DRAFTS_KEY] = drafts


def listen_to_logouts() -> None:
    """At logout (or an idle timeout) the answers being taken in this session are deleted, as the
    patient's own are (create_app wires it)."""
    user_logged_out.connect(_forget_phone_drafts)


def _forget_phone_drafts(app, user, **extra):
    for token in session.pop(DRAFTS_KEY, {}).values():
        service.forget_draft(token)


@bp.get("/<int:patient_id>/triage")
@roles_required(*DESK_ROLES)
def start(patient_id: int):
    """Begin afresh: answers left over from an earlier call for this patient are dropped."""
    patient = _patient_or_404(patient_id)
    service.forget_draft(_token(patient.id))
    _keep_token(patient.id, None)
    return redirect(url_for(".step", patient_id=patient.id, step_id=STEP_IDS[0]))


@bp.route("/<int:patient_id>/triage/step/<step_id>", methods=["GET", "POST"])
@roles_required(*DESK_ROLES)
def step(patient_id: int, step_id: str):
    patient = _patient_or_404(patient_id)
    if step_id not in STEP_IDS:
        abort(404)
    position = STEP_IDS.index(step_id)
    current = STEPS[position]
    draft = service.draft_for(_token(patient.id))
    answers = dict(draft.answers) if draft else {}
    if position > 0 and not all(qid in answers for qid in EMERGENCY_QUESTION_IDS):
        return redirect(url_for(".step", patient_id=patient.id, step_id=STEP_IDS[0]))  # safety first
    if "age" in current.question_ids and "age" not in answers and patient.date_of_birth:
        answers["age"] = patient.age_on(clinic.today())  # on the record: the desk only checks it
    form = FlaskForm()
    errors: dict[str, str] = {}
    if request.method == "POST" and form.validate_on_submit():
        read = read_step(current, answers, request.form)
        errors = read.errors
        going_back = request.form.get("action") == "back"
        if going_back or not errors:
            _keep_token(patient.id, service.save_answers(_token(patient.id), read.accepted, drop=read.dropped))
        if going_back:
            return redirect(url_for(".step", patient_id=patient.id, step_id=STEP_IDS[max(position - 1, 0)]))
        if not errors:
            return _after_step(patient, position)
        answers.update(read.accepted)
    elif request.method == "POST":
        errors["_form"] = "This page had expired. Please check the answers and press Continue again."
    return render_template("triage/step.html", step=current, position=position, steps=STEPS, form=form,
                           questions=visible_questions(current, answers), answers=answers, caller=patient,
                           raw=request.form if errors else None, errors=errors,
                           units=chosen_units()), 400 if errors else 200


def _after_step(patient: User, position: int):
    token = _token(patient.id)
    if position == 0 and evaluate_safety(service.draft_for(token).answers) is not None:
        return _finish(patient, token, emergency_only=True)
    if position + 1 < len(STEPS):
        return redirect(url_for(".step", patient_id=patient.id, step_id=STEP_IDS[position + 1]))
    return _finish(patient, token)


def _finish(patient: User, token: str, *, emergency_only: bool = False):
    try:
        submission = service.submit(token, patient_id=patient.id, emergency_only=emergency_only,
                                    answered_by=current_user)
    except AnswerError as error:
        flash(str(error), "error")
        missing = QUESTIONS[error.question_id].step if error.question_id in QUESTIONS else STEP_IDS[0]
        return redirect(url_for(".step", patient_id=patient.id, step_id=missing))
    _keep_token(patient.id, None)
    return redirect(url_for(".result", patient_id=patient.id, submission_id=submission.id))


@bp.get("/<int:patient_id>/triage/<int:submission_id>")
@roles_required(*DESK_ROLES)
def result(patient_id: int, submission_id: int):
    """What to tell the caller now: an emergency first and plainly, an urgent case's 24 hours, or
    the visit to book. Shows the patient's triage, so it is audited as a view of it."""
    patient = _patient_or_404(patient_id)
    submission = db.get_or_404(TriageSubmission, submission_id)
    if submission.patient_id != patient.id:
        abort(404)
    with write_transaction():
        audit.record(AuditAction.TRIAGE_VIEWED, patient_id=patient.id, detail=f"case {submission.id}")
    outcome = submission.result
    state = triage_state(patient.id)
    return render_template(
        "desk/patients/phone_triage_result.html", patient=patient, submission=submission,
        urgency_reasons=[RULE_TEXT[rule] for rule in outcome.reasons if rule[0] in "EU"],
        route_label=None if submission.route_provisional else ROUTE_LABELS.get(submission.current_route),
        booking_closed=state.open_emergency_id is not None, urgent=submission.urgency == Urgency.URGENT,
        emergency=submission.urgency == Urgency.EMERGENCY,
        emergency_number=current_app.config["EMERGENCY_NUMBER"])
