"""Answers tied to the registration they led to, on the server.

triage_submission.registration_link_id: the invitation link mailed to a visitor who registered
from the outcome of their anonymous answers. Choosing a password through that link joins the
answers to the new account, even when the link is opened in another browser (a phone's mail app
opens its own), so the patient is not asked the questions, or whether the answers are theirs,
again. Emptied if the link's row ever goes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('triage_submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_link_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_triage_submission_registration_link_id_account_token'),
                                    'account_token', ['registration_link_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_triage_submission_registration_link_id'), ['registration_link_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('triage_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_submission_registration_link_id'))
        batch_op.drop_constraint(batch_op.f('fk_triage_submission_registration_link_id_account_token'),
                                 type_='foreignkey')
        batch_op.drop_column('registration_link_id')
