"""The outbox's messages about doctors' decisions: booking open again after an emergency, a
changed kind of visit, a signed letter ready to read.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BEFORE = ("kind IN ('confirmation', 'change', 'cancellation', 'reminder', 'password_reset', 'invitation', "
          "'account_exists', 'email_change')")
AFTER = ("kind IN ('confirmation', 'change', 'cancellation', 'reminder', 'password_reset', 'invitation', "
         "'account_exists', 'email_change', 'booking_reopened', 'route_changed', 'letter_ready')")


def upgrade():
    # batch_alter_table: SQLite rebuilds the table to change a check constraint; PostgreSQL alters it.
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_message_kind_known'), AFTER)


def downgrade():
    op.execute("DELETE FROM outbox_message WHERE kind IN ('booking_reopened', 'route_changed', 'letter_ready')")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_message_kind_known'), BEFORE)
