"""Triage safety as a rule of the booking service (booking/eligibility.py).

- triage_submission.emergency_cleared_at: when a doctor recorded that an emergency was dealt
  with; until then booking stays closed for the patient. Emergencies a doctor had already marked
  reviewed count as dealt with at the time of that review (a doctor saw them).
- triage_submission.route_provisional: the questionnaire stopped at the safety step, so the
  route is a placeholder until a doctor's review sets it. True for early stops not yet reviewed.
- triage_review.action gains 'emergency_cleared', which needs a note (and the column is widened
  to hold it).
- appointment.overrides / override_reason: the triage rules staff set aside for one visit
  (a later time for an urgent case, another route, a second visit of a type) and why.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('booked', 'checked_in')"
ACTIVE_NOT_OVERBOOK = "status IN ('booked', 'checked_in') AND NOT overbook"


def _recreate_appointment_indexes(batch_op):
    """SQLite rebuilds the table in batch mode: make the partial unique indexes again as written."""
    batch_op.drop_index('uq_appointment_clinician_start_active')
    batch_op.create_index('uq_appointment_clinician_start_active', ['clinician_id', 'start_at'], unique=True,
                          sqlite_where=sa.text(ACTIVE_NOT_OVERBOOK), postgresql_where=sa.text(ACTIVE_NOT_OVERBOOK))
    batch_op.drop_index('uq_appointment_patient_start_active')
    batch_op.create_index('uq_appointment_patient_start_active', ['patient_id', 'start_at'], unique=True,
                          sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def upgrade():
    with op.batch_alter_table('triage_submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route_provisional', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('emergency_cleared_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE triage_submission SET route_provisional = (NOT complete AND review_state = 'unreviewed')")
    op.execute("""
        UPDATE triage_submission SET emergency_cleared_at = (
            SELECT max(triage_review.created_at) FROM triage_review
            WHERE triage_review.submission_id = triage_submission.id)
        WHERE urgency = 'emergency' AND review_state = 'reviewed'""")
    with op.batch_alter_table('triage_submission', schema=None) as batch_op:
        batch_op.alter_column('route_provisional', server_default=None)  # the application always sets it
        batch_op.create_check_constraint('only_emergencies_cleared',
                                         "emergency_cleared_at IS NULL OR urgency = 'emergency'")

    with op.batch_alter_table('triage_review', schema=None) as batch_op:
        # 'emergency_cleared' is 17 characters: PostgreSQL holds varchar to its length, SQLite does not.
        batch_op.alter_column('action', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
        batch_op.drop_constraint(op.f('ck_triage_review_action_known'), type_='check')
        batch_op.create_check_constraint('action_known', "action IN ('reviewed', 'route_changed', 'emergency_cleared')")
        batch_op.create_check_constraint('emergency_cleared_noted', "action <> 'emergency_cleared' OR length(reason) > 0")

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overrides', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('override_reason', sa.String(length=300), nullable=True))
        batch_op.create_check_constraint('override_has_reason',
                                         "overrides IS NULL OR coalesce(length(override_reason), 0) > 0")
        if op.get_bind().dialect.name == "sqlite":
            _recreate_appointment_indexes(batch_op)


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_constraint('override_has_reason', type_='check')
        batch_op.drop_column('override_reason')
        batch_op.drop_column('overrides')
        if op.get_bind().dialect.name == "sqlite":
            _recreate_appointment_indexes(batch_op)
    op.execute("DELETE FROM triage_review WHERE action = 'emergency_cleared'")
    with op.batch_alter_table('triage_review', schema=None) as batch_op:
        batch_op.drop_constraint('emergency_cleared_noted', type_='check')
        batch_op.drop_constraint(op.f('ck_triage_review_action_known'), type_='check')
        batch_op.create_check_constraint('action_known', "action IN ('reviewed', 'route_changed')")
        batch_op.alter_column('action', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
    with op.batch_alter_table('triage_submission', schema=None) as batch_op:
        batch_op.drop_constraint('only_emergencies_cleared', type_='check')
        batch_op.drop_column('emergency_cleared_at')
        batch_op.drop_column('route_provisional')
