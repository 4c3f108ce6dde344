"""Account logic: registering a patient (by the patient, and later by the front desk) and
checking a login."""
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import Role, User, normalise_email, verify_dummy_password
from portal.database import write_transaction
from portal.extensions import db


class EmailTaken(Exception):
    """An account with this email already exists."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_patient(*, name: str, email: str, date_of_birth: date, phone: str, password: str) -> User:
    """Create a patient account; raises EmailTaken when the email (in any case) is in use."""
    try:
        with write_transaction() as session:
            if find_user_by_email(email) is not None:
                raise EmailTaken(email)
            user = User(name=name.strip(), email=normalise_email(email), date_of_birth=date_of_birth,
                        phone=phone.strip(), role=Role.PATIENT)
            user.set_password(password)
            session.add(user)
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
