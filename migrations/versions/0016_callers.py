"""Callers the desk registers and triages on the phone.

- user_account.email becomes optional (unique when present): a caller registered without one
  has no online account until an email is added. user_account.preferred_contact: how the patient
  prefers to be reached (phone, text, email, mail).
- triage_submission.channel ('online' or 'desk_phone') and answered_by_id: answers the desk read
  out to the caller on the phone say who asked them.
- account_token gains the purpose 'email_change' and new_email, the address a confirmation link
  was mailed to; outbox_message the kind 'email_change' (that link's message).

On SQLite the batch rebuild of user_account drops the patient search's triggers with the old
table (migration 0006): they are read before and made again after.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


OUTBOX_KINDS = ("kind IN ('confirmation', 'change', 'cancellation', 'reminder', 'password_reset', "
                "'invitation', 'account_exists'{})")


def _user_account_triggers() -> list[str]:
    if op.get_bind().dialect.name != "sqlite":
        return []
    return list(op.get_bind().execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'user_account' ORDER BY name")).scalars())


def _make_again(triggers: list[str]) -> None:
    existing = set(op.get_bind().execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'user_account'")).scalars()) \
        if triggers else set()
    for sql in triggers:
        if sql not in existing:
            op.execute(sql)


def upgrade():
    triggers = _user_account_triggers()
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
        batch_op.add_column(sa.Column('preferred_contact', sa.String(length=8), nullable=True))
        batch_op.create_check_constraint('preferred_contact_known',
                                         "preferred_contact IN ('phone', 'text', 'email', 'mail')")
    _make_again(triggers)

    with op.batch_alter_table('triage_submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='online'))
        batch_op.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_triage_submission_answered_by_id_user_account'),
                                    'user_account', ['answered_by_id'], ['id'])
        batch_op.create_check_constraint('channel_known', "channel IN ('online', 'desk_phone')")
        batch_op.create_check_constraint('phone_answers_say_who_asked',
                                         "channel <> 'desk_phone' OR answered_by_id IS NOT NULL")

    with op.batch_alter_table('account_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_email', sa.String(length=254), nullable=True))
        batch_op.drop_constraint(op.f('ck_account_token_purpose_known'), type_='check')
        batch_op.create_check_constraint('purpose_known', "purpose IN ('password_reset', 'invitation', 'email_change')")
        batch_op.create_check_constraint('email_change_has_address', "purpose <> 'email_change' OR new_email IS NOT NULL")

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_kind_known'), type_='check')
        batch_op.create_check_constraint('kind_known', OUTBOX_KINDS.format(", 'email_change'"))


def downgrade():
    op.execute("DELETE FROM outbox_message WHERE kind = 'email_change'")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_kind_known'), type_='check')
        batch_op.create_check_constraint('kind_known', OUTBOX_KINDS.format(""))

    op.execute("DELETE FROM account_token WHERE purpose = 'email_change'")
    with op.batch_alter_table('account_token', schema=None) as batch_op:
        batch_op.drop_constraint('email_change_has_address', type_='check')
        batch_op.drop_constraint(op.f('ck_account_token_purpose_known'), type_='check')
        batch_op.create_check_constraint('purpose_known', "purpose IN ('password_reset', 'invitation')")
        batch_op.drop_column('new_email')

    with op.batch_alter_table('triage_submission', schema=None) as batch_op:
        batch_op.drop_constraint('phone_answers_say_who_asked', type_='check')
        batch_op.drop_constraint('channel_known', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_triage_submission_answered_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('answered_by_id')
        batch_op.drop_column('channel')

    # Accounts without an email cannot go back to a schema that needs one: they get a placeholder
    # nobody can receive mail at (example.invalid is reserved for that).
    op.execute("UPDATE user_account SET email = 'no-email-' || id || '@example.invalid' WHERE email IS NULL")
    triggers = _user_account_triggers()
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('preferred_contact_known', type_='check')
        batch_op.drop_column('preferred_contact')
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
    _make_again(triggers)
