"""The doctors' queue index in the queue's own order: ix_triage_submission_queue becomes
(urgency_rank DESC, created_at, id), most urgent first, then oldest, then id, as the queue sorts.

The index it replaces, (urgency_rank, created_at), could not give that order (one column
descending, the other ascending), so PostgreSQL read and sorted every case for each page of 25
(tests/db/test_query_plans.py found the Seq Scan); now a page is the first 25 entries of the index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_triage_submission_queue', table_name='triage_submission')
    op.create_index('ix_triage_submission_queue', 'triage_submission',
                    [sa.text('urgency_rank DESC'), 'created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_triage_submission_queue', table_name='triage_submission')
    op.create_index('ix_triage_submission_queue', 'triage_submission', ['urgency_rank', 'created_at'], unique=False)
