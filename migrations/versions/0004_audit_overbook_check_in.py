"""Audit log (append-only, enforced by triggers); overbook and check-in on appointments.

- audit_event: who did or saw what, when, from where. Triggers on PostgreSQL and SQLite refuse
  UPDATE and DELETE (and TRUNCATE on PostgreSQL).
- appointment.overbook / overbook_reason: a deliberate double-booking by the front desk. The
  clinician rules (partial unique index, PostgreSQL exclusion constraint) skip overbook rows;
  the patient rules still apply to them.
- appointment.checked_in_at.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('booked', 'checked_in')"
ACTIVE_NOT_OVERBOOK = "status IN ('booked', 'checked_in') AND NOT overbook"


def upgrade():
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_audit_event_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['patient_id'], ['user_account.id'], name=op.f('fk_audit_event_patient_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_audit_event_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_event_patient_at', ['patient_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_event_user_at', ['user_id', 'at'], unique=False)

    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE appointment DROP CONSTRAINT ex_appointment_clinician_id_overlap")
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overbook', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('overbook_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint('overbook_has_reason', "NOT overbook OR coalesce(length(overbook_reason), 0) > 0")
        batch_op.drop_index('uq_appointment_clinician_start_active')
        batch_op.create_index('uq_appointment_clinician_start_active', ['clinician_id', 'start_at'], unique=True,
                              sqlite_where=sa.text(ACTIVE_NOT_OVERBOOK), postgresql_where=sa.text(ACTIVE_NOT_OVERBOOK))
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.alter_column('overbook', server_default=None)  # the application always sets it
    if postgresql:
        op.execute("ALTER TABLE appointment ADD CONSTRAINT ex_appointment_clinician_id_overlap "
                   "EXCLUDE USING gist (clinician_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
                   f"WHERE ({ACTIVE_NOT_OVERBOOK})")
        op.execute("""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
            END $$""")
        op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
        op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_event_no_{operation.lower()} BEFORE {operation} ON audit_event "
                       f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: {operation} refused'); END")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
        op.execute("ALTER TABLE appointment DROP CONSTRAINT ex_appointment_clinician_id_overlap")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute("DROP TRIGGER audit_event_no_delete")
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('uq_appointment_clinician_start_active')
        batch_op.create_index('uq_appointment_clinician_start_active', ['clinician_id', 'start_at'], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.drop_constraint('overbook_has_reason', type_='check')
        batch_op.drop_column('checked_in_at')
        batch_op.drop_column('overbook_reason')
        batch_op.drop_column('overbook')
    if postgresql:
        op.execute("ALTER TABLE appointment ADD CONSTRAINT ex_appointment_clinician_id_overlap "
                   "EXCLUDE USING gist (clinician_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
                   f"WHERE ({ACTIVE})")
    op.drop_table('audit_event')
