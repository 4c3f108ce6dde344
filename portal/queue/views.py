"""The doctors' queue of triaged cases, most urgent first, and the case page with its review and,
for an emergency, the record that it has been dealt with."""
from datetime import date, datetime
from functools import cache
from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, bindparam, exists, func, null, select
from sqlalchemy.orm import joinedload, selectinload

from portal import clinic
from portal.auth.guards import roles_required
from portal.auth.models import Role, User
from portal.booking.models import ACTIVE_STATUSES, Appointment
from portal.extensions import db
from portal.letters.content import KIND_TITLES, LetterKind
from portal.letters.forms import ButtonForm
from portal.letters.service import kinds_for, latest_letter, latest_versions, signed_letters_of
from portal.queue.forms import EmergencyDealtWithForm, ReviewForm
from portal.triage.models import ReviewState, TriageReview, TriageSubmission, case_age, emergency_open
from portal.triage.questions import QUESTIONS, STEPS, describe_answer
from portal.triage.rules import CLINICIAN_RULE_TEXT, FLAG_TEXT
from portal.triage.service import ReviewError, record_emergency_dealt_with, record_review, record_staff_view
from portal.triage.vocabulary import ROUTE_LABELS, Route, Urgency

bp = Blueprint("queue", __name__, url_prefix="/queue")

PAGE_SIZE = 25
ANONYMOUS_PAGE_SIZE = 10  # a short list: these are seen, but never crowd out patients' cases
# Most urgent first, then oldest, then id: the order of the queue's index (migration 0011).
MOST_URGENT_THEN_OLDEST = (TriageSubmission.urgency_rank.desc(), TriageSubmission.created_at, TriageSubmission.id)
# The address's filters, each on its column: urgency by its rank, the queue index's first column,
# so a filtered page goes straight to that urgency's cases.
FILTER_COLUMNS = {"route": TriageSubmission.current_route, "urgency_rank": TriageSubmission.urgency_rank,
                  "review_state": TriageSubmission.review_state}


class QueueCase(NamedTuple):
    """What one row of the queue shows, read as columns: not a TriageSubmission with all its
    answers, its patient's whole account and a TriageOutcome rebuilt for it."""

    id: int
    urgency: str
    patient_name: str | None  # None: no patient has confirmed these answers as theirs yet
    age: int | None
    route: str
    current_route: str
    route_provisional: bool
    booked: bool | None  # None where there can be no appointment (no account yet)
    emergency_open: bool
    review_state: str
    created_at: datetime
    reasons: list[str]
    flags: list[str]


def _filter_value(name: str, allowed) -> str | None:
    """One filter of the address, or None; one the queue does not know is said so, not ignored."""
    value = request.args.get(name, "")
    if value and value not in allowed:
        flash(f"The {name} filter “{value[:40]}” was not understood, so it is not applied.", "warning")
    return value if value in allowed else None


def _page_number(name: str, pages: int) -> int:
    """The page of a list the address asks for, from 1 to `pages`; one it cannot show is said so
    (an old bookmark after cases were reviewed, a mistyped address), not silently replaced."""
    asked = request.args.get(name, "")
    if not asked:
        return 1
    try:
        number = int(asked)
    except ValueError:
        flash(f"The page “{asked[:20]}” was not understood, so here is the first page.", "warning")
        return 1
    if not 1 <= number <= pages:
        shown = 1 if number < 1 else pages
        flash(f"There is no page {number} of this list now, so here is page {shown} of {pages}.", "warning")
        return shown
    return number


def _totals(conditions: list, *, filters_need_rows: bool) -> tuple[int, int]:
    """How many patients' cases and how many answers not yet linked to a patient match the filters.

    With no filter but urgency, every case is counted in the queue's index and those without a
    patient in the index on patient_id, so no whole table need be read (bench/make_clinic.py's
    clinic, no filter: 0.1 ms on SQLite, where one statement counting both took 1.4 ms; 3.5 ms on a
    vacuumed PostgreSQL, 8 ms before). A filter on route or review (`filters_need_rows`) is
    answered from the rows, read once for both numbers."""
    if not filters_need_rows:
        everything = select(func.count()).select_from(TriageSubmission).where(*conditions).scalar_subquery()
        anonymous = (select(func.count()).select_from(TriageSubmission)
                     .where(TriageSubmission.patient_id.is_(None), *conditions).scalar_subquery())
        everything, anonymous = db.session.execute(select(everything, anonymous)).one()
        return everything - anonymous, anonymous
    # count(patient_id) counts only the linked ones.
    everything, linked = db.session.execute(
        select(func.count(TriageSubmission.id), func.count(TriageSubmission.patient_id)).where(*conditions)).one()
    return linked, everything - linked


@cache
def _page_statements(filters: frozenset[str]) -> tuple[Select, Select]:
    """A page of patients' cases and a page of answers not yet linked, for one set of filters
    (keys of FILTER_COLUMNS), with the filters' values, LIMIT and OFFSET as parameters: built once
    for each of the eight sets, as building them and their cache keys anew took about 1.5 ms of
    each request on bench/make_clinic.py's clinic."""
    conditions = [column == bindparam(name) for name, column in FILTER_COLUMNS.items() if name in filters]
    booked = exists().where(Appointment.triage_submission_id == TriageSubmission.id,
                            Appointment.status.in_(ACTIVE_STATUSES))
    # No account, so no appointment to look for.
    return (_page_of_cases([TriageSubmission.patient_id.is_not(None), *conditions], booked),
            _page_of_cases([TriageSubmission.patient_id.is_(None), *conditions], null()))


def _page_of_cases(conditions: list, booked) -> Select:
    """One page of cases in the queue's order (LIMIT and OFFSET as parameters), with `booked` for
    each. The page's ids are found first and only their rows read, as the columns a row shows:
    asked of every case before the LIMIT, PostgreSQL hashed every active appointment to say
    whether each is booked (46 of 58 ms on bench/make_clinic.py's clinic), and SQLite sorted the
    whole rows, answers and all, of every case without a patient (4.9 ms; 2.6 ms for their ids)."""
    page_ids = (select(TriageSubmission.id).where(*conditions).order_by(*MOST_URGENT_THEN_OLDEST)
                .limit(bindparam("limit")).offset(bindparam("offset")).subquery())
    return (select(TriageSubmission.id, TriageSubmission.urgency, TriageSubmission.route,
                   TriageSubmission.current_route, TriageSubmission.route_provisional,
                   TriageSubmission.emergency_cleared_at, TriageSubmission.review_state, TriageSubmission.created_at,
                   TriageSubmission.outcome, TriageSubmission.answers["age"].label("answered_age"), User.name,
                   User.date_of_birth, booked.label("booked"))
            .join(page_ids, page_ids.c.id == TriageSubmission.id)
            .outerjoin(User, User.id == TriageSubmission.patient_id)
            .order_by(*MOST_URGENT_THEN_OLDEST))


def _cases(statement: Select, parameters: dict, *, page: int, page_size: int, today: date) -> list[QueueCase]:
    """One page of `statement`'s cases, as the rows show them."""
    rows = db.session.execute(statement, {**parameters, "limit": page_size, "offset": (page - 1) * page_size})
    cases = []
    for row in rows:
        cases.append(QueueCase(
            id=row.id, urgency=row.urgency, patient_name=row.name,
            age=case_age(row.date_of_birth, row.answered_age, today),
            route=row.route, current_route=row.current_route, route_provisional=row.route_provisional,
            booked=row.booked, review_state=row.review_state, created_at=row.created_at,
            emergency_open=emergency_open(row.urgency, row.emergency_cleared_at),
            reasons=row.outcome.get("reasons", []), flags=row.outcome.get("flags", [])))
    return cases


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
    parameters = {}  # the filters given, under their names in FILTER_COLUMNS
    if route:
        parameters["route"] = route
    if urgency:
        parameters["urgency_rank"] = Urgency(urgency).rank
    if review:
        parameters["review_state"] = review
    total, anonymous_total = _totals([FILTER_COLUMNS[name] == value for name, value in parameters.items()],
                                     filters_need_rows=bool(route or review))
    pages = max(1, -(-total // PAGE_SIZE))
    page = _page_number("page", pages)
    anonymous_pages = max(1, -(-anonymous_total // ANONYMOUS_PAGE_SIZE))
    anonymous_page = _page_number("anon_page", anonymous_pages)
    cases_statement, anonymous_statement = _page_statements(frozenset(parameters))
    today = clinic.today()
    cases = _cases(cases_statement, parameters, page=page, page_size=PAGE_SIZE, today=today)
    anonymous_cases = _cases(anonymous_statement, parameters, page=anonymous_page,
                             page_size=ANONYMOUS_PAGE_SIZE, today=today)
    filters = {"route": route or "", "urgency": urgency or "", "review": review or ""}
    return render_template("queue/queue.html", cases=cases, total=total, page=page, pages=pages,
                           anonymous_cases=anonymous_cases, anonymous_total=anonymous_total,
                           anonymous_page=anonymous_page, anonymous_pages=anonymous_pages, filters=filters,
                           route_labels=ROUTE_LABELS, rule_text=CLINICIAN_RULE_TEXT, flag_text=FLAG_TEXT)


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
    # The letters the case may have, and any it has of a kind its route no longer gives (a draft
    # started before the route changed stays in reach; signing it is refused, with the reason).
    offered = kinds_for(submission)
    letters = [(kind, latest_letter(submission.id, kind)) for kind in LetterKind]
    letters = [(kind, letter) for kind, letter in letters if letter is not None or kind in offered]
    # The patient's signed letters from their other cases, as the desk's record of them lists them.
    other_letters = [letter for letter in signed_letters_of(submission.patient_id)
                     if letter.submission_id != submission.id] if submission.patient_id is not None else []
    page = render_template("queue/case.html", submission=submission, result=submission.result, form=review,
                           letters=letters, letter_button=ButtonForm(), letter_titles=KIND_TITLES,
                           other_letters=other_letters, current_letters=latest_versions(other_letters),
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
