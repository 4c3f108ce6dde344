"""Letter writes: start a draft from a case, save the doctor's words, sign (and so lock), correct.

Each runs in one write transaction with its audit row, so a letter and the record of who did what
to it commit or fail together. The rules of a letter live here, for every page that writes one:
only a case linked to a patient, routed (not provisionally) to the letter's route, gets one; an
emergency no doctor has dealt with cannot be signed off to another service; a signed letter is
final (the model and the database refuse changes too), and a correction is its next version.
"""
from collections.abc import Mapping
from datetime import datetime

from blinker import Namespace
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit, clinic
from portal.audit import AuditAction
from portal.auth.models import User
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.letters.compose import compose, default_question, letter_kinds
from portal.letters.content import KIND_TITLES, Clinic, LetterContent, LetterKind, Patient, Signature
from portal.letters.models import Letter
from portal.triage.models import TriageSubmission
from portal.triage.vocabulary import ROUTE_LABELS

# Enough for a page of history; a longer text is a paste gone wrong, and would run to many pages.
MAX_TEXT = 5000


class LetterError(ValueError):
    """A letter that cannot be started, saved, signed or corrected; the message says why."""


_signals = Namespace()
# letter_signed(letter, now=): sent inside the signing transaction, so the patient hears that a
# letter is ready (notify/care_messages.py) exactly when it is signed, by any path.
letter_signed = _signals.signal("letter-signed")


def clinic_details() -> Clinic:
    config = current_app.config
    return Clinic(name=config["CLINIC_NAME"], address=config["CLINIC_ADDRESS"], phone=config["CLINIC_PHONE"],
                  timezone=config["CLINIC_TIMEZONE"])


def patient_details(patient: User, answers: Mapping[str, object]) -> Patient:
    sex = answers.get("sex")
    return Patient(name=patient.name, date_of_birth=patient.date_of_birth,
                   sex=sex if sex in ("female", "male") else None, email=patient.email, phone=patient.phone)


def letter_content(letter: Letter, *, now: datetime | None = None) -> LetterContent:
    """What the letter says: as signed, for a signed letter; else as it would be signed now, from
    the case's answers and outcome, the patient's details and the doctor's words so far."""
    if letter.is_signed:
        return letter.signed_content()
    submission = letter.submission
    return compose(letter.letter_kind, answers=submission.answers, outcome=submission.result,
                   urgency=submission.urgency, patient=patient_details(letter.patient, submission.answers),
                   clinic=clinic_details(), history=letter.history, question=letter.question,
                   author=letter.author.name, reference=letter.reference, letter_date=clinic.today(now))


def kinds_for(submission: TriageSubmission) -> tuple[LetterKind, ...]:
    """The letters a case may have now (none for answers not yet linked to a patient)."""
    if submission.patient_id is None:
        return ()
    return letter_kinds(submission.current_route, provisional=submission.route_provisional,
                        flags=submission.result.flags)


def _check_allowed(submission: TriageSubmission | None, kind: LetterKind) -> TriageSubmission:
    if submission is None:
        raise LetterError("That case was not found.")
    if submission.patient_id is None:
        raise LetterError("These answers are not linked to a patient yet, so there is nobody to write about.")
    if submission.route_provisional:
        raise LetterError("The route of this case is still to be set at review; set it first.")
    if kind not in kinds_for(submission):
        raise LetterError(f"This case is routed to {ROUTE_LABELS[submission.current_route].lower()} now, so a "
                          f"{KIND_TITLES[kind].lower()} cannot be written for it.")
    return submission


def latest_letter(submission_id: int, kind: LetterKind) -> Letter | None:
    """The newest version of the case's letter of this kind (draft or signed), or None."""
    return db.session.scalar(select(Letter).where(Letter.submission_id == submission_id, Letter.kind == kind)
                             .order_by(Letter.version.desc()).limit(1))


def _detail(letter: Letter, what: str) -> str:
    return f"letter {letter.reference} ({letter.kind}) for case {letter.submission_id}: {what}"


def start_letter(submission_id: int, kind: LetterKind, *, doctor: User) -> Letter:
    """The case's letter of this kind: its latest version when there is one (a draft to go on
    with, or the signed letter), else a new draft with the question the case suggests."""
    try:
        with write_transaction():
            submission = _check_allowed(db.session.get(TriageSubmission, submission_id), kind)
            letter = latest_letter(submission_id, kind)
            if letter is None:
                letter = Letter(submission=submission, patient_id=submission.patient_id, kind=kind, version=1,
                                author_id=doctor.id, history="",
                                question=default_question(kind, submission.result))
                db.session.add(letter)
                db.session.flush()
                audit.record(AuditAction.LETTER_DRAFTED, patient_id=submission.patient_id, user_id=doctor.id,
                             detail=_detail(letter, "draft started"))
    except IntegrityError:  # another doctor started it a moment ago: theirs is the draft
        letter = latest_letter(submission_id, kind)
        if letter is None:
            raise
    return letter


def _text(value: str | None, what: str) -> str:
    value = (value or "").replace("\r\n", "\n").strip()
    if len(value) > MAX_TEXT:
        raise LetterError(f"The {what} is too long: at most {MAX_TEXT:,} characters, please.")
    return value


def _locked_draft(letter_id: int) -> Letter:
    letter = db.session.scalar(select(Letter).where(Letter.id == letter_id).with_for_update())
    if letter is None:
        raise LetterError("That letter was not found.")
    if letter.is_signed:
        raise LetterError(f"This letter was signed by {letter.signed_by.name} and cannot change. "
                          "Write a correction instead.")
    return letter


def save_draft(letter_id: int, *, doctor: User, history: str, question: str) -> Letter:
    """Keep the doctor's words on a draft (not signed)."""
    history, question = _text(history, "history"), _text(question, "question")
    with write_transaction():
        letter = _locked_draft(letter_id)
        if (letter.history, letter.question) != (history, question):
            letter.history, letter.question, letter.updated_at = history, question, utc_now()
            audit.record(AuditAction.LETTER_EDITED, patient_id=letter.patient_id, user_id=doctor.id,
                         detail=_detail(letter, "history and question saved"))
    return letter


def sign_letter(letter_id: int, *, doctor: User, history: str, question: str) -> Letter:
    """Sign the draft with the words on the doctor's screen: the letter's whole text, the doctor
    and the moment are stored, and the letter is locked."""
    history, question = _text(history, "history"), _text(question, "question")
    if not question:
        raise LetterError("Please write the question for the service the letter goes to.")
    with write_transaction():
        letter = _locked_draft(letter_id)
        submission = _check_allowed(db.session.get(TriageSubmission, letter.submission_id), letter.letter_kind)
        if submission.emergency_open:
            raise LetterError("This case's emergency has not been recorded as dealt with. Record that on the case "
                              "page first: a letter cannot stand in for emergency care.")
        now = utc_now()
        letter.history, letter.question = history, question
        # Signed with the doctor's account's name ("Dr. Samuel Okafor").
        content = letter_content(letter, now=now).signed(Signature(name=doctor.name, signed_at=now))
        letter.content, letter.signed_text = content.to_dict(), content.as_text()
        letter.signed_by_id, letter.signed_at, letter.updated_at = doctor.id, now, now
        audit.record(AuditAction.LETTER_SIGNED, patient_id=letter.patient_id, user_id=doctor.id,
                     detail=_detail(letter, "signed"))
        letter_signed.send(letter, now=now)
    return letter


def start_correction(letter_id: int, *, doctor: User) -> Letter:
    """A new draft correcting a signed letter: the next version, with its words to start from.
    The signed one stays as it is; the latest signed version is the one that counts."""
    try:
        with write_transaction():
            signed = db.session.get(Letter, letter_id)
            if signed is None or not signed.is_signed:
                raise LetterError("Only a signed letter can be corrected; a draft can simply be edited.")
            latest = latest_letter(signed.submission_id, signed.letter_kind)
            if latest.id != signed.id:
                if not latest.is_signed:
                    return latest  # a correction is already being written: go on with it
                raise LetterError(f"This is not the latest version: correct {latest.reference} instead.")
            _check_allowed(signed.submission, signed.letter_kind)
            correction = Letter(submission_id=signed.submission_id, patient_id=signed.patient_id, kind=signed.kind,
                                version=signed.version + 1, corrects_id=signed.id, author_id=doctor.id,
                                history=signed.history, question=signed.question)
            db.session.add(correction)
            db.session.flush()
            audit.record(AuditAction.LETTER_DRAFTED, patient_id=signed.patient_id, user_id=doctor.id,
                         detail=_detail(correction, f"correction of {signed.reference} started"))
    except IntegrityError:
        correction = latest_letter(signed.submission_id, signed.letter_kind)
    return correction


def record_letter_seen(letter: Letter, viewer: User, how: str) -> None:
    """Every view and download of a letter, by anyone, is in the audit log: who, when and how."""
    action = AuditAction.LETTER_VIEWED if how == "page" else AuditAction.LETTER_DOWNLOADED
    with write_transaction():
        audit.record(action, patient_id=letter.patient_id, user_id=viewer.id, detail=_detail(letter, how))


def versions_of(letter: Letter) -> list[Letter]:
    """Every version of this case's letter of this kind, newest first."""
    return list(db.session.scalars(select(Letter).where(Letter.submission_id == letter.submission_id,
                                                        Letter.kind == letter.kind)
                                   .order_by(Letter.version.desc())))


def signed_letters_of(patient_id: int) -> list[Letter]:
    """A patient's signed letters, newest first; a corrected one is listed beside its correction."""
    return list(db.session.scalars(select(Letter).where(Letter.patient_id == patient_id,
                                                        Letter.signed_at.is_not(None))
                                   .order_by(Letter.signed_at.desc(), Letter.id.desc())))


def latest_versions(letters: list[Letter]) -> set[int]:
    """The ids of the letters no later signed version replaces."""
    newest: dict[tuple[int, str], Letter] = {}
    for letter in letters:
        key = (letter.submission_id, letter.kind)
        if key not in newest or letter.version > newest[key].version:
            newest[key] = letter
    return {letter.id for letter in newest.values()}

