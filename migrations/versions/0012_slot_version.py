"""A version number per clinician's free times: slot_version, raised by triggers whenever one of
their appointments, time off or working hours is added, changed (in what makes it busy time) or
removed, whoever writes it (the booking service, the desk, a script, psql).

The slot pages keep what they computed for a clinician's week and use it again while the number
is the same (portal/booking/slot_cache.py). The number lives in a table of its own rather than on
the clinician row, which the booking service locks first: a trigger that waited for that lock
while a booking waited for the trigger's appointment row would deadlock.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# The tables whose rows make a clinician's busy time and hours, and the columns that matter.
WATCHED = {
    "appointment": "clinician_id, start_at, end_at, status",
    "time_off": "clinician_id, start_at, end_at",
    "working_hours": "clinician_id, effective_from, weekday, start_time, end_time",
}


def upgrade():
    op.create_table(
        'slot_version',
        sa.Column('clinician_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['clinician_id'], ['clinician.id'], name=op.f('fk_slot_version_clinician_id_clinician'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('clinician_id', name=op.f('pk_slot_version')),
    )
    op.execute("INSERT INTO slot_version (clinician_id, version) SELECT id, 0 FROM clinician")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION slot_version_for_new_clinician() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO slot_version (clinician_id) VALUES (NEW.id);
                RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER clinician_slot_version AFTER INSERT ON clinician "
                   "FOR EACH ROW EXECUTE FUNCTION slot_version_for_new_clinician()")
        op.execute("""
            CREATE FUNCTION raise_slot_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    UPDATE slot_version SET version = version + 1 WHERE clinician_id = OLD.clinician_id;
                END IF;
                IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.clinician_id <> OLD.clinician_id) THEN
                    UPDATE slot_version SET version = version + 1 WHERE clinician_id = NEW.clinician_id;
                END IF;
                RETURN NULL;
            END $$""")
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_slot_version AFTER INSERT OR DELETE OR UPDATE OF {columns} "
                       f"ON {table} FOR EACH ROW EXECUTE FUNCTION raise_slot_version()")
    else:
        op.execute("CREATE TRIGGER clinician_slot_version AFTER INSERT ON clinician "
                   "BEGIN INSERT INTO slot_version (clinician_id) VALUES (NEW.id); END")
        raise_new = "UPDATE slot_version SET version = version + 1 WHERE clinician_id = NEW.clinician_id;"
        raise_old = "UPDATE slot_version SET version = version + 1 WHERE clinician_id = OLD.clinician_id;"
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_slot_version_insert AFTER INSERT ON {table} BEGIN {raise_new} END")
            op.execute(f"CREATE TRIGGER {table}_slot_version_delete AFTER DELETE ON {table} BEGIN {raise_old} END")
            op.execute(f"CREATE TRIGGER {table}_slot_version_update AFTER UPDATE OF {columns} ON {table} "
                       f"BEGIN {raise_old} UPDATE slot_version SET version = version + 1 "
                       f"WHERE clinician_id = NEW.clinician_id AND NEW.clinician_id <> OLD.clinician_id; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_slot_version ON {table}")
        op.execute("DROP TRIGGER clinician_slot_version ON clinician")
        op.execute("DROP FUNCTION raise_slot_version()")
        op.execute("DROP FUNCTION slot_version_for_new_clinician()")
    else:
        for table in WATCHED:
            for operation in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_slot_version_{operation}")
        op.execute("DROP TRIGGER clinician_slot_version")
    op.drop_table('slot_version')
