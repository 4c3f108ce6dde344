"""Patient search for the front desk: by name, email, phone digits or date of birth, partial and
case-insensitive, using an index on both databases (portal/patients/search.py).

- user_account: an index on date_of_birth (both databases).
- PostgreSQL: the pg_trgm extension and GIN trigram indexes on lower(name), lower(email) and the
  phone's digits (regexp_replace(phone, '[^0-9]', '', 'g')); LIKE '%fragment%' uses them.
- SQLite has no trigram indexes, and an FTS5 table would not do here: its virtual and shadow
  tables are not in the models, so the migrations would no longer build exactly the models.
  Instead patient_search_term holds, for each patient, every suffix of the lower-cased name and
  of the email that starts a word, and every suffix of the phone's digits (3 digits or more);
  a fragment is then a prefix of one of them, found by a range on the primary key. Triggers on
  user_account keep it in step with every writer (the ORM, bulk inserts, a hand-run UPDATE).
  The table exists on PostgreSQL too, so both databases have the same tables, but stays empty.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {
    "ix_user_account_name_trigram": "lower(name)",
    "ix_user_account_email_trigram": "lower(email)",
    "ix_user_account_phone_digits_trigram": "regexp_replace(phone, '[^0-9]', '', 'g')",
}

NAME_BREAKS = "(' ', '-', '''', '.', ',')"
EMAIL_BREAKS = "('@', '.', '_', '-', '+')"
PHONE_PUNCTUATION = (" ", "(", ")", "-", ".", "+", "/")  # what the registration form lets through


def _positions(text: str) -> str:
    """A table of p.key = 0 .. length(text) - 1: json_each over a JSON array of that many zeros.
    (Triggers may not use WITH RECURSIVE; a fixed list 1..254 doubled the time an insert takes.)"""
    return f"json_each('[' || rtrim(replace(hex(zeroblob(length({text}))), '00', '0,'), ',') || ']') AS p"


def _word_suffixes(kind: str, text: str, breaks: str, row: str, source: str) -> str:
    """Every suffix of `text` that starts a word (at the start, or after one of `breaks`)."""
    return (f"SELECT '{kind}', substr({text}, p.key + 1), {row}.id FROM {source}{_positions(text)} "
            f"WHERE {row}.role = 'patient' AND substr({text}, p.key + 1, 1) NOT IN {breaks} "
            f"AND (p.key = 0 OR substr({text}, p.key, 1) IN {breaks})")


def _terms_of(row: str, source: str = "") -> str:
    """SELECT (kind, term, user_id) of the search terms of `row` (NEW in a trigger)."""
    digits = f"{row}.phone"
    for mark in PHONE_PUNCTUATION:
        digits = f"replace({digits}, '{mark}', '')"
    return " UNION ALL ".join([
        _word_suffixes("name", f"lower({row}.name)", NAME_BREAKS, row, source),
        _word_suffixes("email", f"lower({row}.email)", EMAIL_BREAKS, row, source),
        f"SELECT 'phone', substr({digits}, p.key + 1), {row}.id FROM {source}{_positions(digits)} "
        f"WHERE {row}.role = 'patient' AND p.key + 3 <= length({digits})",
    ])


INSERT_TERMS = "INSERT OR IGNORE INTO patient_search_term (kind, term, user_id) "
SQLITE_TRIGGERS = {
    "patient_search_term_after_insert": f"AFTER INSERT ON user_account BEGIN {INSERT_TERMS}{_terms_of('NEW')}; END",
    "patient_search_term_after_update": (
        "AFTER UPDATE OF name, email, phone, role ON user_account BEGIN "
        f"DELETE FROM patient_search_term WHERE user_id = OLD.id; {INSERT_TERMS}{_terms_of('NEW')}; END"),
    # The foreign key cascades too, but only where PRAGMA foreign_keys is on (the app turns it on).
    "patient_search_term_after_delete": (
        "AFTER DELETE ON user_account BEGIN DELETE FROM patient_search_term WHERE user_id = OLD.id; END"),
}


def upgrade():
    op.create_index('ix_user_account_date_of_birth', 'user_account', ['date_of_birth'], unique=False)

    op.create_table('patient_search_term',
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('term', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('name', 'email', 'phone')", name=op.f('ck_patient_search_term_kind_known')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_patient_search_term_user_id_user_account'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kind', 'term', 'user_id', name=op.f('pk_patient_search_term')),
    sqlite_with_rowid=False,  # the primary key is the search index itself
    )
    op.create_index('ix_patient_search_term_user_id', 'patient_search_term', ['user_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, expression in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON user_account USING gin ({expression} gin_trgm_ops) WITH (fastupdate = off)")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute(f"{INSERT_TERMS}{_terms_of('u', source='user_account AS u, ')}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX {name}")
        # pg_trgm stays: dropping an extension could break anything else that came to use it.
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index('ix_patient_search_term_user_id', table_name='patient_search_term')
    op.drop_table('patient_search_term')
    op.drop_index('ix_user_account_date_of_birth', table_name='user_account')
