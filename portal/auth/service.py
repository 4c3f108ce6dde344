"""Account logic: registering a patient (by the patient, and later by the front desk), checking
a login, locking an account that is being guessed at, and passwords chosen through links sent by
mail (a reset, an invitation; the links themselves in tokens.py).

A registration is announced with the `patient_registered` signal, and every login, logout,
failure, lockout and second-factor change with `account_event`, inside their transactions; the
audit package records them there, so accounts never import the audit log (which imports them).
"""
import secrets
from collections.abc import Collection
from datetime import date, datetime, timedelta
from enum import StrEnum

from blinker import Namespace
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from portal.auth import names, tokens, totp
from portal.auth.models import (
    CONTACT_PREFERENCES,
    AccountEvent,
    RecoveryCode,
    Role,
    TokenPurpose,
    User,
    normalise_email,
    verify_dummy_password,
)
from portal.database import utc_now, write_transaction
from portal.extensions import db

_signals = Namespace()
# Sent with the new patient as sender and `registered_by` (None when they registered themselves),
# inside the registering transaction: a receiver's writes commit or fail with the account.
patient_registered = _signals.signal("patient-registered")
# Sent with the account (or None for an unknown email) as sender, `action` (an AccountEvent) and
# `detail`, inside the transaction of the change.
account_event = _signals.signal("account-event")


# ASVS 2.2.1: ten failures inside fifteen minutes lock the account for fifteen minutes, on the
# kind of device they came from: unknown devices (anyone who knows the email) or the account's
# known ones (devices.py) and its logged-in sessions. An outsider's failures never lock the owner
# out of a device they have logged in on before; at most 2 x 10 guesses per 15 minutes are
# possible (80 an hour, within ASVS's 100), and a password reset by mail lifts both locks.
LOCKOUT_THRESHOLD = 10
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_DURATION = timedelta(minutes=15)


class EmailTaken(Exception):
    """An account with this email already exists."""


def find_user_by_email(email: str | None) -> User | None:
    if not email or not email.strip():
        return None  # accounts without an email are never found by one
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


# The details of a patient the desk may correct, with how the audit names each.
PATIENT_DETAIL_NAMES = {"name": "name", "date_of_birth": "date of birth", "phone": "phone", "email": "email",
                        "preferred_contact": "preferred contact"}


class PatientNotFound(ValueError):
    """No patient with that id."""


def update_patient_details(patient_id: int, *, by_user: User, **changes) -> list[str]:
    """The desk corrects a patient's details (PATIENT_DETAIL_NAMES): returns the names of the fields
    that changed, audited by name only (never their values). An email in use by another account
    raises EmailTaken and changes nothing. A first email for a patient without one opens the
    online account: the usual invitation to choose a password is mailed to it; a changed email
    voids the links mailed to the old one."""
    unknown = set(changes) - set(PATIENT_DETAIL_NAMES)
    if unknown:
        raise ValueError(f"not a patient detail: {', '.join(sorted(unknown))}")
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if problem := names.name_problem(changes["name"]):
            raise ValueError(problem)
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"]) if changes["email"] and changes["email"].strip() else None
    if "phone" in changes:
        changes["phone"] = (changes["phone"] or "").strip() or None
    if changes.get("preferred_contact") not in (None, "", *CONTACT_PREFERENCES):
        raise ValueError("Unknown way to be reached.")
    if "preferred_contact" in changes:
        changes["preferred_contact"] = changes["preferred_contact"] or None
    try:
        with write_transaction():
            patient = db.session.scalar(select(User).where(User.id == patient_id, User.role == Role.PATIENT)
                                        .with_for_update())
            if patient is None:
                raise PatientNotFound(patient_id)
            changed = [field for field, value in changes.items() if getattr(patient, field) != value]
            if not changed:
                return []
            new_email = changes.get("email") if "email" in changed else None
            if new_email is not None:
                other = find_user_by_email(new_email)
                if other is not None and other.id != patient.id:
                    raise EmailTaken(new_email)
            had_email = bool(patient.email)
            for field in changed:
                setattr(patient, field, changes[field])
            db.session.flush()
            now = utc_now()
            account_event.send(patient, action=AccountEvent.DETAILS_CHANGED,
                               detail="changed: " + ", ".join(PATIENT_DETAIL_NAMES[f] for f in changed))
            if "email" in changed:
                tokens.void_unused_links(patient.id, now=now)  # links mailed to the old address stop working
                if new_email is not None and not had_email:
                    link = tokens.issue_link(patient, TokenPurpose.INVITATION, now=now, registered_by=by_user)
                    account_event.send(patient, action=AccountEvent.INVITATION_SENT,
                                       detail=f"a link to choose a password, valid until {_moment(link.expires_at)}")
    except IntegrityError as error:  # a concurrent change took the email first
        raise EmailTaken(changes.get("email") or "") from error
    return changed


def request_email_change(user_id: int, new_email: str) -> bool:
    """A patient asks to change their email: a link is mailed to the new address, and the change
    happens only when it is opened (confirm_email_change). False, and nothing sent, when the
    address is the one they have already; EmailTaken when another account has it."""
    new_email = normalise_email(new_email)
    with write_transaction():
        user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
        if user.email == new_email:
            return False
        other = find_user_by_email(new_email)
        if other is not None and other.id != user.id:
            raise EmailTaken(new_email)
        link = tokens.issue_link(user, TokenPurpose.EMAIL_CHANGE, now=utc_now(), new_email=new_email)
        account_event.send(user, action=AccountEvent.EMAIL_CHANGE_REQUESTED,
                           detail=f"a link mailed to the new address, valid until {_moment(link.expires_at)}")
    return True


def confirm_email_change(token: str) -> User | None:
    """Open an email-change link: the new address becomes the account's; None when the link no
    longer works. EmailTaken when another account took the address meanwhile (the link is spent)."""
    try:
        with write_transaction():
            now = utc_now()
            link = tokens.spend_link(token, now=now, purposes=(TokenPurpose.EMAIL_CHANGE,))
            if link is None:
                return None
            user = db.session.scalar(select(User).where(User.id == link.user_id).with_for_update())
            other = find_user_by_email(link.new_email)
            if other is not None and other.id != user.id:
                raise EmailTaken(link.new_email)
            user.email = link.new_email
            tokens.void_unused_links(user.id, now=now)
            account_event.send(user, action=AccountEvent.EMAIL_CHANGED,
                               detail="the new address was confirmed from its mailbox")
    except IntegrityError as error:
        raise EmailTaken("") from error
    return user


def register_patient(*, name: str, email: str | None, date_of_birth: date, phone: str, password: str | None,
                     registered_by: User | None = None, next_path: str | None = None,
                     answers_id: int | None = None, preferred_contact: str | None = None) -> User:
    """Create a patient account, audited in the same transaction; raises EmailTaken when the
    email (in any case) is in use. Without a password (the front desk's callers, and patients
    registering online) the account gets a random secret nobody is told, and an invitation by
    mail to choose their own; `next_path` is where the patient was going, for after that, and
    `answers_id` the anonymous answers the registration started from (see register_online).
    Without an email (a caller the desk registers) there is no online account: no invitation,
    no login, until the desk adds an email (update_patient_details)."""
    if problem := names.name_problem(name.strip()):
        raise ValueError(problem)  # the forms say it first; this holds for every other caller
    email = normalise_email(email) if email and email.strip() else None
    if email is None and registered_by is None:
        raise ValueError("Registering online needs an email address.")
    if preferred_contact is not None and preferred_contact not in CONTACT_PREFERENCES:
        raise ValueError("Unknown way to be reached.")
    try:
        with write_transaction() as session:
            if email is not None and find_user_by_email(email) is not None:
                raise EmailTaken(email)
            user = User(name=name.strip(), email=email, date_of_birth=date_of_birth,
                        phone=phone.strip(), role=Role.PATIENT, preferred_contact=preferred_contact or None)
            user.set_password(password if password is not None else secrets.token_urlsafe(32))
            session.add(user)
            session.flush()
            patient_registered.send(user, registered_by=registered_by)
            if password is None and email is not None:
                now = utc_now()
                link = tokens.issue_link(user, TokenPurpose.INVITATION, now=now, registered_by=registered_by,
                                         next_path=next_path, answers_id=answers_id)
                account_event.send(user, action=AccountEvent.INVITATION_SENT,
                                   detail=f"a link to choose a password, valid until {_moment(link.expires_at)}")
    except IntegrityError as error:  # a concurrent registration won the unique index
        raise EmailTaken(email) from error
    return user


def register_online(*, name: str, email: str, date_of_birth: date, phone: str, next_path: str | None = None,
                    answers_id: int | None = None) -> None:
    """A patient registers on the site. The answer is the same whether or not the email already
    has an account (OWASP: no account enumeration), so the caller learns nothing here: a new
    account is invited by mail to choose its password; the owner of an existing one is told by
    mail that someone tried (notify listens for REGISTRATION_REPEATED), and nothing else changes.

    `answers_id` is the questionnaire the visitor registered from (its outcome page): triage ties
    those answers to the invitation link, once it has checked that this browser gave them and that
    they are nobody's yet, so the link joins them to the new account in any browser. An existing
    account gets nothing tied: typing someone's email must never add answers to their record."""
    try:
        register_patient(name=name, email=email, date_of_birth=date_of_birth, phone=phone, password=None,
                         next_path=next_path, answers_id=answers_id)
    except EmailTaken:
        verify_dummy_password(email)  # about the time a new account's password hash takes
        with write_transaction():
            owner = find_user_by_email(email)
            if owner is not None:
                account_event.send(owner, action=AccountEvent.REGISTRATION_REPEATED,
                                   detail="someone registered with this account's email again")


# More reset links than this in an hour are not sent (the page answers the same): a way to fill
# someone's mailbox, not to get back into an account.
MOST_RESET_LINKS_PER_HOUR = 5


def request_password_reset(email: str) -> None:
    """Mail a reset link to the account with this email, if there is one and it is open; the
    caller answers the same either way. Audited either way (the row names the account when there
    is one, and never the address typed when there is not)."""
    with write_transaction():
        user, now = find_user_by_email(email), utc_now()
        if user is None:
            account_event.send(None, action=AccountEvent.PASSWORD_RESET_REQUESTED, detail="no account with that email")
        elif not user.is_active:
            account_event.send(user, action=AccountEvent.PASSWORD_RESET_REQUESTED,
                               detail="not sent: the account is closed")
        elif tokens.links_issued_since(user.id, TokenPurpose.PASSWORD_RESET, now - timedelta(hours=1)) \
                >= MOST_RESET_LINKS_PER_HOUR:
            account_event.send(user, action=AccountEvent.PASSWORD_RESET_REQUESTED,
                               detail=f"not sent: {MOST_RESET_LINKS_PER_HOUR} links in the last hour already")
        else:
            link = tokens.issue_link(user, TokenPurpose.PASSWORD_RESET, now=now)
            account_event.send(user, action=AccountEvent.PASSWORD_RESET_REQUESTED,
                               detail=f"a link sent, valid until {_moment(link.expires_at)}")


def set_password_with_link(token: str, password: str) -> User | None:
    """Set the password of the account whose link this is, and spend the link; None when the link
    no longer works. Every session of the account ends, its other links stop working, and a
    lockout is lifted (the person has shown they read the account's mail). The answers tied to an
    invitation link join the account in the same transaction (account_link_used)."""
    with write_transaction():
        now = utc_now()
        link = tokens.spend_link(token, now=now)
        if link is None:
            return None
        user = db.session.scalar(select(User).where(User.id == link.user_id).with_for_update())
        user.set_password(password)
        user.end_sessions()
        _clear_failures(user, known_device=False)
        _clear_failures(user, known_device=True)
        tokens.void_unused_links(user.id, now=now)
        first = link.purpose == TokenPurpose.INVITATION
        account_event.send(user, action=AccountEvent.PASSWORD_CHOSEN if first else AccountEvent.PASSWORD_RESET,
                           detail="through an invitation link" if first
                           else "through a reset link; every session ended")
        tokens.account_link_used.send(user, link=link)  # the answers the registration started from join
    return user


class AccountLocked(Exception):
    """Too many wrong passwords: none is checked until `until` (aware, UTC)."""

    def __init__(self, until: datetime):
        super().__init__(f"locked until {until.isoformat(timespec='seconds')}")
        self.until = until


def _refuse_while_locked(user: User, what: str) -> None:
    """A locked account checks no password, whatever asks for one: the refusal is audited. Asked
    by a logged-in session, whose failures count as a known device's."""
    if is_locked(user, known_device=True):
        until, user_id = user.known_device_locked_until, user.id
        with write_transaction():
            account_event.send(db.session.get(User, user_id), action=AccountEvent.LOGIN_FAILED,
                               detail=f"{what} refused: the account is locked")
        raise AccountLocked(until)


def change_password(user_id: int, current: str, new: str) -> User | None:
    """Set a new password when `current` is right (a wrong one counts towards the lockout);
    every session of the account ends. None when the current password is wrong. While the
    account is locked no password is checked at all (AccountLocked), as at the login page: a
    stolen session must not go on guessing the password here."""
    user = db.session.get(User, user_id)
    _refuse_while_locked(user, "password change")
    if not user.check_password(current):
        record_failed_login(user_id, "wrong current password when changing it", known_device=True)
        return None
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        user.set_password(new)
        user.end_sessions()
        account_event.send(user, action=AccountEvent.PASSWORD_CHANGED, detail="by the account's owner; "
                                                                              "every session ended")
    return user


def _moment(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def is_locked(user: User, now: datetime | None = None, *, known_device: bool = False) -> bool:
    """The account is paused for this kind of device (unknown ones, or its known ones)."""
    until = user.known_device_locked_until if known_device else user.locked_until
    return until is not None and until > (now or utc_now())


def _clear_failures(user: User, *, known_device: bool) -> None:
    if known_device:
        user.known_device_failed_count, user.known_device_failed_since, user.known_device_locked_until = 0, None, None
    else:
        user.failed_login_count, user.failed_login_since, user.locked_until = 0, None, None


def authenticate(email: str, password: str, *, known_device_ids: Collection[int] = ()) -> User | None:
    """The active, unlocked account with this email and password, or None: the same answer, in
    the same time, for an unknown email, a wrong password and a locked account. A wrong password
    counts towards the lockout of its kind of device (`known_device_ids`: the accounts this
    browser has logged in to before); every failure is audited."""
    user = find_user_by_email(email)
    known_device = user is not None and user.id in known_device_ids
    if user is None or is_locked(user, known_device=known_device):
        verify_dummy_password(password)
        with write_transaction():
            if user is None:
                account_event.send(None, action=AccountEvent.LOGIN_FAILED, detail="no account with that email")
            else:
                account_event.send(user, action=AccountEvent.LOGIN_FAILED, detail="the account is locked"
                                   + (" on its known devices" if known_device else " on new devices"))
        return None
    if not user.check_password(password) or not user.is_active:
        record_failed_login(user.id, "wrong password" if user.is_active else "the account is closed",
                            known_device=known_device)
        return None
    if user.password_needs_rehash():
        with write_transaction():
            user = db.session.get(User, user.id)
            user.set_password(password)
    return user


def record_failed_login(user_id: int, detail: str, *, known_device: bool = False) -> bool:
    """Count one failure (password or second factor) against the account's unknown or known
    devices, locking them at the tenth inside the window; True when they are now locked. The row
    is locked while counting, so failures in parallel processes all count."""
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        now = utc_now()
        if known_device:
            count, since = user.known_device_failed_count, user.known_device_failed_since
        else:
            count, since = user.failed_login_count, user.failed_login_since
        if since is None or now - since > LOCKOUT_WINDOW:
            count, since = 0, now
        count += 1
        where = "a known device" if known_device else "a new device"
        account_event.send(user, action=AccountEvent.LOGIN_FAILED,
                           detail=f"{detail}, from {where} ({count} in {LOCKOUT_WINDOW.seconds // 60} minutes)")
        until = None
        if count >= LOCKOUT_THRESHOLD:
            until, count, since = now + LOCKOUT_DURATION, 0, None
            account_event.send(user, action=AccountEvent.LOCKED,
                               detail=f"locked on {'its known' if known_device else 'new'} devices until "
                                      f"{until.isoformat(timespec='seconds')}")
        if known_device:
            user.known_device_failed_count, user.known_device_failed_since = count, since
            user.known_device_locked_until = until or user.known_device_locked_until
        else:
            user.failed_login_count, user.failed_login_since = count, since
            user.locked_until = until or user.locked_until
        return is_locked(user, now, known_device=known_device)


def record_login(user: User, detail: str, *, known_device: bool = False) -> User:
    """A login completed (every factor checked): the failure count of its kind of device starts
    again, and it is audited."""
    with write_transaction() as session:
        user = session.get(User, user.id)
        if known_device:
            user.known_device_failed_count, user.known_device_failed_since = 0, None
        else:
            user.failed_login_count, user.failed_login_since = 0, None
        account_event.send(user, action=AccountEvent.LOGIN, detail=detail)
    return user


def end_sessions(user_id: int, *, action: AccountEvent, detail: str = "") -> None:
    """End every session of the account (logout, "log out everywhere", an admin's request)."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        user.end_sessions()
        account_event.send(user, action=action, detail=detail)


class IdentityNotConfirmed(Exception):
    """The password, or the code from the account's current authenticator, was wrong (counted
    towards the lockout)."""


def _confirm_identity(user_id: int, password: str, current_code: str | None, *, what: str) -> None:
    """Re-authentication before a second factor changes (ASVS 2.7 and 3.x: a session alone, left
    open or stolen, must not take over the factor): the password and, when the account has a
    second factor, a current code or an unused recovery code. Locked: AccountLocked, nothing checked."""
    user = db.session.get(User, user_id)
    _refuse_while_locked(user, what)
    if not user.check_password(password):
        record_failed_login(user_id, f"wrong password when {what}", known_device=True)
        raise IdentityNotConfirmed()
    if user.has_second_factor and check_second_factor(user_id, current_code or "", known_device=True) is None:
        raise IdentityNotConfirmed()  # check_second_factor counted the failure


def enrol_second_factor(user_id: int, secret: str, code: str) -> list[str] | None:
    """At the first login of an account without a second factor (its password given a moment
    ago): turn it on with `secret` once `code` shows the app has it; returns the ten new recovery
    codes (shown once, kept only as hashes), or None when the code is wrong. An account that
    already has one changes it only through replace_second_factor."""
    step = totp.matching_step(secret, code, after=None)
    if step is None:
        return None
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        if user.has_second_factor:
            raise ValueError("this account has a second factor: replace_second_factor asks for it")
        return _turn_on(user, secret, step, detail="authenticator app, at login")


def replace_second_factor(user_id: int, secret: str, code: str, *, password: str,
                          current_code: str | None) -> list[str] | None:
    """A logged-in person sets up an authenticator (a patient turning it on, anyone moving to a
    new phone): the password and, when there is one, a code from the current app or a recovery
    code first (IdentityNotConfirmed, AccountLocked). Every session of the account ends, so the
    caller starts a new one for this device. None when the new app's code is wrong (checked
    first, so a right current code is not spent on it)."""
    step = totp.matching_step(secret, code, after=None)
    if step is None:
        return None
    _confirm_identity(user_id, password, current_code, what="setting up a new authenticator")
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        replaced = user.has_second_factor
        user.end_sessions()
        return _turn_on(user, secret, step, detail=("a new authenticator app in place of the old one" if replaced
                                                     else "authenticator app") + "; every other session ended")


def _turn_on(user: User, secret: str, step: int, *, detail: str) -> list[str]:
    user.totp_secret, user.totp_confirmed_at, user.totp_last_step = secret, utc_now(), step
    codes = _replace_recovery_codes(user)
    account_event.send(user, action=AccountEvent.SECOND_FACTOR_ENROLLED, detail=detail)
    return codes


def make_new_recovery_codes(user_id: int, *, password: str, current_code: str) -> list[str]:
    """Ten new recovery codes in place of the old ones, after the password and a current code (or
    an unused recovery code): IdentityNotConfirmed, AccountLocked. Every session of the account
    ends, as for a new authenticator."""
    _confirm_identity(user_id, password, current_code, what="making new recovery codes")
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        user.end_sessions()
        account_event.send(user, action=AccountEvent.SESSIONS_ENDED, detail="new recovery codes made")
        return _replace_recovery_codes(user)


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash(code)) for code in codes)
    account_event.send(user, action=AccountEvent.RECOVERY_CODES_MADE, detail=f"{len(codes)} codes")
    return codes


class SecondFactorResult(StrEnum):
    CODE = "authenticator code"
    RECOVERY_CODE = "recovery code"


def check_second_factor(user_id: int, code: str, *, known_device: bool = False) -> SecondFactorResult | None:
    """Accept a current authenticator code (each time step once) or an unused recovery code
    (then spent); None otherwise, counted as a failed login towards the lockout of its kind of
    device."""
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        if user.totp_secret and not is_locked(user, known_device=known_device):
            step = totp.matching_step(user.totp_secret, code, after=user.totp_last_step)
            if step is not None:
                user.totp_last_step = step
                return SecondFactorResult.CODE
            if totp.looks_like_recovery_code(code):
                spare = session.scalar(select(RecoveryCode).where(
                    RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                    RecoveryCode.code_hash == totp.recovery_code_hash(code)))
                if spare is not None:
                    spare.used_at = utc_now()
                    account_event.send(user, action=AccountEvent.RECOVERY_CODE_USED,
                                       detail=f"{unused_recovery_codes(user.id) - 1} left")
                    return SecondFactorResult.RECOVERY_CODE
    record_failed_login(user_id, "wrong second-factor code", known_device=known_device)
    return None


def unused_recovery_codes(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))


def turn_off_second_factor(user_id: int, password: str) -> bool:
    """A patient turns their second factor off, giving their password (a wrong one counts towards
    the lockout, and none is checked while the account is locked: AccountLocked). False when the
    password is wrong."""
    user = db.session.get(User, user_id)
    _refuse_while_locked(user, "turning two-step login off")
    if not user.check_password(password):
        record_failed_login(user_id, "wrong password when turning two-step login off", known_device=True)
        return False
    remove_second_factor(user_id)
    return True


def remove_second_factor(user_id: int, *, by_admin: bool = False) -> None:
    """A patient turns the second factor off; or an admin resets a lost one, ending every session
    of the account, which sets up a new one at its next login (staff cannot be without one)."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user.role != Role.PATIENT and not by_admin:
            raise ValueError("staff accounts keep their second factor")
        user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
        if by_admin:
            user.end_sessions()
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        account_event.send(user, action=AccountEvent.SECOND_FACTOR_REMOVED,
                           detail="reset by an administrator" if by_admin else "turned off by the patient")


def unlock(user_id: int) -> None:
    """An administrator lifts a lockout before its fifteen minutes are up."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        _clear_failures(user, known_device=False)
        _clear_failures(user, known_device=True)
        account_event.send(user, action=AccountEvent.UNLOCKED, detail="by an administrator")
