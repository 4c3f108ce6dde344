"""A referral letter or scan request, in versions: a draft the doctors edit, then signed and locked.

Signing stores the whole letter as it was signed (`content`, LetterContent's JSON, and its plain
text), the doctor and the moment; from then on the row never changes: the ORM refuses it here and
the database refuses it too (triggers made in migration 0013), whoever writes. A correction is a
new row, the next version of the same case's letter of that kind, pointing at the one it corrects;
the old one stays as it was signed. One row per (case, kind, version): two doctors starting the
same letter at once make one draft, not two.
"""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import DESK_ROLES, Role, User
from portal.database import UTCDateTime, utc_now
from portal.extensions import db
from portal.letters.content import LetterContent, LetterKind
from portal.triage.models import TriageSubmission

_KINDS_SQL = "('sleep_study_referral', 'vascular_ultrasound')"


class Letter(db.Model):
    __tablename__ = "referral_letter"
    __table_args__ = (
        UniqueConstraint("submission_id", "kind", "version"),  # one row per version
        CheckConstraint(f"kind IN {_KINDS_SQL}", name="kind_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Signed means all of it: who, when, and the words; a draft has none of them.
        CheckConstraint("(signed_at IS NULL AND signed_by_id IS NULL AND content IS NULL AND signed_text IS NULL) "
                        "OR (signed_at IS NOT NULL AND signed_by_id IS NOT NULL AND content IS NOT NULL "
                        "AND signed_text IS NOT NULL)", name="signed_completely"),
        CheckConstraint("(version = 1) = (corrects_id IS NULL)", name="corrections_name_their_letter"),
        Index("ix_referral_letter_patient", "patient_id", "signed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("triage_submission.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("referral_letter.id"))
    # The doctor's own words; the rest of the letter is composed from the case (letters/compose.py).
    history: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content: Mapped[dict | None] = mapped_column(JSON)  # LetterContent.to_dict(), as signed
    signed_text: Mapped[str | None] = mapped_column(Text)  # LetterContent.as_text(), as signed

    submission: Mapped[TriageSubmission] = relationship()
    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def readable_by(self, user) -> bool:
        """Who may read this letter, whichever way (its page, PDF or FHIR resource): doctors every
        letter, drafts included; the front desk signed ones; a patient their own signed ones."""
        if not getattr(user, "is_authenticated", False):
            return False
        if user.role == Role.DOCTOR:
            return True
        if not self.is_signed:
            return False
        return user.role in DESK_ROLES or (user.role == Role.PATIENT and self.patient_id == user.id)

    @property
    def letter_kind(self) -> LetterKind:
        return LetterKind(self.kind)

    @property
    def reference(self) -> str:
        """How the letter is named on every page of it and in the audit log, one name per row of
        the unique constraint: SL for a sleep referral or US for a scan request, the case's
        number, the version ("SL12-v2")."""
        prefix = "SL" if self.kind == LetterKind.SLEEP_STUDY_REFERRAL else "US"
        return f"{prefix}{self.submission_id}-v{self.version}"

    def signed_content(self) -> LetterContent:
        if self.content is None:
            raise ValueError(f"letter {self.id} is a draft: it has no signed content")
        return LetterContent.from_dict(self.content)


@event.listens_for(Letter, "before_update")
def _signed_letters_never_change(mapper, connection, letter):
    """Signing is the last update a letter gets: it was unsigned when loaded, or it is refused."""
    signed_at = inspect(letter).attrs.signed_at.history
    was_signed = any(value is not None for value in signed_at.deleted) or (
        not signed_at.has_changes() and letter.signed_at is not None)
    if was_signed:
        raise ValueError(f"letter {letter.id} is signed: it cannot change; write a correction instead")


@event.listens_for(Letter, "before_delete")
def _signed_letters_are_kept(mapper, connection, letter):
    if letter.signed_at is not None:
        raise ValueError(f"letter {letter.id} is signed: it is kept")
