"""Account logic: registering a patient (by the patient, and later by the front desk) and
checking a login.

A registration is announced with the `patient_registered` signal inside its transaction; the
audit package records it there, so accounts never import the audit log (which imports them).
"""
import secrets
from datetime import date

from blinker import Namespace
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import Role, User, normalise_email, verify_dummy_password
from portal.database import write_transaction
from portal.extensions import db


_signals = Namespace()
# Sent with the new patient as sender and `registered_by` (None when they registered themselves),
# inside the registering transaction: a receiver's writes commit or fail with the account.
patient_registered = _signals.signal("patient-registered")


class EmailTaken(Exception):
    """An account with this email already exists."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_patient(*, name: str, email: str, date_of_birth: date, phone: str, password: str | None,
                     registered_by: User | None = None) -> User:
    """Create a patient account, audited in the same transaction; raises EmailTaken when the
    email (in any case) is in use. The front desk registers callers without a password: the
    account gets a random secret nobody is told, until the patient sets their own."""
    try:
        with write_transaction() as session:
            if find_user_by_email(email) is not None:
                raise EmailTaken(email)
            user = User(name=name.strip(), email=normalise_email(email), date_of_birth=date_of_birth,
                        phone=phone.strip(), role=Role.PATIENT)
            user.set_password(password if password is not None else secrets.token_urlsafe(32))
            session.add(user)
            session.flush()
            patient_registered.send(user, registered_by=registered_by)
    except IntegrityError as error:  # a concurrent registration won the unique index
        raise EmailTaken(email) from error
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active account with this email and password, or None (in the same time either way)."""
    user = find_user_by_email(email)
    if user is None:
        verify_dummy_password(password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    if user.password_needs_rehash():
        with write_transaction():
            user = db.session.get(User, user.id)
            user.set_password(password)
    return user
