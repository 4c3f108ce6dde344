"""An index on appointment.rescheduled_from_id: every list of visits loads where each moved visit
went (Appointment.moved_to), and without it PostgreSQL read the whole appointment table for a
patient's page (tests/db/test_query_plans.py found the Seq Scan).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_appointment_rescheduled_from', 'appointment', ['rescheduled_from_id'], unique=False)


def downgrade():
    op.drop_index('ix_appointment_rescheduled_from', table_name='appointment')
