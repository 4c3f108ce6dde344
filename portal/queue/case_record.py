"""What a case's page reads: the submission with its patient and its review history, the patient's
appointments, every answer under its questionnaire step, the case's letters and the patient's signed
letters from other cases. Apart from the view so that the view parses, calls and renders, and the
page's reads are in one place."""
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from portal.booking.models import Appointment
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.models import Letter
from portal.letters.service import kinds_for, latest_letter, latest_versions, signed_letters_of
from portal.triage.models import TriageReview, TriageSubmission
from portal.triage.questions import QUESTIONS, STEPS, Question, Step, describe_answer


@dataclass(frozen=True)
class CaseRecord:
    submission: TriageSubmission
    appointments: list[Appointment]  # the patient's, newest first; none for answers not yet linked
    grouped_answers: list[tuple[Step, list[tuple[Question, str]]]]  # each step's questions, answers described
    letters: list[tuple[LetterKind, Letter | None]]  # each kind's latest version, or None if not started
    other_letters: list[Letter]  # the patient's signed letters from their other cases
    current_letters: set[int]  # the ids among other_letters no later signed version replaces


def case_statement(submission_id: int) -> Select:
    """The case with its patient and its reviews (with their reviewers), read afresh even where the
    session already holds it."""
    return (select(TriageSubmission).where(TriageSubmission.id == submission_id)
            .options(joinedload(TriageSubmission.patient),
                     selectinload(TriageSubmission.reviews).joinedload(TriageReview.reviewer))
            .execution_options(populate_existing=True))


def read_case_record(submission: TriageSubmission) -> CaseRecord:
    """Everything the case page shows beside the submission's own columns and the doctor's forms."""
    appointments = []
    if submission.patient_id is not None:
        appointments = list(db.session.scalars(
            select(Appointment).where(Appointment.patient_id == submission.patient_id)
            .options(joinedload(Appointment.clinician), joinedload(Appointment.appointment_type))
            .order_by(Appointment.start_at.desc())))
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
    return CaseRecord(submission=submission, appointments=appointments, grouped_answers=grouped_answers,
                      letters=letters, other_letters=other_letters, current_letters=latest_versions(other_letters))
