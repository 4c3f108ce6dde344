"""A secret calendar feed per clinician: clinician.feed_token (unique; NULL while the feed is off).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinician', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_clinician_feed_token'), ['feed_token'])


def downgrade():
    with op.batch_alter_table('clinician', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_clinician_feed_token'), type_='unique')
        batch_op.drop_column('feed_token')
