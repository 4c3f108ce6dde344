"""The patient questionnaire (a few short steps), and confirming that answers given before
logging in are the patient's. The outcome page, which offers times, is booking's (it sits above
both domains)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.extensions import db, limiter
from portal.triage import service
from portal.triage.answering import read_step, visible_questions
from portal.triage.browser import DRAFT_KEY, SUBMISSIONS_KEY, chosen_units, remember_answered
from portal.triage.models import TriageSubmission
from portal.triage.questions import (
    EMERGENCY_QUESTION_IDS,
    MEASURE_IDS,
    QUESTIONS,
    STEPS,
    US_HELP,
    AnswerError,
    answer_boxes,
)
from portal.triage.rules import evaluate_safety
from portal.triage.vocabulary import ROUTE_EXPLAINED, Route, Urgency

bp = Blueprint("triage", __name__, url_prefix="/triage")

STEP_IDS = [step.id for step in STEPS]

def _may_answer() -> bool:
    return not current_user.is_authenticated or current_user.role == Role.PATIENT


@bp.get("/")
def start():
    if not _may_answer():
        abort(403)
    return render_template("triage/start.html", steps=STEPS)


# Answers per client address: generous for a person (and a family on one connection), not a script.
ANSWER_LIMIT = "60 per minute; 600 per hour"


@bp.route("/step/<step_id>", methods=["GET", "POST"])
@limiter.limit(ANSWER_LIMIT, methods=["POST"])
def step(step_id: str):
    if not _may_answer():
        abort(403)
    if step_id not in STEP_IDS:
        abort(404)
    position = STEP_IDS.index(step_id)
    current = STEPS[position]
    draft = service.draft_for(session.get(DRAFT_KEY))
    answers = dict(draft.answers) if draft else {}
    if position > 0 and not all(qid in answers for qid in EMERGENCY_QUESTION_IDS):
        return redirect(url_for(".step", step_id=STEP_IDS[0]))  # safety questions always come first
    form = FlaskForm()  # CSRF only; the questions are parsed from questions.py
    units = chosen_units()
    errors: dict[str, str] = {}
    if request.method == "POST" and form.validate_on_submit():
        read = read_step(current, answers, request.form)
        errors = read.errors
        going_back = request.form.get("action") == "back"
        if going_back or not errors:
            session[DRAFT_KEY] = service.save_answers(session.get(DRAFT_KEY), read.accepted, drop=read.dropped)
        if going_back:
            return redirect(url_for(".step", step_id=STEP_IDS[max(position - 1, 0)]))
        if not errors:
            return _after_step(position)
        answers.update(read.accepted)
    elif request.method == "POST":
        errors["_form"] = "This page had expired. Please check your answers and press Continue again."
    return render_template("triage/step.html", step=current, position=position, steps=STEPS, form=form,
                           questions=visible_questions(current, answers), answers=answers,
                           raw=request.form if errors else None, errors=errors, units=units), 400 if errors else 200


@bp.app_context_processor
def _questionnaire_boxes():
    """What triage/step.html needs to show height, weight and neck in US or metric boxes, for any
    view that shows the questions (answer_boxes(question, units, stored, sent))."""
    return {"answer_boxes": answer_boxes, "us_help": US_HELP, "measure_ids": MEASURE_IDS}


def _after_step(position: int):
    token = session.get(DRAFT_KEY)
    patient_id = current_user.id if current_user.is_authenticated else None
    if position == 0:
        draft = service.draft_for(token)
        if evaluate_safety(draft.answers) is not None:
            return _finish(token, patient_id, emergency_only=True)
    if position + 1 < len(STEPS):
        return redirect(url_for(".step", step_id=STEP_IDS[position + 1]))
    return _finish(token, patient_id)


def _finish(token, patient_id, *, emergency_only=False):
    try:
        submission = service.submit(token, patient_id=patient_id, emergency_only=emergency_only)
    except AnswerError as error:
        flash(str(error), "error")
        missing_step = QUESTIONS[error.question_id].step if error.question_id in QUESTIONS else STEP_IDS[0]
        return redirect(url_for(".step", step_id=missing_step))
    session.pop(DRAFT_KEY, None)
    if patient_id is None:
        remember_answered(submission.id)
    return redirect(url_for("booking.outcome", submission_id=submission.id))


def _answered_before_login() -> list[TriageSubmission]:
    """This browser's answers from before logging in that no patient has confirmed yet, newest first."""
    ids = [int(i) for i in session.get(SUBMISSIONS_KEY, [])]
    if not ids:
        return []
    return list(db.session.scalars(
        select(TriageSubmission).where(TriageSubmission.id.in_(ids), TriageSubmission.patient_id.is_(None))
        .order_by(TriageSubmission.created_at.desc(), TriageSubmission.id.desc())))


@bp.before_app_request
def _ask_whose_answers_first():
    """A patient who logs in where the questions were answered before logging in is asked, before
    any other page, whether those answers are theirs: right after login or registration, wherever
    that leads, and again until they say yes or no."""
    if (request.method != "GET" or request.endpoint in (None, "static", "triage.claim")
            or not session.get(SUBMISSIONS_KEY)):
        return None
    if not current_user.is_authenticated or current_user.role != Role.PATIENT:
        return None
    if not _answered_before_login():
        session.pop(SUBMISSIONS_KEY, None)  # all linked meanwhile: nothing left to ask
        return None
    return redirect(url_for("triage.claim"))


# The outcome in a few plain words for the confirmation list: what we advised, never a diagnosis.
URGENCY_IN_PLAIN_WORDS = {
    Urgency.EMERGENCY: "we advised getting emergency care at once",
    Urgency.URGENT: "to be seen within 24 hours",
    Urgency.ROUTINE: "at a time that suits you",
}


@bp.route("/claim", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
def claim():
    """Answers given on this device before logging in join the patient's record only when the
    patient says they are theirs. Only this browser's own list of ids counts (kept in the signed
    session as the answers were given); nothing posted names a submission."""
    form = FlaskForm()  # CSRF only: the answer is the button pressed
    answer = request.form.get("answer")
    if form.validate_on_submit() and answer in ("yes", "no"):
        ids = session.pop(SUBMISSIONS_KEY, [])
        if answer == "no":
            flash("Those answers were not added to your record.", "info")
            return redirect(url_for("booking.my_appointments"))
        theirs = service.claim_submissions(ids, current_user)
        if not theirs:  # someone else confirmed them meanwhile
            flash("Those answers are no longer waiting to be confirmed.", "info")
            return redirect(url_for("booking.my_appointments"))
        flash("Your answers are now kept with your account.", "success")
        return redirect(url_for("booking.outcome", submission_id=theirs[0]))
    pending = _answered_before_login()
    if not pending:
        session.pop(SUBMISSIONS_KEY, None)
        return redirect(url_for("booking.my_appointments"))
    error = None
    if request.method == "POST":
        error = ("This page had expired. Please choose again." if form.errors
                 else "Please choose one of the two buttons.")
    shown = [(submission, ROUTE_EXPLAINED[Route(submission.current_route)][0],
              URGENCY_IN_PLAIN_WORDS[Urgency(submission.urgency)]) for submission in pending]
    return render_template("triage/claim.html", form=form, pending=shown, error=error), 400 if error else 200
