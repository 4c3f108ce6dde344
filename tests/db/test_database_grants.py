"""The grants the README gives the app's PostgreSQL role (deploy/postgres-grants.sql), applied to a
real database: the app can work and add to the audit log, but cannot change, delete, empty, alter
or drop it."""
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from portal.auth.models import Role
from portal.booking.models import Clinician, SlotVersion
from portal.extensions import db
from portal.letters.content import LetterKind
from portal.letters.models import Letter
from portal.letters.service import sign_letter, start_letter
from tests import factories

GRANTS = Path(__file__).resolve().parents[2] / "deploy" / "postgres-grants.sql"


@pytest.fixture
def app_role(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("database roles and grants are PostgreSQL's")
    role = f"portal_app_{uuid.uuid4().hex[:8]}"
    statements = [line for line in GRANTS.read_text().splitlines() if line and not line.startswith("--")]
    with db.engine.begin() as connection:
        connection.exec_driver_sql(f'CREATE ROLE "{role}" NOLOGIN')
        for statement in statements:
            connection.exec_driver_sql(statement.replace("portal_app", f'"{role}"'))
    yield role
    with db.engine.begin() as connection:
        connection.exec_driver_sql(f'DROP OWNED BY "{role}"')
        connection.exec_driver_sql(f'DROP ROLE "{role}"')


def as_role(role: str, statement: str):
    with db.engine.connect() as connection:
        connection.exec_driver_sql(f'SET ROLE "{role}"')
        try:
            result = connection.exec_driver_sql(statement)
            connection.commit()
            return result
        finally:
            connection.rollback()
            connection.exec_driver_sql("RESET ROLE")
            connection.commit()  # else the pool's rollback would undo the RESET and lend the role on


def test_the_app_role_adds_to_the_audit_log_and_works_with_the_clinics_tables(app, app_role):
    user = factories.make_user()
    db.session.rollback()
    as_role(app_role, f"INSERT INTO audit_event (at, action, detail, user_id) VALUES (now(), 'login.succeeded', '', "
                      f"{user.id})")
    as_role(app_role, f"UPDATE user_account SET phone = '(555) 010-9999' WHERE id = {user.id}")
    assert as_role(app_role, "SELECT count(*) FROM audit_event").scalar() == 1


def test_the_app_role_can_run_the_slot_version_triggers(app, app_role):
    """Migration 0012's triggers run as the role that writes, so the app's role must be able to add
    a clinician's slot_version row and raise it when it books (else every booking would fail)."""
    patient, visit, clinician = factories.make_user(), factories.make_type(), factories.make_clinician()
    doctor = factories.make_user(role=Role.DOCTOR)
    patient_id, visit_id, clinician_id, doctor_id = patient.id, visit.id, clinician.id, doctor.id
    versions = select(SlotVersion.version).join_from(SlotVersion, Clinician)
    before = db.session.scalar(versions.where(Clinician.id == clinician_id))
    db.session.rollback()
    as_role(app_role, "INSERT INTO appointment (patient_id, clinician_id, appointment_type_id, start_at, end_at, "
                      "status, overbook, created_at, updated_at) VALUES "
                      f"({patient_id}, {clinician_id}, {visit_id}, date_trunc('hour', now()) + interval '7 days', "
                      "date_trunc('hour', now()) + interval '7 days 30 minutes', 'booked', false, now(), now())")
    as_role(app_role, "INSERT INTO clinician (user_id, display_name, title, active) "
                      f"VALUES ({doctor_id}, 'New', '', true)")
    assert db.session.scalar(versions.where(Clinician.id == clinician_id)) == before + 1
    assert db.session.scalar(versions.where(Clinician.user_id == doctor_id)) == 0


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET detail = 'changed'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "ALTER TABLE audit_event DROP COLUMN detail",
    "DROP TABLE audit_event",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    "UPDATE alembic_version SET version_num = '0001'",
])
def test_the_app_role_cannot_change_or_remove_the_audit_log(app, app_role, statement):
    with pytest.raises(DBAPIError, match="permission denied|must be owner"):
        as_role(app_role, statement)


def test_the_app_role_edits_a_draft_letter_but_cannot_change_a_signed_one_or_turn_its_lock_off(app, app_role):
    """Migration 0013's trigger holds for the app's role too, and that role, owning no table,
    cannot switch the trigger off or drop it."""
    doctor = factories.make_user(role=Role.DOCTOR)
    draft = start_letter(factories.make_submission(factories.make_user(), route="sleep_study_referral").id,
                         LetterKind.SLEEP_STUDY_REFERRAL, doctor=doctor)
    signed = start_letter(factories.make_submission(factories.make_user(), route="sleep_study_referral").id,
                          LetterKind.SLEEP_STUDY_REFERRAL, doctor=doctor)
    sign_letter(signed.id, doctor=doctor, history="", question="Please assess.")
    draft_id, signed_id = draft.id, signed.id
    db.session.rollback()
    as_role(app_role, f"UPDATE referral_letter SET history = 'Snores.' WHERE id = {draft_id}")
    for statement in (f"UPDATE referral_letter SET history = 'rewritten' WHERE id = {signed_id}",
                      f"DELETE FROM referral_letter WHERE id = {signed_id}"):
        with pytest.raises(DBAPIError, match="referral_letter is signed"):
            as_role(app_role, statement)
    for statement in ("ALTER TABLE referral_letter DISABLE TRIGGER ALL",
                      "DROP TRIGGER referral_letter_signed_is_final ON referral_letter"):
        with pytest.raises(DBAPIError, match="must be owner"):
            as_role(app_role, statement)
    assert db.session.scalar(select(Letter.history).where(Letter.id == draft_id)) == "Snores."
    assert db.session.scalar(select(Letter.history).where(Letter.id == signed_id)) == ""
