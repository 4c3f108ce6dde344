"""A second count of failed logins, for the devices an account has logged in on before.

Failures from devices the account has never been used on (anyone who knows the email) lock only
those devices out; failures from its known devices (a browser holding the signed device cookie
of a completed login) are counted and locked apart, so an outsider cannot keep the owner out.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch_op:
        batch_op.add_column(sa.Column('known_device_failed_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('known_device_failed_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('known_device_locked_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account') as batch_op:
        batch_op.drop_column('known_device_locked_until')
        batch_op.drop_column('known_device_failed_since')
        batch_op.drop_column('known_device_failed_count')
