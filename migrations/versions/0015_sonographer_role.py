"""A role of its own for sonographers, and deactivated clinicians no longer taking bookings.

A sonographer scans patients: they see their own day and each visit's reason, not the doctors'
queue or letters. The role is added to user_account's CHECK constraint. On SQLite that rebuilds
the table, which drops the patient-search triggers of migration 0006: they are made again here.
A clinician whose account was deactivated before this revision kept an active Clinician record
(and so stayed bookable): it is closed, as deactivating now does.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""
import importlib.util
from pathlib import Path

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

WITH_SONOGRAPHER = "role IN ('patient', 'desk', 'doctor', 'sonographer', 'admin')"
WITHOUT_SONOGRAPHER = "role IN ('patient', 'desk', 'doctor', 'admin')"


def _search_triggers() -> dict[str, str]:
    """Migration 0006's SQLite triggers, read from that revision so they are the same text."""
    path = Path(__file__).with_name("0006_patient_search.py")
    spec = importlib.util.spec_from_file_location("revision_0006_patient_search", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SQLITE_TRIGGERS


def _set_roles(check: str) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    triggers = _search_triggers() if sqlite else {}
    for name in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_account_role_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_user_account_role_known'), check)
    for name, body in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade():
    _set_roles(WITH_SONOGRAPHER)
    op.execute("UPDATE clinician SET active = false "
               "WHERE user_id IN (SELECT id FROM user_account WHERE NOT active)")


def downgrade():
    # A sonographer becomes a doctor again, as the demo's was before this revision.
    op.execute("UPDATE user_account SET role = 'doctor' WHERE role = 'sonographer'")
    _set_roles(WITHOUT_SONOGRAPHER)
