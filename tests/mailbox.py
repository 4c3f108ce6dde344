"""Reading the mail the portal queued, as the person it is for would: the outbox rows sent to an
address, and the link in one (the path and query a click would open on the test client)."""
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from portal.extensions import db
from portal.notify.models import OutboxMessage

PORTAL_LINK = re.compile(r"https?://[^\s\"<>]+")


def messages_to(email: str, kind: str | None = None) -> list[OutboxMessage]:
    """What was queued for `email` (of `kind`), oldest first."""
    db.session.rollback()  # end the test's read snapshot: see what the app committed
    query = select(OutboxMessage).where(OutboxMessage.to_address == email)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def links_in(message: OutboxMessage) -> list[str]:
    """Every link of the plain-text part, as paths (with their query) on this site."""
    found = []
    for url in PORTAL_LINK.findall(message.text_body):
        parts = urlsplit(url)
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def password_link(email: str, kind: str) -> str:
    """The link to choose a password in the newest message of `kind` to `email`."""
    messages = messages_to(email, kind)
    assert messages, f"no {kind} message to {email}"
    [link] = [link for link in links_in(messages[-1]) if link.startswith("/auth/password/") and
              not link.startswith("/auth/password/forgot")]
    return link
