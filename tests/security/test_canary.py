"""A canary through every text field a patient, the desk or a doctor can fill in: names, a phone
number, a cancellation's details, reasons for overbooking, booking against the triage, time off
and a route change, a letter's history and question, the desk's search and the audit filter. It
carries HTML and JavaScript metacharacters (`<script>`, quotes, `&`) and, in the text areas, a
line break with a calendar property after it. Wherever it comes back it is only text: escaped in
every page, in the HTML part of every email; words in a letter's PDF; no extra line in any
calendar file; and never in a log line (tests/app/test_canary_logs.py's Witness hears every logger).
"""
import io
import re
from dataclasses import dataclass, replace

import pytest
from flask import request
from flask.signals import request_finished
from icalendar import Calendar
from pypdf import PdfReader
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.booking.models import Clinician
from portal.extensions import db
from portal.notify.models import OutboxMessage
from tests import factories
from tests.app.test_canary_logs import (
    Canaries,
    Witness,
    admin_reads_the_audit_log,
    book_and_cancel,
    clinic,  # noqa: F401  # a fixture: pytest finds it by its name
    desk_work,
    make_canaries,
    post_form_with,
    register_and_log_in,
)
from tests.app.test_letters import open_letter, sign
from tests.client import logged_in, submit
from tests.pages import text

CALENDAR_LINE = re.compile(r"[A-Z][A-Z0-9-]*[;:]")  # every line of a calendar file: a property's name


@dataclass
class Marked:
    canaries: Canaries
    marks: list[str]  # the canary's markup as typed: none of it may ever be found raw in a page

    @property
    def token(self) -> str:
        return self.canaries.token


def marked_canaries() -> Marked:
    plain = make_canaries()
    token = plain.token
    script, image = f"<script>canary{token}</script>", f"<img src=x onerror=canary{token}>"
    canaries = replace(plain, patient=replace(plain.patient, name=f"Zoë {script}\"'&"),
                       caller=replace(plain.caller, name=f"Åsa {image}\"'&"),
                       note=f"Note {script}\"'&\r\nATTENDEE:mailto:canary{token}@evil.example",
                       search_word=f"<b>canary{token}</b>")
    return Marked(canaries, [f"<script>canary{token}", f"<img src=x onerror=canary{token}", f"<b>canary{token}"])


class Pages:
    """Every page (text/html) the app answered, with its address."""

    def __init__(self, app):
        self.seen: list[tuple[str, str]] = []
        request_finished.connect(self._keep, app)

    def _keep(self, sender, response, **extra):
        if response.mimetype == "text/html" and not response.direct_passthrough:
            self.seen.append((request.full_path, response.get_data(as_text=True)))

    def raw(self, marks: list[str]) -> list[str]:
        return [f"{address}: ...{page[max(0, page.find(mark) - 80):page.find(mark) + 80]}..."
                for address, page in self.seen for mark in marks if mark in page]


@pytest.fixture
def seen(app, caplog, capsys):
    pages = Pages(app)
    with Witness(app, caplog, capsys) as witness:
        yield pages, witness
    request_finished.disconnect(pages._keep, app)


def refused_registration(app, marked: Marked) -> None:
    """The canary as a phone number: refused, and the form shown again with what was typed."""
    browser = app.test_client()
    person = marked.canaries.patient
    response = post_form_with(browser, browser.get("/auth/register"), "email", {
        "name": person.name, "email": f"other.{marked.token}@example.org", "date_of_birth": "1950-01-01",
        "phone": marked.canaries.note})
    assert response.status_code == 400


def patient_id(marked: Marked) -> int:
    db.session.rollback()
    return db.session.scalar(select(User.id).where(User.email == marked.canaries.patient.email.lower()))


def desk_time_off_and_pages(app, marked: Marked) -> None:
    _, desk = logged_in(app, Role.DESK)
    clinician_id = db.session.scalar(select(Clinician.id))
    day = factories.future_weekday().isoformat()
    response = submit(desk, f"/desk/schedules/{clinician_id}/time-off", {
        "off-first_day": day, "off-last_day": day, "off-whole_days": "y", "off-reason": marked.marks[0]},
        form_page=f"/desk/schedules/{clinician_id}")
    assert response.status_code == 302, response.status_code
    record = f"/desk/patients/{patient_id(marked)}"
    for url in (record, f"{record}/book", "/desk/", f"/desk/?date={day}", f"/desk/week?date={day}",
                f"/desk/schedules/{clinician_id}", "/desk/patients/urgent"):
        assert desk.get(url).status_code == 200, url


def doctor_work(app, marked: Marked) -> bytes:
    """A route change with the canary as its reason, and a signed letter with it as history and
    question: the case pages, the letter's page and its PDF."""
    owner = db.session.get(User, patient_id(marked))
    general = factories.make_submission(owner)
    sleep = factories.make_submission(owner, route="sleep_study_referral")
    ids = general.id, sleep.id
    db.session.rollback()
    _, doctor = logged_in(app, Role.DOCTOR)
    assert submit(doctor, f"/queue/{ids[0]}", {"new_route": "vascular_ultrasound",
                                                "reason": marked.canaries.note}).status_code == 302
    letter_id = open_letter(doctor, ids[1], "sleep_study_referral")
    sign(doctor, letter_id, history=marked.canaries.note, question=f"Please assess {marked.marks[0]}")
    for url in ("/queue/", f"/queue/{ids[0]}", f"/queue/{ids[1]}", f"/letters/{letter_id}"):
        assert doctor.get(url).status_code == 200, url
    fhir = doctor.get(f"/letters/{letter_id}.json")
    assert fhir.status_code == 200 and fhir.is_json  # data, never a page a browser would run
    response = doctor.get(f"/letters/{letter_id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def calendar_files(app, marked: Marked) -> list[str]:
    """Every calendar file: those the mail carries, and the clinician's feed."""
    db.session.rollback()
    files = [ics for ics in db.session.scalars(select(OutboxMessage.ics)) if ics]
    _, desk = logged_in(app, Role.DESK)
    clinician_id = db.session.scalar(select(Clinician.id))
    page = desk.get(f"/desk/schedules/{clinician_id}")
    assert post_form_with(desk, page, "feed", {"feed": "new"}).status_code == 302  # the feed turned on
    [feed] = set(re.findall(r"/feeds/[^\"<\s]+\.ics", text(desk.get(f"/desk/schedules/{clinician_id}"))))
    response = app.test_client().get(feed)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    files.append(response.get_data(as_text=True))
    assert len(files) >= 3  # the booking, its cancellation, the feed
    return files


@pytest.mark.usefixtures("clinic")  # the clinic of test_canary_logs, imported above
def test_the_canary_is_only_ever_text(app, seen):
    pages, witness = seen
    marked = marked_canaries()
    browser = app.test_client()
    register_and_log_in(browser, marked.canaries)
    book_and_cancel(browser, marked.canaries)
    assert browser.get("/appointments/").status_code == 200
    refused_registration(app, marked)
    desk_work(app, marked.canaries)
    desk_time_off_and_pages(app, marked)
    letter = doctor_work(app, marked)
    admin_reads_the_audit_log(app, marked.canaries)
    _, admin = logged_in(app, Role.ADMIN)
    assert admin.get("/desk/outbox").status_code == 200

    assert pages.raw(marked.marks) == []
    assert any(f"&lt;script&gt;canary{marked.token}" in page for _, page in pages.seen)
    assert_emails_escape_it(marked)
    assert_letter_shows_it_as_words(letter, marked)
    for ics in calendar_files(app, marked):
        assert_one_property_a_line(ics)
    assert witness.leaks(marked.canaries.traces()) == []


def assert_emails_escape_it(marked: Marked) -> None:
    db.session.rollback()
    messages = list(db.session.scalars(select(OutboxMessage)))
    mine = [message for message in messages if message.to_address == marked.canaries.patient.email.lower()]
    assert mine, "the patient was sent nothing"
    for message in messages:
        assert not [mark for mark in marked.marks if mark in message.html_body], (message.kind, message.html_body)
        assert "\r" not in message.subject and "\n" not in message.subject
    assert any(f"&lt;script&gt;canary{marked.token}" in message.html_body for message in mine)
    assert any(f"<script>canary{marked.token}" in message.text_body for message in mine)  # plain text: as typed


def assert_letter_shows_it_as_words(letter: bytes, marked: Marked) -> None:
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(letter)).pages)
    assert f"<script>canary{marked.token}</script>" in words  # printed, as typed
    assert "Zoë" in words
    assert not re.search(rb"/(JavaScript|JS|Launch|EmbeddedFile|AA)\b", letter)  # nothing a reader would run


def assert_one_property_a_line(ics: str) -> None:
    lines = re.sub(r"\r?\n[ \t]", "", ics).splitlines()  # unfolded (RFC 5545 3.1)
    assert lines and all(CALENDAR_LINE.match(line) for line in lines), ics
    assert not [line for line in lines if line.startswith("ATTENDEE")], ics
    Calendar.from_ical(ics)
