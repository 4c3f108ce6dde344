"""The patient search's own table (see portal/patients/search.py for why it exists)."""
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class PatientSearchTerm(db.Model):
    """SQLite's index for the search (see portal/patients/search.py); written only by the triggers of
    migration 0006. It exists on PostgreSQL too, empty, so both databases have the same tables."""

    __tablename__ = "patient_search_term"
    __table_args__ = (
        CheckConstraint("kind IN ('name', 'email', 'phone')", name="kind_known"),
        Index("ix_patient_search_term_user_id", "user_id"),
        {"sqlite_with_rowid": False},  # the primary key is the search index itself
    )

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    term: Mapped[str] = mapped_column(String(254), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
