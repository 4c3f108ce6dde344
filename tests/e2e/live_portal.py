"""The real portal for the browser suite, served on a free loopback port.

A fresh SQLite database is migrated and loaded with the demo data by the portal's own commands
(`flask db upgrade`, `flask seed-demo`), then given this suite's own people: a clinician who works
every day of the week, so the desk can book and check in a patient on the day whatever day the
suite runs (a Sunday too), and one patient per journey. Werkzeug serves the app in a thread of
the test process (development settings, no rate limits); mail goes to .eml files, which the
worker writes when a test reads its mail, as `flask send-mail` would.
"""
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from portal import create_app
from portal.auth.models import Role, User
from portal.booking.models import AppointmentType, Clinician, WorkingHours
from portal.database import utc_now
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from portal.extensions import db
from portal.notify.worker import send_due
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate
from tests.client import current_code
from tests.factories import ANSWERS_FOR, SAFE_ANSWERS

CLINIC_ZONE = "America/Chicago"
# Late in the evening in Chicago the day has no time left to book and check in a visit, so the
# suite's clinic is in Honolulu then (four or five hours earlier): the desk journey works any hour.
LATE_EVENING_ZONE, LATE_EVENING_FROM = "Pacific/Honolulu", time(20, 0)

EVERY_DAY_CLINICIAN = "Dr. Robin Dayton"
EVERY_DAY_HOURS = (time(7, 0), time(22, 0))  # on all seven days, in the clinic's zone
ROUND = 50  # messages the worker sends in one round


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    password: str = DEMO_PASSWORD
    totp_secret: str | None = None  # staff log in with a code from their authenticator app


# The demo staff, enrolled with the published authenticator secret (README).
DESK = Person("desk@example.com", "Dana Desk", totp_secret=DEMO_TOTP_SECRET)
DOCTOR = Person("doctor@example.com", "Dr. Maria Alvarez", totp_secret=DEMO_TOTP_SECRET)
ADMIN = Person("admin@example.com", "Alex Admin", totp_secret=DEMO_TOTP_SECRET)

# The suite's patients, one per journey that needs an account made beforehand.
# Routine general consultation, no visit; an email long and unbroken, which must wrap on the desk's pages.
DESK_CALLER = Person("harriet.quill.montgomeryfitzwilliamashcombe@example.com", "Harriet Quill")
EMERGENCY_PATIENT = Person("owen.marsh@example.com", "Owen Marsh")  # no answers yet
KEYBOARD_PATIENT = Person("kim.keyes@example.com", "Kim Keyes")  # no answers yet


def suite_clinic_zone(now: datetime | None = None) -> str:
    """The clinic's zone for this run: Chicago, or Honolulu late in Chicago's evening."""
    now = now or datetime.now(UTC)
    return CLINIC_ZONE if now.astimezone(ZoneInfo(CLINIC_ZONE)).time() < LATE_EVENING_FROM else LATE_EVENING_ZONE


def make_portal_app(database: Path, mail_dir: Path, zone: str):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "PORTAL_ENV": "development",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "RATELIMIT_ENABLED": False,  # every journey logs in from 127.0.0.1, many times a minute
        "MAIL_SERVER": "",  # messages are .eml files in mail_dir
        "MAIL_FILE_DIR": str(mail_dir),
        "CLINIC_TIMEZONE": zone,
        "LOG_LEVEL": "WARNING",
    })


def seed_database(database: Path, zone: str) -> None:
    """Migrate and load the demo data with the portal's own commands, then add the suite's people."""
    app = make_portal_app(database, database.parent / "mail", zone)
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["seed-demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, f"flask {' '.join(command)} failed:\n{result.output}\n{result.exception!r}"
    with app.app_context():
        _add_suite_people()
        db.session.remove()
        db.engine.dispose()


def _add_suite_people() -> None:
    def person(who: Person, role: str) -> User:
        user = User(email=who.email, name=who.name, role=role, date_of_birth=date(1961, 4, 12),
                    phone="(555) 010-7000")
        user.set_password(who.password)
        if role != Role.PATIENT:
            user.totp_secret, user.totp_confirmed_at = DEMO_TOTP_SECRET, utc_now()
        db.session.add(user)
        return user

    start, end = EVERY_DAY_HOURS
    db.session.add(Clinician(
        user=person(Person("robin.dayton@example.com", EVERY_DAY_CLINICIAN), Role.DOCTOR),
        display_name=EVERY_DAY_CLINICIAN, title="General practice, every day",
        appointment_types=list(db.session.scalars(select(AppointmentType).order_by(AppointmentType.id))),
        working_hours=[WorkingHours(weekday=day, start_time=start, end_time=end) for day in range(7)]))
    caller = person(DESK_CALLER, Role.PATIENT)
    for who in (EMERGENCY_PATIENT, KEYBOARD_PATIENT):
        person(who, Role.PATIENT)
    db.session.flush()
    answers = {**SAFE_ANSWERS, **ANSWERS_FOR[("general_consult", "routine")]}
    db.session.add(TriageSubmission.from_outcome(answers, evaluate(answers), patient_id=caller.id))
    db.session.commit()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the portal writes its own access lines
        pass


@dataclass
class LivePortal:
    """One running portal: its address, its app (for the mail and the authenticator's codes) and
    the folder its mail goes to."""

    app: object
    base_url: str
    mail_dir: Path
    zone: str
    _server: object = None
    # The journeys done on this portal: the admin's reads what the desk's and the doctor's did.
    journeys_done: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return self.base_url + path

    def totp_code(self, email: str) -> str:
        """The code the person's authenticator app shows now. Each journey logs staff in again
        within the same 30 seconds, which the portal refuses as a replayed code, so the account's
        last used step is forgotten first (tests only)."""
        with self.app.app_context():
            return current_code(email)

    def mail_to(self, email: str) -> list[EmailMessage]:
        """The worker sends what is due (to .eml files, as `flask send-mail` does); then the
        messages to `email`, oldest first."""
        with self.app.app_context():
            while len((done := send_due(limit=ROUND)).sent + done.failed + done.dead) == ROUND:
                pass
        messages = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if message["To"] == email:
                messages.append(message)
        return messages

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self.app.app_context():
            db.engine.dispose()


def start_portal(template: Path, folder: Path, zone: str) -> LivePortal:
    """A copy of the seeded database, served on a free loopback port until stop()."""
    database = folder / "portal.db"
    shutil.copy(template, database)
    mail_dir = folder / "mail"
    app = make_portal_app(database, mail_dir, zone)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    base_url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = base_url  # the links in the messages point here
    threading.Thread(target=server.serve_forever, name="portal", daemon=True).start()
    return LivePortal(app=app, base_url=base_url, mail_dir=mail_dir, zone=zone, _server=server)
