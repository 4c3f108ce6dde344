"""Referral letters and scan requests (portal/letters): drafts, then signed and locked.

A signed letter never changes and is never removed: triggers refuse an UPDATE or DELETE of a row
whose signed_at was set, whoever writes (the portal's ORM guard is the first lock, these the
second); a correction is a new row. Re-run deploy/postgres-grants.sql after upgrading.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa



revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

REFUSED = "referral_letter is signed: a correction is a new version"


def upgrade():
    op.create_table(
        'referral_letter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('corrects_id', sa.Integer(), nullable=True),
        sa.Column('history', sa.Text(), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signed_by_id', sa.Integer(), nullable=True),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('content', sa.JSON(), nullable=True),
        sa.Column('signed_text', sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('sleep_study_referral', 'vascular_ultrasound')",
                           name=op.f('ck_referral_letter_kind_known')),
        sa.CheckConstraint('version >= 1', name=op.f('ck_referral_letter_version_positive')),
        sa.CheckConstraint(
            "(signed_at IS NULL AND signed_by_id IS NULL AND content IS NULL AND signed_text IS NULL) "
            "OR (signed_at IS NOT NULL AND signed_by_id IS NOT NULL AND content IS NOT NULL "
            "AND signed_text IS NOT NULL)", name=op.f('ck_referral_letter_signed_completely')),
        sa.CheckConstraint('(version = 1) = (corrects_id IS NULL)',
                           name=op.f('ck_referral_letter_corrections_name_their_letter')),
        sa.ForeignKeyConstraint(['author_id'], ['user_account.id'],
                                name=op.f('fk_referral_letter_author_id_user_account')),
        sa.ForeignKeyConstraint(['corrects_id'], ['referral_letter.id'],
                                name=op.f('fk_referral_letter_corrects_id_referral_letter')),
        sa.ForeignKeyConstraint(['patient_id'], ['user_account.id'],
                                name=op.f('fk_referral_letter_patient_id_user_account')),
        sa.ForeignKeyConstraint(['signed_by_id'], ['user_account.id'],
                                name=op.f('fk_referral_letter_signed_by_id_user_account')),
        sa.ForeignKeyConstraint(['submission_id'], ['triage_submission.id'],
                                name=op.f('fk_referral_letter_submission_id_triage_submission')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_letter')),
        sa.UniqueConstraint('submission_id', 'kind', 'version', name=op.f('uq_referral_letter_submission_id')),
    )
    op.create_index('ix_referral_letter_patient', 'referral_letter', ['patient_id', 'signed_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION referral_letter_signed_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.signed_at IS NOT NULL THEN
                    RAISE EXCEPTION '{REFUSED}: % refused', TG_OP;
                END IF;
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END $$""")
        op.execute("CREATE TRIGGER referral_letter_signed_is_final BEFORE UPDATE OR DELETE ON referral_letter "
                   "FOR EACH ROW EXECUTE FUNCTION referral_letter_signed_is_final()")
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER referral_letter_signed_no_{operation.lower()} BEFORE {operation} "
                       f"ON referral_letter WHEN OLD.signed_at IS NOT NULL "
                       f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: {operation} refused'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER referral_letter_signed_is_final ON referral_letter")
        op.execute("DROP FUNCTION referral_letter_signed_is_final()")
    else:
        op.execute("DROP TRIGGER referral_letter_signed_no_update")
        op.execute("DROP TRIGGER referral_letter_signed_no_delete")
    op.drop_index('ix_referral_letter_patient', table_name='referral_letter')
    op.drop_table('referral_letter')
