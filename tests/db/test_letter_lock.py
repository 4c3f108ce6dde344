"""A signed referral letter is locked by the database itself, on SQLite and PostgreSQL.

Migration 0013's triggers refuse an UPDATE or DELETE of a signed referral_letter row whoever
writes it (plain SQL here, as a script or psql would), while a draft may still change or go; the
ORM refuses too, before the database is asked. The races at the end run real threads, each in its
own app context (its own session and connection), as requests in separate processes would: two
doctors opening the same case's letter at once make one draft, and two signing it at once make one
signature while the other is told it was signed.
"""
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.models import Letter
from portal.letters.service import LetterError, sign_letter, start_letter
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate
from tests import factories
from tests.db.threads import run_at_once

SLEEP = LetterKind.SLEEP_STUDY_REFERRAL
# A sleep case with apnoea seen by a bed partner: routed to a sleep-study referral (rule R2).
SLEEP_CASE = {"pe_symptoms": "no", "bleeding_vein": "no", "cold_pale_leg": "no", "dvt_signs": "no",
              "svt_signs": "no", "age": 58, "sex": "male", "observed_apnea": "yes"}
REFUSED = "referral_letter is signed"  # what the triggers say
ROUNDS = 5  # races run on this many cases, each one fresh

# What a script might try on a signed letter: change its words, unsign it, remove it.
TAMPERING = {
    "change the history": "UPDATE referral_letter SET history = 'rewritten' WHERE id = :id",
    "unsign it": "UPDATE referral_letter SET signed_at = NULL, signed_by_id = NULL, content = NULL, "
                 "signed_text = NULL WHERE id = :id",
    "delete it": "DELETE FROM referral_letter WHERE id = :id",
}


@dataclass
class Letters:
    doctor: User
    other_doctor: User
    patient: User
    draft_id: int
    signed_id: int


def sleep_case(patient: User) -> TriageSubmission:
    submission = TriageSubmission.from_outcome(SLEEP_CASE, evaluate(SLEEP_CASE), patient_id=patient.id)
    db.session.add(submission)
    db.session.commit()
    return submission


@pytest.fixture
def letters(app) -> Letters:
    """A patient with two sleep cases: one letter still a draft, one signed."""
    doctor, other_doctor = factories.make_user(role=Role.DOCTOR), factories.make_user(role=Role.DOCTOR)
    patient = factories.make_user()
    draft = start_letter(sleep_case(patient).id, SLEEP, doctor=doctor)
    signed = start_letter(sleep_case(patient).id, SLEEP, doctor=doctor)
    signed = sign_letter(signed.id, doctor=doctor, history="Snoring for years.", question="Sleep apnoea?")
    return Letters(doctor=doctor, other_doctor=other_doctor, patient=patient, draft_id=draft.id,
                   signed_id=signed.id)


def row(letter_id: int) -> dict | None:
    db.session.rollback()
    found = db.session.execute(text("SELECT history, signed_at, signed_text FROM referral_letter WHERE id = :id"),
                               {"id": letter_id}).mappings().first()
    return dict(found) if found else None


# --- the lock -----------------------------------------------------------------------------------

@pytest.mark.parametrize("statement", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_database_refuses_to_change_or_delete_a_signed_letter(letters, statement):
    before = row(letters.signed_id)
    with pytest.raises(DBAPIError, match=REFUSED):
        db.session.execute(text(statement), {"id": letters.signed_id})
        db.session.commit()
    db.session.rollback()
    assert row(letters.signed_id) == before


def test_a_draft_may_still_change(letters):
    db.session.rollback()
    db.session.execute(text(TAMPERING["change the history"]), {"id": letters.draft_id})
    db.session.commit()
    assert row(letters.draft_id)["history"] == "rewritten"


def test_a_draft_may_still_be_deleted(letters):
    db.session.rollback()
    db.session.execute(text(TAMPERING["delete it"]), {"id": letters.draft_id})
    db.session.commit()
    assert row(letters.draft_id) is None


def test_the_orm_refuses_to_change_or_delete_a_signed_letter(letters):
    db.session.rollback()
    signed = db.session.get(Letter, letters.signed_id)
    signed.history = "rewritten"
    with pytest.raises(ValueError, match="is signed: it cannot change"):
        db.session.flush()
    db.session.rollback()

    signed = db.session.get(Letter, letters.signed_id)
    db.session.delete(signed)
    with pytest.raises(ValueError, match="is signed: it is kept"):
        db.session.flush()
    db.session.rollback()
    assert row(letters.signed_id)["history"] == "Snoring for years."


# --- races --------------------------------------------------------------------------------------

def as_doctor(doctor_id: int) -> User:
    """The doctor, loaded in the thread's own session."""
    return db.session.get(User, doctor_id)


def opening(case_id: int, doctor_id: int):
    """A thread's job: the doctor presses "Write the referral" on the case; the letter's id."""
    return lambda: start_letter(case_id, SLEEP, doctor=as_doctor(doctor_id)).id


def signing(letter_id: int, doctor_id: int):
    """A thread's job: the doctor signs the draft with a question of their own; who signed it."""
    return lambda: sign_letter(letter_id, doctor=as_doctor(doctor_id), history="",
                               question=f"Question from doctor {doctor_id}").signed_by_id


def count(statement) -> int:
    db.session.rollback()
    return db.session.scalar(statement)


def test_two_doctors_opening_the_same_letter_at_once_make_one_draft(app, letters):
    doctors = (letters.doctor.id, letters.other_doctor.id)
    cases = [sleep_case(letters.patient).id for _ in range(ROUNDS)]
    for case_id in cases:
        opened = run_at_once(app, [opening(case_id, doctor_id) for doctor_id in doctors])
        assert all(isinstance(outcome, int) for outcome in opened), opened
        assert len(set(opened)) == 1, "both doctors are on the same draft"
        assert count(select(func.count()).select_from(Letter).where(Letter.submission_id == case_id)) == 1
        assert count(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.LETTER_DRAFTED,
            AuditEvent.detail.like(f"% for case {case_id}: %"))) == 1, "one draft started, once in the log"


def test_two_doctors_signing_the_same_draft_at_once_make_one_signature(app, letters):
    doctors = (letters.doctor.id, letters.other_doctor.id)
    for _ in range(ROUNDS):
        draft_id = start_letter(sleep_case(letters.patient).id, SLEEP, doctor=letters.doctor).id
        signed = run_at_once(app, [signing(draft_id, doctor_id) for doctor_id in doctors])
        winners = [outcome for outcome in signed if isinstance(outcome, int)]
        refused = [outcome for outcome in signed if isinstance(outcome, LetterError)]
        assert len(winners) == 1 and len(refused) == 1, signed
        assert "was signed by" in str(refused[0]) and "cannot change" in str(refused[0])

        db.session.rollback()
        letter = db.session.get(Letter, draft_id)
        assert letter.signed_by_id == winners[0]
        assert letter.question == f"Question from doctor {winners[0]}", "the signed words are the signer's"
        assert count(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.LETTER_SIGNED,
            AuditEvent.detail.like(f"letter {letter.reference} %"))) == 1
