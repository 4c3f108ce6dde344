"""Triage writes: answers in progress, the submission, attaching it to an account, doctors' reviews."""
import secrets
from collections.abc import Iterable, Mapping

from blinker import Namespace
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import defer

from portal import audit
from portal.audit import AuditAction
from portal.auth.models import AccountToken, Role, TokenPurpose, User
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.triage.models import ReviewAction, ReviewState, TriageDraft, TriageReview, TriageSubmission
from portal.triage.questions import AnswerError
from portal.triage.rules import TriageOutcome, evaluate, evaluate_safety
from portal.triage.vocabulary import Route, Urgency


class ReviewError(ValueError):
    """A review that cannot be recorded; the message says why."""


_signals = Namespace()
# Sent inside the doctor's write transaction, so the patient's message (notify/care_messages.py)
# commits with the decision or not at all, whichever page or command made it.
# emergency_dealt_with(submission, review=, now=): booking is open again for the patient.
emergency_dealt_with = _signals.signal("emergency-dealt-with")
# route_changed(submission, review=, now=): a doctor changed the kind of visit (old_route -> new_route).
route_changed = _signals.signal("route-changed")


def draft_for(token: str | None) -> TriageDraft | None:
    return db.session.scalar(select(TriageDraft).where(TriageDraft.token == token)) if token else None


def forget_draft(token: str | None) -> None:
    """Delete a questionnaire in progress (its answers go with it)."""
    if token:
        with write_transaction() as session:
            session.execute(delete(TriageDraft).where(TriageDraft.token == token))


def save_answers(token: str | None, answers: Mapping[str, object], *, drop: Iterable[str] = ()) -> str:
    """Merge one step's answers into the draft (made if needed); returns the draft's token."""
    with write_transaction():
        draft = draft_for(token)
        if draft is None:
            draft = TriageDraft(token=secrets.token_urlsafe(32), answers={})
            db.session.add(draft)
        merged = {key: value for key, value in {**draft.answers, **answers}.items()
                  if value is not None and key not in set(drop)}
        draft.answers = merged  # a new dict, so the JSON column sees the change
    return draft.token


def submit(token: str, *, patient_id: int | None, emergency_only: bool = False,
           answered_by: User | None = None) -> TriageSubmission:
    """Evaluate the draft's answers, store them with their outcome, and discard the draft.

    `emergency_only` stores the safety answers alone when they already mean emergency care;
    otherwise every required answer must be there (AnswerError names the first missing one).
    `answered_by` is the desk user who asked the questions with the caller on the phone: the
    submission says so, and the audit log records who asked. Either way the patient's row is
    locked first, so an emergency closes booking (booking/eligibility.py) before any booking
    made at the same moment can commit.
    """
    if answered_by is not None and patient_id is None:
        raise ValueError("answers taken on the phone belong to a patient's record")
    with write_transaction():
        # Locked, so a double click on Finish makes one submission: the second finds no draft.
        draft = db.session.scalar(select(TriageDraft).where(TriageDraft.token == token).with_for_update())
        if patient_id is not None:
            _lock_patient(patient_id)
        if draft is None:
            raise AnswerError("Your answers have expired. Please start the questions again.")
        answers = dict(draft.answers)
        outcome: TriageOutcome | None = _complete_or_safety(answers) if emergency_only else evaluate(answers)
        emergency_only = emergency_only and not _is_complete(answers)
        if outcome is None:
            raise AnswerError("Please answer the remaining questions.")
        submission = TriageSubmission.from_outcome(answers, outcome, patient_id=patient_id,
                                                   complete=not emergency_only,
                                                   answered_by_id=answered_by.id if answered_by else None)
        db.session.add(submission)
        db.session.delete(draft)
        if answered_by is not None:
            db.session.flush()
            audit.record(AuditAction.TRIAGE_ANSWERED_BY_PHONE, patient_id=patient_id, user_id=answered_by.id,
                         detail=f"case {submission.id}: answered by the desk by phone, asked by {answered_by.name}: "
                                f"{outcome.urgency}" + ("" if submission.route_provisional
                                                       else f", route {outcome.route}"))
    return submission


def _is_complete(answers: Mapping[str, object]) -> bool:
    try:
        evaluate(answers)
    except AnswerError:
        return False
    return True


def _complete_or_safety(answers: Mapping[str, object]) -> TriageOutcome | None:
    """At an emergency answer: the full outcome when every answer is there (the patient went
    back to the first page), so the doctors see the route and flags; else the safety outcome."""
    return evaluate(answers) if _is_complete(answers) else evaluate_safety(answers)


def claim_submissions(submission_ids: Iterable[int], user: User) -> list[int]:
    """Attach anonymous submissions to the patient who confirmed they answered them.

    Only those still unlinked are attached, in one statement, so a confirmation sent twice (or
    an id already someone's) changes nothing. Returns the ids among `submission_ids` that are
    the patient's afterwards, newest first, so the page can show the latest.
    """
    ids = [int(i) for i in submission_ids]
    if not ids:
        return []
    with write_transaction():
        _lock_patient(user.id)  # an attached emergency closes booking: not while a booking is being made
        attached = list(db.session.scalars(update(TriageSubmission).where(
            TriageSubmission.id.in_(ids), TriageSubmission.patient_id.is_(None))
            .values(patient_id=user.id).returning(TriageSubmission.id)))
        for submission_id in sorted(attached):
            audit.record(AuditAction.TRIAGE_CLAIMED, patient_id=user.id, user_id=user.id,
                         detail=f"case {submission_id}: the patient confirmed these answers are theirs")
        theirs = list(db.session.scalars(select(TriageSubmission.id).where(
            TriageSubmission.id.in_(ids), TriageSubmission.patient_id == user.id)
            .order_by(TriageSubmission.created_at.desc(), TriageSubmission.id.desc())))
    return theirs


def tie_to_registration(submission_id: int, link: AccountToken) -> bool:
    """In the registering transaction: the anonymous answers `submission_id` (which the caller has
    checked this browser gave) are tied to the invitation link just mailed to the new account, so
    choosing a password through it joins them, wherever it is opened. Answers already someone's,
    or given after the link was made, are left alone; a later registration from the same answers
    (a mistyped email corrected) takes the tie over. True when tied."""
    if link.purpose != TokenPurpose.INVITATION:
        return False
    tied = db.session.execute(update(TriageSubmission).where(
        TriageSubmission.id == submission_id, TriageSubmission.patient_id.is_(None),
        TriageSubmission.created_at <= link.created_at)
        .values(registration_link_id=link.id).execution_options(synchronize_session=False))
    return tied.rowcount == 1


def join_registration_answers(user: User, link: AccountToken) -> list[int]:
    """In the transaction that set the password through `link` (already spent, and the account's
    own): the answers tied to that link join the account, without asking the patient whether they
    are theirs. They are: the patient registered from those answers and has just shown the mailbox
    of the email they typed is theirs. Only answers still nobody's, given before the link was made,
    join, and only a patient's account; each join is audited as a claim is. An emergency joined here
    closes booking as any does (booking/eligibility.py). Returns the ids joined, newest first."""
    if user.role != Role.PATIENT or link.user_id != user.id or link.purpose != TokenPurpose.INVITATION:
        return []
    _lock_patient(user.id)  # an emergency joined closes booking: not while a booking is being made
    joined = list(db.session.scalars(update(TriageSubmission).where(
        TriageSubmission.registration_link_id == link.id, TriageSubmission.patient_id.is_(None),
        TriageSubmission.created_at <= link.created_at)
        .values(patient_id=user.id).returning(TriageSubmission.id)
        .execution_options(synchronize_session=False)))
    for submission_id in sorted(joined):
        audit.record(AuditAction.TRIAGE_CLAIMED, patient_id=user.id, user_id=user.id,
                     detail=f"case {submission_id}: joined as the patient chose a password through the link "
                            "mailed when they registered from these answers")
    return sorted(joined, reverse=True)


def _lock_patient(patient_id: int | None) -> None:
    """Take the patient's row lock, as the booking service does before it reads the triage: a
    booking and a change to what the patient's triage allows then happen one after the other."""
    if patient_id is not None:
        db.session.execute(select(User.id).where(User.id == patient_id).with_for_update())


_LATEST = (select(TriageSubmission).where(TriageSubmission.patient_id == bindparam("patient_id"))
           .options(defer(TriageSubmission.answers), defer(TriageSubmission.outcome))
           .order_by(TriageSubmission.created_at.desc(), TriageSubmission.id.desc()).limit(1))


def latest_submission(patient_id: int) -> TriageSubmission | None:
    """The patient's latest answers, for what they route to and how urgent they are: the answers
    and outcome themselves (JSON, parsed on reading) are loaded only if asked for."""
    return db.session.scalar(_LATEST, {"patient_id": patient_id})


_OPEN_EMERGENCY_ID = (
    select(TriageSubmission.id).where(TriageSubmission.patient_id == bindparam("patient_id"),
                                      TriageSubmission.urgency == Urgency.EMERGENCY,
                                      TriageSubmission.emergency_cleared_at.is_(None))
    .order_by(TriageSubmission.created_at.desc(), TriageSubmission.id.desc()).limit(1))


def open_emergency_id(patient_id: int) -> int | None:
    """The id of the patient's latest emergency that no doctor has yet recorded as dealt with:
    asked on every page a patient sees (the menu leaves out booking while there is one), so it
    reads one number with a statement built once, and no object."""
    return db.session.scalar(_OPEN_EMERGENCY_ID, {"patient_id": patient_id})


def open_emergency(patient_id: int) -> TriageSubmission | None:
    """The patient's latest emergency that no doctor has yet recorded as dealt with, if any."""
    emergency_id = open_emergency_id(patient_id)
    return None if emergency_id is None else db.session.get(TriageSubmission, emergency_id)


def record_review(submission_id: int, *, doctor: User, new_route: str | None = None,
                  reason: str = "") -> TriageReview:
    """Mark a case reviewed, or change its route (a reason is required). Both are kept as history."""
    reason = (reason or "").strip()
    with write_transaction():
        submission = db.session.scalar(select(TriageSubmission).where(TriageSubmission.id == submission_id)
                                       .with_for_update(key_share=True))  # bookings linking to it go on
        if submission is None:
            raise ReviewError("That case was not found.")
        if submission.emergency_open:
            raise ReviewError("First record that the emergency has been dealt with (the form above).")
        if new_route and new_route != submission.current_route:
            if new_route not in set(Route):
                raise ReviewError("Please choose one of the routes.")
            if not reason:
                raise ReviewError("Please give the reason for changing the route.")
            review = TriageReview(submission=submission, reviewer_id=doctor.id, action=ReviewAction.ROUTE_CHANGED,
                                  old_route=submission.current_route, new_route=new_route, reason=reason[:2000])
            submission.current_route = new_route
        else:
            review = TriageReview(submission=submission, reviewer_id=doctor.id, action=ReviewAction.REVIEWED,
                                  reason=reason[:2000])
        submission.review_state = ReviewState.REVIEWED
        db.session.add(review)
        audit.record(AuditAction.TRIAGE_REVIEWED, patient_id=submission.patient_id, user_id=doctor.id,
                     detail=f"case {submission.id}: " + (
                         f"route {review.old_route} -> {review.new_route}: {reason}"
                         if review.action == ReviewAction.ROUTE_CHANGED else f"reviewed {reason}".strip()))
        if review.action == ReviewAction.ROUTE_CHANGED:
            route_changed.send(submission, review=review, now=utc_now())
    return review


def record_emergency_dealt_with(submission_id: int, *, doctor: User, note: str,
                                new_route: str | None = None) -> TriageReview:
    """A doctor records that a case's emergency has been dealt with (a note is required), which
    reopens booking for the patient (booking/eligibility.py). A route still provisional must be
    set here, since the questions that choose it were never asked."""
    note = (note or "").strip()
    if not note:
        raise ReviewError("Please write what was done about the emergency (for example: seen in the "
                          "emergency department, scan clear).")
    with write_transaction():
        # The patient first, then the case, as a booking does (patient, then the insert whose
        # foreign key touches the case): the other order deadlocks on PostgreSQL. FOR NO KEY
        # UPDATE leaves that foreign-key check free to go on.
        _lock_patient(db.session.scalar(select(TriageSubmission.patient_id)
                                        .where(TriageSubmission.id == submission_id)))
        submission = db.session.scalar(select(TriageSubmission).where(TriageSubmission.id == submission_id)
                                       .with_for_update(key_share=True).execution_options(populate_existing=True))
        if submission is None:
            raise ReviewError("That case was not found.")
        if not submission.is_emergency:
            raise ReviewError("This case is not an emergency.")
        if submission.emergency_cleared_at is not None:
            raise ReviewError("It is already recorded that this emergency has been dealt with.")
        if new_route and new_route not in set(Route):
            raise ReviewError("Please choose one of the routes.")
        if submission.route_provisional and not new_route:
            raise ReviewError("The questions stopped at the emergency questions, so the route was never set. "
                              "Please choose the route this patient needs now.")
        changed = bool(new_route) and (new_route != submission.current_route or submission.route_provisional)
        review = TriageReview(submission=submission, reviewer_id=doctor.id, action=ReviewAction.EMERGENCY_CLEARED,
                              old_route=submission.current_route if changed else None,
                              new_route=new_route if changed else None, reason=note[:2000])
        if changed:
            submission.current_route = new_route
        submission.route_provisional = False
        submission.emergency_cleared_at = utc_now()
        submission.review_state = ReviewState.REVIEWED
        db.session.add(review)
        audit.record(AuditAction.TRIAGE_EMERGENCY_CLEARED, patient_id=submission.patient_id, user_id=doctor.id,
                     detail=f"case {submission.id}: emergency dealt with: {note}"
                            + (f"; route set to {new_route}" if changed else ""))
        emergency_dealt_with.send(submission, review=review, now=submission.emergency_cleared_at)
    return review


def record_staff_view(submission: TriageSubmission, viewer: User) -> None:
    """Every time staff open a patient's triage answers, the audit log says who and when."""
    with write_transaction():
        audit.record(AuditAction.TRIAGE_VIEWED, patient_id=submission.patient_id, user_id=viewer.id,
                     detail=f"case {submission.id}")
