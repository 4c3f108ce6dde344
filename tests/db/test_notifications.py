"""Appointment messages, end to end, on both databases (portal/notify).

What a clinic checks: every booking, move and cancellation that commits leaves its messages in
the outbox, and one that fails leaves none; the worker delivers each message once, to a real SMTP
server (aiosmtpd on a loopback port) or as .eml files, with a calendar invitation that calendar
programs keep as one event; a mail server that is down delays messages without losing them, and
one that stays down ends with the message kept as dead; reminders come 24 real hours before the
visit across a change of the clocks; messages never carry triage answers; the audit log names
each message but never what it says. Workers running at once use real threads, each in its own
app context, as separate processes would.
"""
import email.policy
import re
import socket
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.parser import BytesParser

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.booking.models import Appointment
from portal.booking.service import (
    SlotUnavailable,
    TriageNotBookable,
    appointment_booked,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from portal.database import utc_now
from portal.extensions import db
from portal.notify.models import OutboxMessage
from portal.notify.worker import claim_due, send_due
from portal.triage.rules import CLINICIAN_RULE_TEXT, FLAG_TEXT, RULE_TEXT
from portal.triage.vocabulary import Route
from tests import clinic_dates, factories
from tests.client import logged_in
from tests.conftest import make_app
from tests.db.conftest import THREADS
from tests.db.threads import run_at_once
from tests.factories import CHICAGO, local

# Open around the clock, every day, so any test's time (a Sunday of a clock change too) is a slot.
AROUND_THE_CLOCK = {weekday: [(time(0), time(23, 30))] for weekday in range(7)}
REMINDER_BEFORE = timedelta(hours=24)


def day_before(start: datetime) -> datetime:
    """24 real hours before `start`. Done in UTC: Python subtracts wall-clock time from a
    datetime in a zone with clock changes (10:00 minus 24 hours is 10:00 the day before)."""
    return start.astimezone(UTC) - REMINDER_BEFORE


# --- A real mail server --------------------------------------------------------------------

def free_port() -> int:
    """A loopback port nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it is given."""

    def __init__(self, port: int):
        self.port = port
        self.envelopes = []
        self._controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def start(self) -> "Inbox":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        """What arrived, in the order it arrived."""
        return [parse_email(envelope.content) for envelope in self.envelopes]


# --- Fixtures ------------------------------------------------------------------------------

@pytest.fixture
def make_portal(database_url, tmp_path):
    """Make the test's app with the settings it names, in an app context for the test (as
    tests/conftest.py's `app`). Mail goes to .eml files under tmp_path/mail unless told otherwise;
    the pool lets the worker threads hold connections at once."""
    contexts = []

    def make(**config):
        assert not contexts, "one app per test"
        app = make_app(database_url, **{
            "MAIL_SERVER": "", "MAIL_FILE_DIR": str(tmp_path / "mail"),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 5, "pool_timeout": 60},
            **config})
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    yield make
    for context in contexts:
        db.session.remove()
        db.engine.dispose()
        context.pop()


@pytest.fixture
def app(make_portal):
    """The portal writing its mail as .eml files (no MAIL_SERVER)."""
    return make_portal()


@pytest.fixture
def inbox():
    inbox = Inbox(free_port()).start()
    yield inbox
    inbox.stop()


@pytest.fixture
def smtp_app(make_portal, inbox):
    """The portal sending its mail to `inbox` over SMTP."""
    return make_portal(MAIL_SERVER="127.0.0.1", MAIL_PORT=inbox.port, MAIL_USE_TLS=False)


# --- A small clinic and what it does -------------------------------------------------------

@dataclass(frozen=True)
class Practice:
    """Plain ids, not ORM objects: the worker ends the session, and ids outlive it."""

    patient_id: int
    patient_email: str
    clinician_id: int
    appointment_type_id: int
    visit: str  # the visit type's name, as messages say it
    day: date  # a day next week


def open_practice(route: str = Route.GENERAL_CONSULT) -> Practice:
    """A patient, a 30-minute visit type and a clinician working around the clock."""
    appointment_type = factories.make_type(route, minutes=30)
    clinician = factories.make_clinician(hours=AROUND_THE_CLOCK)
    patient = factories.make_user()
    return Practice(patient_id=patient.id, patient_email=patient.email, clinician_id=clinician.id,
                    appointment_type_id=appointment_type.id, visit=appointment_type.name.lower(),
                    day=factories.future_weekday())


def book(practice: Practice, start: datetime, *, patient_id: int | None = None, now: datetime | None = None) -> int:
    """Book as the patient pages do: the slot's start travels in UTC (booking/forms.py)."""
    return book_appointment(patient_id=patient_id or practice.patient_id, clinician_id=practice.clinician_id,
                            appointment_type_id=practice.appointment_type_id, start=start.astimezone(UTC),
                            now=now).id


def move(practice: Practice, appointment_id: int, new_start: datetime, *, now: datetime | None = None) -> int:
    patient = db.session.get(User, practice.patient_id)
    return reschedule_appointment(appointment_id, by_user=patient, new_start=new_start.astimezone(UTC),
                                  now=now).id


def squeeze_in(practice: Practice, start: datetime, *, now: datetime | None = None) -> int:
    """Book as the desk's overbook form does: a clinic wall-clock time (desk/patient_views.py
    `_local_start` gives datetime.combine(day, time, clinic zone))."""
    desk = factories.make_user(role=Role.DESK)
    return book_appointment(patient_id=practice.patient_id, clinician_id=practice.clinician_id,
                            appointment_type_id=practice.appointment_type_id, start=start, booked_by_id=desk.id,
                            overbook_reason="Squeezed in at the patient's request",
                            override_reason="Doctor's follow-up (no triage needed)", now=now).id


def cancel(practice: Practice, appointment_id: int, *, now: datetime | None = None) -> None:
    patient = db.session.get(User, practice.patient_id)
    cancel_appointment(appointment_id, by_user=patient, reason="Cannot come that day", now=now)


def appointment(appointment_id: int) -> Appointment:
    db.session.rollback()  # a fresh read
    return db.session.get(Appointment, appointment_id)


def outbox(**filters) -> list[OutboxMessage]:
    """The outbox rows matching `filters`, oldest first, read afresh."""
    db.session.rollback()  # a fresh read: the worker and other threads committed after our snapshot
    return db.session.scalars(select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)).all()


def by_kind(rows: list[OutboxMessage]) -> dict[str, OutboxMessage]:
    assert len({row.kind for row in rows}) == len(rows), [row.kind for row in rows]
    return {row.kind: row for row in rows}


def audit_details(action: str | None = None) -> list[str]:
    db.session.rollback()
    query = select(AuditEvent.detail)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query).all()


# --- Reading the mail ----------------------------------------------------------------------

def parse_email(raw: bytes) -> EmailMessage:
    return BytesParser(policy=email.policy.default).parsebytes(raw)


def leaf_types(message: EmailMessage) -> list[str]:
    """The content types of the message's parts, as a mail program lists them."""
    return [part.get_content_type() for part in message.walk() if not part.is_multipart()]


def readable_text(message: EmailMessage) -> str:
    """Everything a patient can read: the subject and every text part, decoded."""
    texts = [str(message["Subject"])]
    texts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join(texts)


def invitation(message: EmailMessage) -> tuple[str, icalendar.Event]:
    """The calendar attachment, parsed back: its METHOD and its one event."""
    [part] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    method = str(calendar["METHOD"])
    assert part.get_param("method") == method  # the header mail programs read says the same
    return method, event


def uid(event: icalendar.Event) -> str:
    return str(event["UID"])


def sequence(event: icalendar.Event) -> int:
    return int(event["SEQUENCE"])


def assert_appointment_email(message: EmailMessage, *, to: str, start: datetime) -> None:
    """Plain text with an HTML alternative and, where the message has one, a calendar file."""
    assert message["To"] == to
    assert leaf_types(message)[:2] == ["text/plain", "text/html"]
    assert clinic_dates.when(start) in message["Subject"]  # "Monday, December 7 at 2:30 PM"
    assert "(Central Time)" in message.get_body(("plain",)).get_content()  # the time's zone is named


# --- 1. The outbox follows the booking's transaction ---------------------------------------

def test_a_booking_queues_its_confirmation_and_a_reminder_a_day_before(app):
    """A booking leaves one confirmation, due now, and one reminder, due 24 hours before the visit."""
    practice = open_practice()
    now = utc_now()
    start = local(practice.day, 10)
    appointment_id = book(practice, start, now=now)

    rows = by_kind(outbox(appointment_id=appointment_id))
    assert sorted(rows) == ["confirmation", "reminder"]
    assert rows["confirmation"].due_at == now
    assert rows["reminder"].due_at == day_before(start)
    assert all(row.status == "pending" and row.to_address == practice.patient_email for row in rows.values())


def test_a_slot_already_taken_queues_no_message(app):
    """The patient told "that time was just taken" gets no confirmation for it."""
    practice = open_practice()
    other = factories.make_user()
    book(practice, local(practice.day, 10), patient_id=other.id)

    with pytest.raises(SlotUnavailable):
        book(practice, local(practice.day, 10))
    assert outbox(to_address=practice.patient_email) == []
    assert len(outbox()) == 2  # the other patient's confirmation and reminder


def test_a_booking_the_triage_refuses_queues_no_message(app):
    """A patient with an emergency no doctor has dealt with cannot book, and is sent nothing."""
    practice = open_practice()
    factories.make_submission(db.session.get(User, practice.patient_id), "general_consult", "emergency")

    with pytest.raises(TriageNotBookable):
        book(practice, local(practice.day, 10))
    assert outbox() == []


def test_a_booking_that_fails_after_its_messages_were_written_leaves_none(app, monkeypatch):
    """The messages are part of the booking's transaction: if it rolls back after they were
    written (here: the database fails right after the booking announced itself), none remain."""
    practice = open_practice()
    announce = appointment_booked.send

    def announce_then_fail(*args, **kwargs):
        announce(*args, **kwargs)
        assert db.session.scalars(select(OutboxMessage)).all(), "the messages were written in the transaction"
        raise RuntimeError("the database went away")

    monkeypatch.setattr(appointment_booked, "send", announce_then_fail)
    with pytest.raises(RuntimeError, match="went away"):
        book(practice, local(practice.day, 10))
    assert outbox() == []
    assert db.session.scalars(select(Appointment)).all() == []


def test_a_move_sends_a_change_and_moves_the_reminder(app):
    """A move queues a change for the new time, drops the old time's reminder and queues one for the new."""
    practice = open_practice()
    now = utc_now()
    old_id = book(practice, local(practice.day, 10), now=now)
    new_start = local(practice.day + timedelta(days=1), 11)
    new_id = move(practice, old_id, new_start, now=now)

    old = by_kind(outbox(appointment_id=old_id))
    assert old["reminder"].status == "dropped"
    new = by_kind(outbox(appointment_id=new_id))
    assert sorted(new) == ["change", "reminder"]
    assert (new["change"].status, new["change"].due_at) == ("pending", now)
    assert (new["reminder"].status, new["reminder"].due_at) == ("pending", day_before(new_start))
    assert len(outbox(kind="reminder", status="pending")) == 1


def test_a_cancellation_sends_word_and_drops_the_reminder(app):
    """A cancellation queues a cancellation message, and the visit's reminder never goes out."""
    practice = open_practice()
    now = utc_now()
    start = local(practice.day, 10)
    appointment_id = book(practice, start, now=now)
    send_due(now=now)  # the confirmation goes at once
    cancel(practice, appointment_id, now=now)

    rows = by_kind(outbox(appointment_id=appointment_id))
    assert sorted(rows) == ["cancellation", "confirmation", "reminder"]
    assert (rows["cancellation"].status, rows["cancellation"].due_at) == ("pending", now)
    assert rows["reminder"].status == "dropped"

    send_due(now=day_before(start))  # the reminder's time: only the confirmation and the cancellation go
    assert {row.kind: row.status for row in outbox(appointment_id=appointment_id)} == {
        "confirmation": "sent", "cancellation": "sent", "reminder": "dropped"}


def test_the_audit_log_names_each_message_but_never_what_it_says(app):
    """Each message queued and sent is in the audit log by number, kind and recipient; its
    subject and text are not (the audit log is read by staff who need not see them)."""
    practice = open_practice()
    now = utc_now()
    first = book(practice, local(practice.day, 10), now=now)
    moved = move(practice, first, local(practice.day, 11), now=now)
    cancel(practice, moved, now=now)
    send_due(now=now)

    rows = outbox()
    queued, sent = audit_details(AuditAction.MESSAGE_QUEUED), audit_details(AuditAction.MESSAGE_SENT)
    assert len(queued) == len(rows) == 5  # confirmation, reminder, change, reminder, cancellation
    for row in rows:
        assert sum(detail.startswith(f"message {row.id}: {row.kind} to {row.to_address}") for detail in queued) == 1
    assert sorted(int(re.match(r"message (\d+):", detail)[1]) for detail in sent) == [
        row.id for row in rows if row.status == "sent"]

    everything_audited = "\n".join(audit_details())
    for row in rows:
        assert row.subject not in everything_audited
        assert row.text_body not in everything_audited
    assert "How to prepare" not in everything_audited and "Dear " not in everything_audited


# --- 2. Delivery over SMTP, with a calendar invitation --------------------------------------

def test_the_confirmation_reaches_the_patient_with_a_calendar_invitation(smtp_app, inbox):
    """The patient receives "booked" mail naming the visit and time, readable as text or HTML,
    with an invitation a calendar program adds at the right time; the outbox and audit log show it sent."""
    practice = open_practice()
    now = utc_now()
    start = local(practice.day, 10)
    appointment_id = book(practice, start, now=now)
    [confirmation_id] = [row.id for row in outbox(kind="confirmation")]

    outcome = send_due(now=now)

    assert outcome.sent == [confirmation_id]
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == [practice.patient_email]
    [message] = inbox.messages
    assert_appointment_email(message, to=practice.patient_email, start=start)
    assert "booked" in message["Subject"] and practice.visit in message["Subject"]
    assert leaf_types(message) == ["text/plain", "text/html", "text/calendar"]
    assert f"{smtp_app.config['PUBLIC_URL']}/appointments/" in message.get_body(("html",)).get_content()

    method, event = invitation(message)
    booked = appointment(appointment_id)
    assert method == "REQUEST"
    assert event["DTSTART"].dt == booked.start_at == start
    assert event["DTEND"].dt == booked.end_at == start + timedelta(minutes=30)
    assert uid(event) and sequence(event) == 0

    [row] = outbox(kind="confirmation")
    assert (row.status, row.sent_at, row.attempts) == ("sent", now, 0)
    assert any(detail.startswith(f"message {row.id}: confirmation") for detail in
               audit_details(AuditAction.MESSAGE_SENT))
    assert send_due(now=now + timedelta(minutes=10)).sent == []  # sent once, not again


def test_a_move_and_a_cancellation_update_the_same_calendar_event(smtp_app, inbox):
    """After a move the invitation keeps its UID with SEQUENCE 1 and the new time, so the
    calendar moves the event; cancelling it then sends METHOD CANCEL with SEQUENCE 2."""
    practice = open_practice()
    now = utc_now()
    first = book(practice, local(practice.day, 10), now=now)
    send_due(now=now)
    new_start = local(practice.day, 14, 30)
    moved = move(practice, first, new_start, now=now)
    send_due(now=now)
    cancel(practice, moved, now=now)
    send_due(now=now)

    confirmation, change, cancellation = inbox.messages
    assert "moved" in change["Subject"] and "canceled" in cancellation["Subject"]
    assert_appointment_email(change, to=practice.patient_email, start=new_start)
    assert_appointment_email(cancellation, to=practice.patient_email, start=new_start)
    (_, booked), (change_method, changed), (cancel_method, cancelled) = map(
        invitation, (confirmation, change, cancellation))
    assert uid(booked) == uid(changed) == uid(cancelled)
    assert (change_method, sequence(changed)) == ("REQUEST", 1)
    assert (changed["DTSTART"].dt, changed["DTEND"].dt) == (new_start, new_start + timedelta(minutes=30))
    assert (cancel_method, sequence(cancelled)) == ("CANCEL", 2)
    assert cancelled["DTSTART"].dt == new_start
    assert {row.kind: row.status for row in outbox(appointment_id=moved)} == {
        "change": "sent", "cancellation": "sent", "reminder": "dropped"}


def test_a_cancellation_without_a_move_is_sequence_one(smtp_app, inbox):
    """The first change to an event is SEQUENCE 1, whether a move or a cancellation."""
    practice = open_practice()
    now = utc_now()
    appointment_id = book(practice, local(practice.day, 10), now=now)
    send_due(now=now)
    cancel(practice, appointment_id, now=now)
    send_due(now=now)

    confirmation, cancellation = inbox.messages
    (_, booked), (method, cancelled) = invitation(confirmation), invitation(cancellation)
    assert uid(booked) == uid(cancelled)
    assert (method, sequence(cancelled)) == ("CANCEL", 1)


def test_another_appointment_is_another_calendar_event(smtp_app, inbox):
    """Two bookings are two events: a calendar never merges one patient's visits."""
    practice = open_practice()
    now = utc_now()
    book(practice, local(practice.day, 10), now=now)
    other = open_practice(Route.VASCULAR_ULTRASOUND)
    book(other, local(other.day, 12), patient_id=practice.patient_id, now=now)
    send_due(now=now)

    first, second = inbox.messages
    assert uid(invitation(first)[1]) != uid(invitation(second)[1])


def triage_words(submission) -> set[str]:
    """What the patient told the triage and what its rules concluded, which no email may carry:
    the question ids and coded answers, the rules' texts, and the clinical words behind them."""
    words = {"apnoea", "apnea", "STOP-Bang", "rlsvein", "pe_symptoms", "dvt_signs"}
    for question, answer in submission.answers.items():
        if "_" in question:
            words.add(question)
        for value in answer if isinstance(answer, list) else [answer]:
            if isinstance(value, str) and "_" in value:
                words.add(value)
    for rule in submission.outcome["reasons"]:
        words |= {RULE_TEXT.get(rule, ""), CLINICIAN_RULE_TEXT.get(rule, "")} - {""}
    words |= {FLAG_TEXT[flag] for flag in submission.outcome["flags"]}
    return words


@pytest.mark.parametrize("route", [Route.SLEEP_STUDY_REFERRAL, Route.VASCULAR_ULTRASOUND])
def test_no_message_carries_triage_answers(smtp_app, inbox, route):
    """A confirmation, change, reminder and cancellation for a triaged patient say when, where
    and how to prepare, and nothing of what the patient answered or what the rules made of it."""
    practice = open_practice(route)
    submission = factories.make_submission(db.session.get(User, practice.patient_id), route, "routine")
    forbidden = triage_words(submission)
    now = utc_now()
    first = book(practice, local(practice.day, 10), now=now)
    send_due(now=now)  # the confirmation
    moved = move(practice, first, local(practice.day, 11), now=now)
    send_due(now=day_before(local(practice.day, 11)))  # the change and the new visit's reminder
    cancel(practice, moved, now=now)
    send_due(now=now)

    assert sorted(row.kind for row in outbox(status="sent")) == ["cancellation", "change", "confirmation",
                                                                  "reminder"]
    assert len(inbox.messages) == 4
    for message in inbox.messages:
        text = readable_text(message)
        leaked = sorted(word for word in forbidden if word.lower() in text.lower())
        assert leaked == [], f"{message['Subject']!r} carries {leaked}"


# --- 3. A mail server that is down ---------------------------------------------------------

def test_while_the_mail_server_is_down_messages_wait_and_go_when_it_is_back(make_portal):
    """A failed send keeps the message, tries again a minute later, not sooner, and delivers
    it once the server answers."""
    port = free_port()  # nothing listens there yet
    make_portal(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    practice = open_practice()
    now = utc_now()
    book(practice, local(practice.day, 10), now=now)

    outcome = send_due(now=now)
    [row] = outbox(kind="confirmation")
    confirmation_id = row.id
    assert (outcome.sent, outcome.failed, outcome.dead) == ([], [confirmation_id], [])
    assert (row.status, row.attempts, row.due_at, row.sent_at) == ("pending", 1, now + timedelta(minutes=1), None)
    assert row.last_error

    later = send_due(now=now + timedelta(seconds=30))  # still within the backoff
    assert (later.sent, later.failed, later.dead) == ([], [], [])

    inbox = Inbox(port).start()
    try:
        outcome = send_due(now=now + timedelta(minutes=2))
        assert outcome.sent == [confirmation_id]
        [message] = inbox.messages
        assert message["To"] == practice.patient_email and "booked" in message["Subject"]
    finally:
        inbox.stop()
    [row] = outbox(kind="confirmation")
    assert (row.status, row.sent_at) == ("sent", now + timedelta(minutes=2))


def test_a_message_that_keeps_failing_is_kept_as_dead_and_not_tried_again(make_portal):
    """With MAIL_MAX_ATTEMPTS=3 and the server down throughout, the third failure (after
    waiting 1, then 2 minutes) marks the message dead; it stays in the outbox and the worker
    leaves it alone."""
    make_portal(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False, MAIL_MAX_ATTEMPTS=3)
    practice = open_practice()
    now = utc_now()
    book(practice, local(practice.day, 10), now=now)

    moment = now
    for attempt, wait in ((1, timedelta(minutes=1)), (2, timedelta(minutes=2))):
        outcome = send_due(now=moment)
        [row] = outbox(kind="confirmation")
        assert (outcome.failed, row.status, row.attempts) == ([row.id], "pending", attempt)
        assert row.due_at == moment + wait
        moment = row.due_at

    outcome = send_due(now=moment)
    [row] = outbox(kind="confirmation")
    assert (outcome.sent, outcome.failed, outcome.dead) == ([], [], [row.id])
    assert (row.status, row.attempts, row.sent_at) == ("dead", 3, None)
    assert row.last_error

    again = send_due(now=now + timedelta(hours=1))
    assert (again.sent, again.failed, again.dead) == ([], [], [])
    [row] = outbox(kind="confirmation")
    assert (row.status, row.attempts) == ("dead", 3)


# --- 4. The file backend -------------------------------------------------------------------

def test_without_a_mail_server_each_message_is_written_as_an_eml_file(app, tmp_path):
    """With no MAIL_SERVER (the embedded default), each message is one .eml file a mail program
    opens, with the same parts as over SMTP."""
    practice = open_practice()
    now = utc_now()
    start = local(practice.day, 10)
    first = book(practice, start, now=now)
    booked = send_due(now=now)
    new_start = local(practice.day, 15)
    move(practice, first, new_start, now=now)

    moved = send_due(now=now)

    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == len(booked.sent) + len(moved.sent) == 2
    confirmation, change = (parse_email(path.read_bytes()) for path in files)
    assert_appointment_email(confirmation, to=practice.patient_email, start=start)
    assert_appointment_email(change, to=practice.patient_email, start=new_start)
    for message in (confirmation, change):
        assert leaf_types(message) == ["text/plain", "text/html", "text/calendar"]
    assert [sequence(invitation(message)[1]) for message in (confirmation, change)] == [0, 1]


# --- 5. Workers at once --------------------------------------------------------------------

@pytest.mark.slow
def test_workers_running_at_once_deliver_each_message_exactly_once(smtp_app, inbox):
    """Four workers send the same backlog of 40 messages together (PostgreSQL: SKIP LOCKED;
    SQLite: BEGIN IMMEDIATE): every patient gets each message once, and every row is sent."""
    practice = open_practice()
    now = utc_now()
    patients = [factories.make_user() for _ in range(20)]
    for number, patient in enumerate(patients):
        book(practice, local(practice.day, number // 2, 30 * (number % 2)), patient_id=patient.id, now=now)
    emails = {patient.email for patient in patients}
    backlog = [row.id for row in outbox()]
    assert len(backlog) == 40  # a confirmation and a reminder each
    sending_time = local(practice.day, 0)  # every reminder is due by then

    def worker():
        sent = []
        while True:  # small rounds, so the workers take turns at the backlog
            outcome = send_due(now=sending_time, limit=5)
            sent += outcome.sent
            if not (outcome.sent or outcome.failed or outcome.dead):
                return sent

    outcomes = run_at_once(smtp_app, [worker] * 4)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    claimed = [message_id for sent in outcomes for message_id in sent]
    assert sorted(claimed) == backlog  # each by one worker only
    received = Counter((message["To"], message["Subject"].split(" ")[0]) for message in inbox.messages)
    assert set(received.values()) == {1}
    assert {to for to, _ in received} == emails and len(received) == 40
    assert len({message["Message-ID"] for message in inbox.messages}) == 40
    assert {row.status for row in outbox()} == {"sent"}
    sent_audits = Counter(detail.split(":")[0] for detail in audit_details(AuditAction.MESSAGE_SENT))
    assert len(sent_audits) == 40 and set(sent_audits.values()) == {1}


# --- 6. Reminders across a change of the clocks --------------------------------------------

def next_clock_change(month: int) -> date:
    """The next Sunday Chicago's clocks change in `month` (the 2nd Sunday of March, forward; the
    1st Sunday of November, back), at least two days from today."""
    today = date.today()
    for year in (today.year, today.year + 1):
        first_sunday = date(year, month, 1) + timedelta(days=(6 - date(year, month, 1).weekday()) % 7)
        change = first_sunday + timedelta(weeks=1 if month == 3 else 0)
        if change > today + timedelta(days=2):
            return change
    raise AssertionError("no clock change within a year")




@pytest.mark.parametrize("month, reminder_wall_clock", [(3, time(9)), (11, time(11))],
                         ids=["spring forward", "fall back"])
@pytest.mark.parametrize("make_booking", [book, squeeze_in],
                         ids=["patient page (UTC start)", "desk squeeze-in (clinic-time start)"])
def test_a_reminder_comes_24_real_hours_before_across_a_clock_change(make_portal, month, reminder_wall_clock,
                                                                      make_booking):
    """A 10:00 visit on the Sunday the clocks change (after the 02:00 change, so the 24 hours
    before it cross the change; the day after would not) is reminded exactly 24 hours before:
    09:00 (spring) or 11:00 (autumn) on the Saturday by the clock, not 10:00. The next change
    may be months away, beyond the 90-day booking horizon, so this clinic books 400 days ahead."""
    make_portal(BOOKING_HORIZON_DAYS=400)
    practice = open_practice()
    change_day = next_clock_change(month)
    start = local(change_day, 10)
    assert start.utcoffset() != local(change_day - timedelta(days=1), 10).utcoffset(), "not a clock change"
    now = utc_now()
    appointment_id = make_booking(practice, start, now=now)

    [reminder] = outbox(appointment_id=appointment_id, kind="reminder")
    reminder_id, due = reminder.id, reminder.due_at
    assert due == day_before(start)
    saturday = due.astimezone(CHICAGO)
    assert (saturday.date(), saturday.time()) == (change_day - timedelta(days=1), reminder_wall_clock)

    assert len(send_due(now=now).sent) == 1  # the confirmation, at once
    assert send_due(now=due - timedelta(seconds=1)).sent == []
    assert send_due(now=due).sent == [reminder_id]
    assert outbox(appointment_id=appointment_id, kind="reminder")[0].status == "sent"


def test_a_desk_squeeze_in_invitation_states_its_time_unambiguously(app):
    """The invitation for a visit the desk squeezed in gives its time in UTC or with its time zone
    defined in the file, so every calendar program puts it at the same moment."""
    practice = open_practice()
    start = local(practice.day, 10)
    appointment_id = squeeze_in(practice, start)

    [confirmation] = outbox(appointment_id=appointment_id, kind="confirmation")
    calendar = icalendar.Calendar.from_ical(confirmation.ics)
    [event] = calendar.walk("VEVENT")
    assert event["DTSTART"].dt == start
    used = {str(event[name].params["TZID"]) for name in ("DTSTART", "DTEND") if "TZID" in event[name].params}
    defined = {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")}
    assert used <= defined, f"TZID {sorted(used - defined)} used but not defined in the file"


# --- 7. The command the clinic runs --------------------------------------------------------

def test_flask_send_mail_sends_what_is_due_and_says_how_it_went(app, tmp_path):
    """`flask send-mail` sends what is due now and prints the counts; run again, it sends nothing."""
    practice = open_practice()
    book(practice, local(practice.day, 10))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "sent 1, to retry 0, dead 0" in result.output
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1

    result = runner.invoke(args=["send-mail"])
    assert "sent 0, to retry 0, dead 0" in result.output


# --- 8. The calendar file on the patient's page --------------------------------------------

def test_a_patient_downloads_their_appointment_as_the_same_calendar_event(app):
    """"Add to my calendar" gives the event the messages carry (same UID and time); another
    patient asking for it is told there is no such page."""
    practice = open_practice()
    patient, browser = logged_in(app)
    now = utc_now()
    start = local(practice.day, 10)
    appointment_id = book(practice, start, patient_id=patient.id, now=now)
    [confirmation] = outbox(kind="confirmation")
    sent_event = icalendar.Calendar.from_ical(confirmation.ics).walk("VEVENT")[0]

    response = browser.get(f"/appointments/{appointment_id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.get_data(as_text=True))
    [event] = calendar.walk("VEVENT")
    assert uid(event) == uid(sent_event)
    assert (event["DTSTART"].dt, sequence(event)) == (start, 0)

    _, stranger = logged_in(app)
    assert stranger.get(f"/appointments/{appointment_id}.ics").status_code == 404


# --- What a worker that stopped, or a retry, must not get wrong ----------------------------

def test_after_a_failed_send_the_last_message_describes_the_visit_as_it_now_stands(make_portal):
    """A confirmation that failed and waits for its retry, then a move: the patient's mail must
    be the change, never the old "booked for 10:00" arriving after it."""
    port = free_port()
    make_portal(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    practice = open_practice()
    now = utc_now()
    first = book(practice, local(practice.day, 10), now=now)
    assert send_due(now=now).failed  # the server is down: the confirmation waits a minute
    move(practice, first, local(practice.day, 11), now=now + timedelta(seconds=10))

    inbox = Inbox(port).start()
    try:
        send_due(now=now + timedelta(minutes=2))
        subjects = [message["Subject"] for message in inbox.messages]
    finally:
        inbox.stop()
    # The move dropped the confirmation still waiting for its retry: the change says it all.
    assert len(subjects) == 1 and "moved" in subjects[-1], f"the patient's mail about the visit: {subjects}"


def test_a_visit_cancelled_while_its_reminder_was_claimed_gets_no_reminder(app, tmp_path):
    """A worker claims the reminder and stops mid-send (its lease holds the row for 5 minutes);
    the patient cancels meanwhile. When the lease ends the reminder must not go out for a
    visit that no longer exists."""
    practice = open_practice()
    now = utc_now()
    start = local(practice.day, 10)
    appointment_id = book(practice, start, now=now)
    send_due(now=now)  # the confirmation
    reminder_time = day_before(start)
    claimed = claim_due(reminder_time)  # a worker that then dies
    [reminder] = outbox(appointment_id=appointment_id, kind="reminder")
    assert claimed == [reminder.id]
    cancel(practice, appointment_id, now=reminder_time + timedelta(minutes=1))

    send_due(now=reminder_time + timedelta(minutes=10))  # the lease has run out

    kinds = sorted(path.name.split("-", 1)[1] for path in (tmp_path / "mail").glob("*.eml"))
    assert "reminder.eml" not in kinds, f"sent: {kinds}"
    assert outbox(appointment_id=appointment_id, kind="reminder")[0].status != "sent"


def test_the_looping_worker_stops_cleanly_on_sigterm(database_url, tmp_path):
    """`flask send-mail --loop` as a service manager runs it: it keeps sending rounds until it is
    told to stop (SIGTERM), then finishes and exits 0."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "DATABASE_URL": database_url, "MAIL_FILE_DIR": str(tmp_path / "mail"),
                   "SECRET_KEY": "test"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "send-mail", "--loop", "--interval", "0.2"]
    worker = subprocess.Popen(command, cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        first = worker.stdout.readline()
        assert first.startswith("sent 0, to retry 0, dead 0"), first
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0 and "stopping" in output
