"""Single-use links sent by mail: a password reset (valid an hour) and an invitation to choose a
first password (valid seven days). Made, looked up and spent here, inside the caller's transaction.

A link carries 32 random bytes; the database keeps only their SHA-256 (AccountToken.token_hash),
so a copy of it opens no account. A new link voids the older unused ones of its purpose, and a
link is spent by one conditional UPDATE (unused and unexpired), so two clicks at once cannot both
set a password. The raw token leaves through the `account_link_issued` signal alone, which the
notifications package turns into a message, so accounts never import the outbox.
"""
import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode

from blinker import Namespace
from sqlalchemy import func, select, update

from portal.auth.models import AccountToken, TokenPurpose, User
from portal.extensions import db
from portal.redirects import safe_path

LIFETIMES = {TokenPurpose.PASSWORD_RESET: timedelta(hours=1), TokenPurpose.INVITATION: timedelta(days=7),
             TokenPurpose.EMAIL_CHANGE: timedelta(days=1)}
# Where each link opens (portal/auth/password_views.py, details_views.py), after the portal's PUBLIC_URL.
LINK_PATHS = {TokenPurpose.PASSWORD_RESET: "/auth/password/reset/", TokenPurpose.INVITATION: "/auth/password/set/",
              TokenPurpose.EMAIL_CHANGE: "/account/email/confirm/"}
# The links that choose a password; an email-change link never does (it only confirms an address).
PASSWORD_PURPOSES = (TokenPurpose.PASSWORD_RESET, TokenPurpose.INVITATION)
TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters; anything much longer in an address is not one of ours.
LONGEST_TOKEN = 64

_signals = Namespace()
# Sent with the account as sender, the raw `token`, its `purpose`, `expires_at`, and for an
# invitation `registered_by` (the desk user, or None), `next_path` (where the patient was going) and
# `by_mail` (False when the link is shown to whoever asked instead: `flask create-admin`) and
# `answers_id` (the triage submission an online registration started from, unchecked: the triage
# package checks it against the browser that registered), and `link` (the stored AccountToken),
# inside the transaction that stored the token's hash: portal/notify mails the link, and triage
# ties the answers to it.
account_link_issued = _signals.signal("account-link-issued")
# Sent with the account as sender and `link` (the AccountToken just spent) inside the transaction
# that set the password through it: triage joins the answers tied to that link to the account.
account_link_used = _signals.signal("account-link-used")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(token: str, purpose: TokenPurpose, next_path: str | None = None) -> str:
    """The path a mailed link opens; `next_path` (a path on this site) is where to go after logging in."""
    next_path = safe_path(next_path)
    return LINK_PATHS[purpose] + token + (f"?{urlencode({'next': next_path})}" if next_path else "")


def issue_link(user: User, purpose: TokenPurpose, *, now: datetime, lifetime: timedelta | None = None,
               **about) -> AccountToken:
    """A new link for `user`, in the caller's transaction, valid for `lifetime` (else the purpose's
    usual one); the older unused links of the same purpose stop working. `about` goes with the
    signal (registered_by, next_path, by_mail, answers_id)."""
    void_unused_links(user.id, now=now, purpose=purpose)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    stored = AccountToken(user_id=user.id, purpose=purpose, token_hash=token_hash(token), created_at=now,
                          expires_at=now + (lifetime or LIFETIMES[purpose]), new_email=about.get("new_email"))
    db.session.add(stored)
    db.session.flush()
    account_link_issued.send(user, token=token, purpose=purpose, expires_at=stored.expires_at, link=stored, **about)
    return stored


def void_unused_links(user_id: int, *, now: datetime, purpose: TokenPurpose | None = None) -> None:
    """The account's unused, unexpired links (of `purpose`, or all) expire now."""
    conditions = [AccountToken.user_id == user_id, AccountToken.used_at.is_(None), AccountToken.expires_at > now]
    if purpose is not None:
        conditions.append(AccountToken.purpose == purpose)
    db.session.execute(update(AccountToken).where(*conditions).values(expires_at=now))


def links_issued_since(user_id: int, purpose: TokenPurpose, since: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(AccountToken).where(
        AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.created_at > since))


def usable_link(token: str, *, now: datetime, purposes=PASSWORD_PURPOSES) -> AccountToken | None:
    """The unused, unexpired link of one of `purposes` of an active account that `token` opens, or
    None (unknown, used, expired, another purpose, or the account is closed: one answer for all)."""
    if not token or len(token) > LONGEST_TOKEN:
        return None
    return db.session.scalar(select(AccountToken).join(User, User.id == AccountToken.user_id).where(
        AccountToken.token_hash == token_hash(token), AccountToken.used_at.is_(None),
        AccountToken.purpose.in_([str(p) for p in purposes]), AccountToken.expires_at > now, User.active))


def spend_link(token: str, *, now: datetime, purposes=PASSWORD_PURPOSES) -> AccountToken | None:
    """Mark the link used, if it still is usable, and return it; None when another request spent
    it first, or it is not usable. One UPDATE decides, so only one of two requests at once wins."""
    link = usable_link(token, now=now, purposes=purposes)
    if link is None:
        return None
    spent = db.session.execute(update(AccountToken).where(
        AccountToken.id == link.id, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        return None
    db.session.refresh(link)
    return link
