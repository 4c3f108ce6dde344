"""Server-side sessions that end (OWASP ASVS V3).

The browser holds only a random session id (Flask-Session); the data stays on the server, in the
database's web_session table by default, in Redis when REDIS_URL is set. A session ends:
- at login and logout, and at each step up (password, then second factor), where it is emptied and
  given a new id, so an id known before never becomes a logged-in one (session fixation);
- after 30 idle minutes for staff, 60 for patients and visitors, and 12 hours after login at most;
- everywhere at once when the account's session epoch rises (User.get_id carries it): logout,
  a password change, a role change and an admin's "end sessions" do that.

A visitor's session that holds nothing of theirs, only the token of a form they were shown, is
kept in no row at all: that token rides in a signed cookie of its own (portal_visitor), so
reading the login page thirty times writes nothing, and the first answer, flash or login gives
the session its row (and the token moves into it).
"""
import time
from datetime import UTC, datetime, timedelta

from flask import Flask, Request, Response, current_app, flash, request, session
from flask_login import login_user, logout_user
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.auth.models import Role, WebSession
from portal.database import WRITE_OPTION
from portal.extensions import db

STAFF_IDLE = timedelta(minutes=30)
PATIENT_IDLE = timedelta(minutes=60)  # also a visitor's unfinished triage
ABSOLUTE_LIFETIME = timedelta(hours=12)
# How often a busy session's last-seen time is written back: once a minute is precise enough for
# a 30-minute rule and spares a write per request.
SEEN_RESOLUTION = 60

SEEN, BORN, STAFF = "_seen", "_born", "_staff"


_SESSION_DATA = select(WebSession.data).where(WebSession.session_id == bindparam("session_id"),
                                             WebSession.expiry > bindparam("now"))


# Flask-WTF keeps a form's raw token in the session under this key.
FORM_TOKEN = "csrf_token"  # nosec B105  # a session key's name, not a secret
VISITOR_COOKIE = "portal_visitor"
# A session with nothing but these holds nothing of the visitor's: it gets no row.
# (Flask-Login marks any session whose "_id" it did not make "_fresh": False.)
NOTHING_OF_THEIRS = frozenset({FORM_TOKEN, SEEN, "_fresh"})


class RowsOnlyForSomething:
    """Mixed into a Flask-Session interface: a session holding only a form's token is saved as a
    signed cookie, not in the store, and read back from it when the store has nothing."""

    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        session = super().open_session(app, request)
        if not session and (token := _visitor_token(app, request.cookies.get(VISITOR_COOKIE))):
            session[FORM_TOKEN] = token
            session.modified = False
        return session

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if not session.keys() <= NOTHING_OF_THEIRS:
            return super().save_session(app, session, response)
        token = session.get(FORM_TOKEN)
        if token and _visitor_token(app, request.cookies.get(VISITOR_COOKIE)) != token:
            response.set_cookie(VISITOR_COOKIE, _visitor_serializer(app).dumps(token), httponly=True,
                                secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app),
                                path=self.get_cookie_path(app))
            response.vary.add("Cookie")
        if request.cookies.get(self.get_cookie_name(app)):  # it had a row: what it held is gone now
            self._delete_session(self._get_store_id(session.sid))
            response.delete_cookie(self.get_cookie_name(app), path=self.get_cookie_path(app),
                                   domain=self.get_cookie_domain(app))


def _visitor_serializer(app: Flask) -> URLSafeSerializer:
    return URLSafeSerializer(app.secret_key, salt="portal-visitor-form-token")


def _visitor_token(app: Flask, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        token = _visitor_serializer(app).loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


class RedisSessions(RowsOnlyForSomething, RedisSessionInterface):
    """Flask-Session's Redis sessions (REDIS_URL), with no key for a session holding nothing."""


class DatabaseSessionInterface(RowsOnlyForSomething, ServerSideSessionInterface):
    """Flask-Session on our own web_session table, which migration 0010 makes (Flask-Session's
    SQLAlchemy backend would add its own model and create its table at start-up, outside the
    migrations). Writes use a connection of their own, so saving a session never commits or rolls
    back a request's own transaction; the read at the start of a request is part of it."""

    ttl = False  # expired rows are deleted by `flask session_cleanup` (Flask-Session's command)

    def __init__(self, app: Flask):
        super().__init__(app, key_prefix="", permanent=False)

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        # Read in the request's own transaction (a read: it commits nothing), which saves a second
        # connection per request. When the database is down this raises, and the clinic's error
        # page (portal/error_pages.py, which needs no session) answers 503: better than treating
        # the visitor as logged out.
        data = db.session.connection().scalar(_SESSION_DATA, {"session_id": store_id,
                                                             "now": datetime.now(UTC)})
        return None if data is None else self.serializer.decode(data)

    def _delete_session(self, store_id: str) -> None:
        with _writing() as connection:
            connection.execute(delete(WebSession).where(WebSession.session_id == store_id))

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        values = {"data": self.serializer.encode(session),
                  "expiry": datetime.now(UTC) + session_lifetime}
        with _writing() as connection:
            changed = connection.execute(update(WebSession).where(WebSession.session_id == store_id).values(values))
            if changed.rowcount == 0:
                try:
                    with connection.begin_nested():
                        connection.execute(insert(WebSession).values(session_id=store_id, **values))
                except IntegrityError:  # two first requests of one browser at once: the other made the row
                    connection.execute(update(WebSession).where(WebSession.session_id == store_id).values(values))

    def _delete_expired_sessions(self) -> None:
        with _writing() as connection:
            connection.execute(delete(WebSession).where(WebSession.expiry <= datetime.now(UTC)))


def _writing():
    return db.engine.execution_options(**{WRITE_OPTION: True}).begin()


def install(app: Flask) -> None:
    """Server-side sessions for `app`, and the idle and absolute limits checked on every request."""
    app.config["PERMANENT_SESSION_LIFETIME"] = ABSOLUTE_LIFETIME  # how long the server keeps an unused one
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False  # written when changed (and once a minute, below)
    if redis_url := app.config.get("REDIS_URL"):
        from redis import Redis
        app.session_interface = RedisSessions(app, client=Redis.from_url(redis_url),
                                                      key_prefix="portal:session:", permanent=False)
    else:
        app.session_interface = DatabaseSessionInterface(app)
    app.before_request(_end_stale_session)


def _end_stale_session() -> None:
    """Log out a session idle too long or too old, then note that this one was seen now."""
    now = time.time()
    seen, born = session.get(SEEN), session.get(BORN)
    logged_in = "_user_id" in session
    idle = STAFF_IDLE if session.get(STAFF) else PATIENT_IDLE
    if seen is not None and now - seen > idle.total_seconds():
        renew()
        if logged_in:
            flash(f"For your privacy you were logged out after {int(idle.total_seconds() // 60)} minutes without "
                  "activity. Please log in again.", "info")
    elif logged_in and born is not None and now - born > ABSOLUTE_LIFETIME.total_seconds():
        renew()
        flash("For your privacy you were logged out after 12 hours. Please log in again.", "info")
    # Only a session with something in it is timed: a visitor who has not started anything gets
    # no session row at all.
    if session and (session.get(SEEN) is None or now - session[SEEN] > SEEN_RESOLUTION):
        session[SEEN] = now


# What a visitor's session carries into the account they log in to: the questionnaire they are
# filling in, and answers they sent before logging in (joined to the record only when they
# confirm on /triage/claim). Nothing else survives a login.
CARRIED_INTO_LOGIN = ("triage_draft", "triage_submissions")  # triage/browser.py's keys (a test holds them equal)


def renew(*, keep: tuple[str, ...] = ()) -> None:
    """Log out, empty the session and give it a new id, forgetting the old one on the server;
    `keep` names keys to carry over."""
    kept = {key: session[key] for key in keep if key in session}
    if "_user_id" in session:
        logout_user()  # its signal lets the triage forget the draft while the session still names it
    session.clear()
    session.update(kept)
    renew_id()


def renew_id() -> None:
    """The same session under a new id (a privilege change), the old id forgotten on the server."""
    interface = current_app.session_interface
    if isinstance(interface, ServerSideSessionInterface) and isinstance(session, ServerSideSession):
        # Flask-Session's own regenerate() leaves an empty session's id alone; this always replaces it.
        interface._delete_session(interface._get_store_id(session.sid))
        session.sid = interface._generate_sid(interface.sid_length)
    session.modified = True


def start_logged_in_session(user) -> None:
    """After the last factor: a new session for `user`, with the visitor's triage carried over."""
    renew(keep=CARRIED_INTO_LOGIN)
    login_user(user)
    now = time.time()
    session.update({SEEN: now, BORN: now, STAFF: user.role != Role.PATIENT})
