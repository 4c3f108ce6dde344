"""Staff accounts: an administrator adds the clinic's people (desk, doctors, sonographers, admins),
changes their role, deactivates and reactivates them; `flask create-admin` makes the first
administrator.

A new account has no password anyone knows: it is invited by link to choose one (tokens.py), and
staff always set up an authenticator at their first login (User.needs_second_factor). Nothing is
ever deleted, so what a person did stays attributed to them. The clinic always keeps one active
administrator: the active admins' rows are locked (FOR UPDATE on PostgreSQL; SQLite's write
transaction takes the database lock) before one of them is demoted or deactivated, so two admins
demoting each other at once cannot both succeed. Every change is audited through `account_event`.

Staff who see patients (CLINICIAN_ROLES) have a clinician record too: every change of role or of
being active is announced, inside its transaction, with the `staff_role_set` signal, and the
clinicians package (portal/clinicians/records.py) opens, makes or closes the record to match, so
a deactivated clinician is no longer offered for booking in the same commit.
"""
import secrets
from datetime import timedelta

from blinker import Namespace
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth import names, tokens
from portal.auth.models import STAFF_ROLE_NAMES, STAFF_ROLES, AccountEvent, Role, TokenPurpose, User, normalise_email
from portal.auth.service import EmailTaken, account_event, find_user_by_email
from portal.database import utc_now, write_transaction
from portal.extensions import db

# The link `flask create-admin` prints is shown on a terminal, not mailed: it lives one day.
FIRST_ADMIN_LINK_LIFETIME = timedelta(hours=24)

_signals = Namespace()
# Sent with the staff account (its new role and active state already set, not yet committed) after
# it is added, its role changes, or it is deactivated or reactivated.
staff_role_set = _signals.signal("staff-role-set")


class StaffChangeRefused(Exception):
    """A change to a staff account that is not allowed; `message` says why, for the page as it is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AdminExists(StaffChangeRefused):
    """`flask create-admin` on a database that already has an active administrator."""


def staff_role(role: str) -> Role:
    """`role` as one of the staff roles, or StaffChangeRefused."""
    if role not in STAFF_ROLES:
        raise StaffChangeRefused("Please choose a role: front desk, doctor, sonographer or administrator.")
    return Role(role)


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise StaffChangeRefused("Please enter the person's name.")
    if problem := names.name_problem(name):
        raise StaffChangeRefused(problem)
    return name


def add_staff_member(*, name: str, email: str, role: str, added_by: User | None = None,
                     link_lifetime: timedelta | None = None, by_mail: bool = True) -> tuple[User, str]:
    """Make a staff account with no usable password and invite it by link to choose one; returns
    the account and the link's path. EmailTaken when the email (in any case) has an account,
    StaffChangeRefused for a refused name or a role that is not a staff role. Mailed unless
    `by_mail` is False (the link is then shown to the caller alone)."""
    name, role = _checked_name(name), staff_role(role)
    issued: list[str] = []

    def keep_token(_user, *, token: str, **_about) -> None:
        issued.append(token)

    try:
        with write_transaction() as session:
            if find_user_by_email(email) is not None:
                raise EmailTaken(email)
            user = User(name=name, email=normalise_email(email), role=role)
            user.set_password(secrets.token_urlsafe(32))  # nobody is told it: the invitation chooses one
            session.add(user)
            session.flush()
            with tokens.account_link_issued.connected_to(keep_token, sender=user):  # this account's link alone
                link = tokens.issue_link(user, TokenPurpose.INVITATION, now=utc_now(), lifetime=link_lifetime,
                                         registered_by=added_by, by_mail=by_mail)
            by = f"by {added_by.name}" if added_by is not None else "by flask create-admin"
            account_event.send(user, action=AccountEvent.STAFF_ADDED, detail=f"{STAFF_ROLE_NAMES[role]}, {by}")
            staff_role_set.send(user)
            account_event.send(user, action=AccountEvent.INVITATION_SENT,
                               detail=f"a link to choose a password, valid until "
                                      f"{link.expires_at.isoformat(timespec='seconds')}"
                                      + ("" if by_mail else "; shown on the command line, not mailed"))
    except IntegrityError as error:  # a concurrent addition won the unique index
        raise EmailTaken(email) from error
    return user, tokens.link_path(issued[0], TokenPurpose.INVITATION)


def create_first_admin(*, name: str, email: str) -> tuple[User, str]:
    """The first administrator of a new portal (`flask create-admin`): refused (AdminExists) while
    an active administrator exists; the invitation link's path is returned to be shown once, and
    works for a day."""
    if active_admins() > 0:
        raise AdminExists("This portal already has an active administrator: they add staff on the Staff "
                          "accounts page. Nothing was written.")
    return add_staff_member(name=name, email=email, role=Role.ADMIN, link_lifetime=FIRST_ADMIN_LINK_LIFETIME,
                            by_mail=False)


def active_admins(*, lock: bool = False) -> int:
    """How many active administrators there are (their rows locked for the transaction with `lock`)."""
    query = select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))
    return len(db.session.scalars(query.with_for_update() if lock else query).all())


def _staff_account(session, user_id: int) -> User:
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or user.role == Role.PATIENT:
        raise StaffChangeRefused("That is not a staff account: patients' accounts are managed from their record.")
    return user


def _keep_an_admin(user: User, what: str) -> None:
    """Refuse when `user` is the last active administrator (the admins' rows locked first)."""
    if user.role == Role.ADMIN and user.active and active_admins(lock=True) <= 1:
        raise StaffChangeRefused(f"{user.name} is the only active administrator, so they cannot be {what}: "
                                 "make someone else an administrator first.")


def change_role(user_id: int, role: str, *, by: User) -> User:
    """Move a staff member (oneself too) to another staff role; every session of theirs ends (an
    ORM event on User.role). Refused for a patient, and for the last active admin."""
    role = staff_role(role)
    with write_transaction() as session:
        user = _staff_account(session, user_id)
        if user.role == role:
            raise StaffChangeRefused(f"{user.name}'s role is already {STAFF_ROLE_NAMES[role]}.")
        if role != Role.ADMIN:
            _keep_an_admin(user, "given another role")
        old = Role(user.role)
        user.role = role
        account_event.send(user, action=AccountEvent.ROLE_CHANGED,
                           detail=f"from {STAFF_ROLE_NAMES[old]} to {STAFF_ROLE_NAMES[role]}; every session ended")
        staff_role_set.send(user)
    return user


def deactivate(user_id: int, *, by: User) -> User:
    """Close a staff account: it cannot log in, its sessions end at once and its unused links stop
    working; everything it did stays in the records under its name. Refused for one's own account
    and for the last active admin."""
    with write_transaction() as session:
        user = _staff_account(session, user_id)
        if user.id == by.id:
            raise StaffChangeRefused("You cannot deactivate your own account: ask another administrator.")
        if not user.active:
            raise StaffChangeRefused(f"{user.name}'s account is already deactivated.")
        _keep_an_admin(user, "deactivated")
        user.active = False
        user.end_sessions()
        tokens.void_unused_links(user.id, now=utc_now())
        account_event.send(user, action=AccountEvent.DEACTIVATED, detail="every session ended")
        staff_role_set.send(user)
    return user


def reactivate(user_id: int, *, by: User) -> User:
    """Open a deactivated staff account again: the person logs in with their password and
    authenticator as before (or asks for a new password by mail)."""
    with write_transaction() as session:
        user = _staff_account(session, user_id)
        if user.active:
            raise StaffChangeRefused(f"{user.name}'s account is already active.")
        user.active = True
        account_event.send(user, action=AccountEvent.REACTIVATED, detail="")
        staff_role_set.send(user)
    return user

