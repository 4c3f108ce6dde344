"""The User account, one table for patients and staff, told apart by role."""
from datetime import date, datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, event, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE

from portal.auth.passwords import normalised
from portal.database import UTCDateTime, utc_now
from portal.extensions import db

_hasher = PasswordHasher()


def age_on(born: date | None, day: date) -> int | None:
    """Whole years on `day` of someone born on `born`, or None without a date of birth; for lists
    that read the date of birth as a column rather than load each User (the doctors' queue)."""
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Role(StrEnum):
    PATIENT = "patient"
    DESK = "desk"
    DOCTOR = "doctor"
    SONOGRAPHER = "sonographer"  # scans patients; sees their own day, not the doctors' queue or letters
    ADMIN = "admin"


class AccountEvent(StrEnum):
    """What happens to an account, as the audit log names it."""
    LOGIN = "login.succeeded"
    LOGIN_FAILED = "login.failed"  # a wrong password or second-factor code, or a locked account tried
    LOCKED = "login.locked"  # ten failures in fifteen minutes
    UNLOCKED = "login.unlocked"  # by an administrator, before the fifteen minutes were up
    LOGOUT = "login.logout"
    SESSIONS_ENDED = "login.sessions_ended"  # every session of the account, by its owner or an admin
    SECOND_FACTOR_ENROLLED = "second_factor.enrolled"
    SECOND_FACTOR_REMOVED = "second_factor.removed"
    RECOVERY_CODE_USED = "second_factor.recovery_code_used"
    RECOVERY_CODES_MADE = "second_factor.recovery_codes_made"
    PASSWORD_CHANGED = "password.changed"
    # Links by mail (portal/auth/tokens.py) and registration of an email already in use.
    PASSWORD_RESET_REQUESTED = "password.reset_requested"  # whether or not the email has an account
    PASSWORD_RESET = "password.reset"  # a new password set through a reset link
    PASSWORD_CHOSEN = "password.chosen"  # the first password, set through an invitation link
    INVITATION_SENT = "account.invitation_sent"  # a link to choose a first password
    REGISTRATION_REPEATED = "account.registration_repeated"  # someone registered an email in use again
    # Staff accounts (portal/auth/staff.py), by an administrator or `flask create-admin`.
    STAFF_ADDED = "account.staff_added"
    ROLE_CHANGED = "account.role_changed"
    DEACTIVATED = "account.deactivated"
    REACTIVATED = "account.reactivated"
    # A patient's details (name, date of birth, phone, email, preferred contact), by the desk or
    # the patient: the detail names the fields changed, never their values.
    DETAILS_CHANGED = "account.details_changed"
    EMAIL_CHANGE_REQUESTED = "account.email_change_requested"  # a link mailed to the new address
    EMAIL_CHANGED = "account.email_changed"  # the link opened: the new address is the account's


# How a patient prefers to be reached, as the desk's forms and the record name each way.
CONTACT_PREFERENCES = {"phone": "Phone call", "text": "Text message", "email": "Email", "mail": "Mail"}


# The roles of the clinic's own people, as the Staff accounts page offers them.
STAFF_ROLES = (Role.DESK, Role.DOCTOR, Role.SONOGRAPHER, Role.ADMIN)
STAFF_ROLE_NAMES = {Role.DESK: "front desk", Role.DOCTOR: "doctor", Role.SONOGRAPHER: "sonographer",
                    Role.ADMIN: "administrator"}
# Who sees patients, so has a Clinician record (hours, the visits they give) and a "My day" page.
CLINICIAN_ROLES = (Role.DOCTOR, Role.SONOGRAPHER)
# Who works the front desk (its calendar, patients and schedules): the desk, and admins too.
DESK_ROLES = (Role.DESK, Role.ADMIN)


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively: store them trimmed and lower-cased."""
    return email.strip().lower()


def _verifies(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_matches(password_hash: str | None, password: str) -> bool:
    """The password is right, however its accented letters were typed; a hash made before
    passwords were normalised (its letters as they came) still verifies as it was made."""
    stable = normalised(password)
    return _verifies(password_hash, stable) or (stable != password and _verifies(password_hash, password))


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('patient', 'desk', 'doctor', 'sonographer', 'admin')", name="role_known"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("preferred_contact IN ('phone', 'text', 'email', 'mail')", name="preferred_contact_known"),
        Index("ix_user_account_date_of_birth", "date_of_birth"),  # the desk's search by date of birth
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a caller the desk registered without one: no online account (no login, no
    # invitation, no mail) until an email is added. Unique when present (NULLs never clash).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # How a patient prefers to be reached (CONTACT_PREFERENCES), when they said.
    preferred_contact: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date | None]
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.PATIENT)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Part of every session's login id (get_id): raising it ends every session of this account
    # (logout, password change, an admin's "end sessions").
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # Failed logins (password or second factor) since failed_login_since, from devices the account
    # has not logged in on before; ten inside fifteen minutes lock those devices out until
    # locked_until. Counted here so the count holds across processes.
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_login_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The same, apart, for the account's known devices (portal/auth/devices.py) and its logged-in
    # sessions: an outsider's failures never lock these.
    known_device_failed_count: Mapped[int] = mapped_column(default=0, server_default="0")
    known_device_failed_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    known_device_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The second factor: a TOTP secret (base32), confirmed once the user has typed a code from it;
    # the last time step used, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(normalised(password))

    def check_password(self, password: str) -> bool:
        return password_matches(self.password_hash, password)

    def password_needs_rehash(self) -> bool:
        """True when argon2's parameters have changed since this hash was made."""
        return _hasher.check_needs_rehash(self.password_hash)

    def age_on(self, day: date) -> int | None:
        """Whole years on `day`, or None without a date of birth."""
        return age_on(self.date_of_birth, day)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def get_id(self) -> str:
        """The login id kept in the session: the account and its session epoch (Flask-Login's
        alternative token), so raising the epoch logs out every session at once."""
        return f"{self.id}:{self.session_epoch}"

    def end_sessions(self) -> None:
        """Every session of this account stops being logged in (the caller commits)."""
        self.session_epoch += 1

    @property
    def has_online_account(self) -> bool:
        """An account that can log in needs an email: a caller registered without one has none yet."""
        return bool(self.email)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_confirmed_at is not None

    @property
    def needs_second_factor(self) -> bool:
        """Staff always use a second factor; patients when they have turned it on."""
        return self.role != Role.PATIENT or self.has_second_factor

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


@event.listens_for(User.role, "set", active_history=True)
def _role_change_ends_sessions(user: User, new_role: str, old_role, _initiator) -> None:
    """A privilege change (ASVS 3.2.1): whatever sessions the account had end with its old role."""
    if user.id is not None and old_role not in (NO_VALUE, NEVER_SET, None) and new_role != old_role:
        user.session_epoch = (user.session_epoch or 0) + 1


class RecoveryCode(db.Model):
    """A one-time code for when the authenticator is lost; only its hash is kept."""
    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"
    INVITATION = "invitation"  # a caller the desk registered sets their own password
    EMAIL_CHANGE = "email_change"  # a patient confirms a new email from its own mailbox


class AccountToken(db.Model):
    """A single-use, expiring link sent by mail (password reset, invitation). Only the SHA-256 of
    the token is kept, so a copy of the database cannot be used to take over an account."""
    __tablename__ = "account_token"
    __table_args__ = (
        CheckConstraint("purpose IN ('password_reset', 'invitation', 'email_change')", name="purpose_known"),
        CheckConstraint("purpose <> 'email_change' OR new_email IS NOT NULL", name="email_change_has_address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An email change: the address the link was mailed to, which becomes the account's once opened.
    new_email: Mapped[str | None] = mapped_column(String(254))


class WebSession(db.Model):
    """Server-side sessions (portal/auth/sessions.py): the browser holds only the random id."""
    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def phone_digits(phone):
    """A phone number's digits alone, in SQL (PostgreSQL): "(555) 010-2001" -> "5550102001"."""
    return func.regexp_replace(phone, "[^0-9]", "", "g")


# The desk's patient search (portal/patients/search.py): substring matches on PostgreSQL
# use these pg_trgm GIN indexes (migration 0006). SQLite has no trigram indexes and searches the
# patient_search_term table instead, so these three are made on PostgreSQL only. fastupdate off:
# rows go straight into the index rather than a pending list that, until a VACUUM, made the
# planner read the whole table instead after a bulk load (bench/README.md has the figures).
_TRIGRAM = {"postgresql_using": "gin", "postgresql_with": {"fastupdate": "off"}}
Index("ix_user_account_name_trigram", func.lower(User.name).label("lower_name"),
      postgresql_ops={"lower_name": "gin_trgm_ops"}, **_TRIGRAM).ddl_if(dialect="postgresql")
Index("ix_user_account_email_trigram", func.lower(User.email).label("lower_email"),
      postgresql_ops={"lower_email": "gin_trgm_ops"}, **_TRIGRAM).ddl_if(dialect="postgresql")
Index("ix_user_account_phone_digits_trigram", phone_digits(User.phone).label("phone_digits"),
      postgresql_ops={"phone_digits": "gin_trgm_ops"}, **_TRIGRAM).ddl_if(dialect="postgresql")


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def verify_dummy_password(password: str) -> None:
    """Spend the same time as a real check of a wrong password (User.check_password: two
    verifications when normalising changed it), so a login does not reveal which emails exist."""
    password_matches(_DUMMY_HASH, password)
