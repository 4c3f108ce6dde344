"""The User account, one table for patients and staff, told apart by role."""
from datetime import date, datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import UTCDateTime, utc_now
from portal.extensions import db

_hasher = PasswordHasher()


class Role(StrEnum):
    PATIENT = "patient"
    DESK = "desk"
    DOCTOR = "doctor"
    ADMIN = "admin"


# Who works the front desk (its calendar, patients and schedules): the desk, and admins too.
DESK_ROLES = (Role.DESK, Role.ADMIN)


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively: store them trimmed and lower-cased."""
    return email.strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('patient', 'desk', 'doctor', 'admin')", name="role_known"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        Index("ix_user_account_date_of_birth", "date_of_birth"),  # the desk's search by date of birth
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date | None]
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.PATIENT)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def password_needs_rehash(self) -> bool:
        """True when argon2's parameters have changed since this hash was made."""
        return _hasher.check_needs_rehash(self.password_hash)

    def age_on(self, day: date) -> int | None:
        """Whole years on `day`, or None without a date of birth."""
        born = self.date_of_birth
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


def phone_digits(phone):
    """A phone number's digits alone, in SQL (PostgreSQL): "(555) 010-2001" -> "5550102001"."""
    return func.regexp_replace(phone, "[^0-9]", "", "g")


# The desk's patient search (portal/patients/search.py): substring matches on PostgreSQL
# use these pg_trgm GIN indexes (migration 0006). SQLite has no trigram indexes and searches the
# patient_search_term table instead, so these three are made on PostgreSQL only. fastupdate off:
# rows go straight into the index rather than a pending list that, until a VACUUM, made the
# planner read the whole table instead (28 ms instead of 1 ms after a bulk load).
_TRIGRAM = {"postgresql_using": "gin", "postgresql_with": {"fastupdate": "off"}}
Index("ix_user_account_name_trigram", func.lower(User.name).label("lower_name"),
      postgresql_ops={"lower_name": "gin_trgm_ops"}, **_TRIGRAM).ddl_if(dialect="postgresql")
Index("ix_user_account_email_trigram", func.lower(User.email).label("lower_email"),
      postgresql_ops={"lower_email": "gin_trgm_ops"}, **_TRIGRAM).ddl_if(dialect="postgresql")
Index("ix_user_account_phone_digits_trigram", phone_digits(User.phone).label("phone_digits"),
      postgresql_ops={"phone_digits": "gin_trgm_ops"}, **_TRIGRAM).ddl_if(dialect="postgresql")


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def verify_dummy_password(password: str) -> None:
    """Spend the same time as a real check, so a login does not reveal which emails exist."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass
