"""No patient data in logs or addresses: canary values (a unique name, email, phone, date of birth,
password, triage numbers, notes and search words) go through every form that takes patient data,
with every logger at DEBUG (werkzeug and sqlalchemy.engine included); none may appear in a log
record (message, arguments, extra fields, traceback), in the JSON lines the app writes, or in any
address a request used or a redirect named. And the app's own logs: a request id, echoed and
logged, and one access line per request whose path has no query string.
"""
import html
import io
import json
import logging
import random
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import request
from flask.signals import request_finished, request_started
from sqlalchemy import select
from sqlalchemy import text as sql
from werkzeug.serving import WSGIRequestHandler

from portal import logs
from portal.auth.models import Role, User
from portal.booking.models import Appointment, AppointmentType, Clinician, Route
from portal.extensions import db
from portal.notify.models import MessageKind
from tests import factories
from tests.app.test_triage_pages import ALL_NO, answer_all
from tests.client import AuthActions, hidden_fields, logged_in
from tests.mailbox import password_link
from tests.pages import slot_links

# --- the canaries -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    """Details nobody else has: each holds the run's token, or digits and a date drawn for it."""

    name: str
    email: str
    phone: str
    born: date

    @property
    def phone_digits(self) -> str:
        return re.sub(r"\D", "", self.phone)

    def traces(self) -> list[str]:
        """Every way these details could be written: as typed, and as the app would store them."""
        return [self.name, self.name.lower(), self.email, self.email.lower(), self.phone, self.phone_digits,
                self.born.isoformat(), self.born.strftime("%m/%d/%Y"), self.born.strftime("%-d %b %Y")]


@dataclass(frozen=True)
class Canaries:
    token: str
    patient: Person
    caller: Person  # registered by the desk
    password: str
    height_cm: str
    weight_kg: str
    note: str  # free text about a patient: a cancellation's details, an overbook's reason
    search_word: str

    def traces(self) -> list[str]:
        return [self.token, *self.patient.traces(), *self.caller.traces(), self.password, self.height_cm,
                self.weight_kg, self.note, self.search_word]


def make_canaries() -> Canaries:
    token = uuid.uuid4().hex[:12]
    draw = random.Random(token)

    def person(kind: str) -> Person:
        return Person(name=f"Quenby Canary{kind}{token}", email=f"canary.{kind}.{token}@example.org",
                      phone=f"(555) {draw.randint(200, 999)}-{draw.randint(1000, 9999)}",
                      born=date(1926, 1, 1) + timedelta(days=draw.randrange(15 * 365)))

    return Canaries(token=token, patient=person("pt"), caller=person("dk"), password=f"Canary pass {token} plum",
                    height_cm=f"1{draw.randint(50, 89)}.{draw.randint(11, 99)}",
                    weight_kg=f"1{draw.randint(10, 49)}.{draw.randint(111, 999)}",
                    note=f"canary note {token}", search_word=f"Sought{token}")


# --- what was logged, and where the app sent the browser ---------------------------------------------

# The numbers logging stamps on every record from the clock and the process. Their digits say nothing
# about anyone, yet spell a canary by chance, a few runs in a hundred: 'relativeCreated': 21160.5961
# holds the height "160.59", 'created': 1796001132.2129 the weight "132.212". `extra=` cannot set them:
# logging refuses to overwrite a record's own field.
STAMPED_BY_LOGGING = ("created", "msecs", "relativeCreated", "thread", "process")


def fields_to_read(record: logging.LogRecord) -> dict:
    """The record's fields, but for the numbers logging stamped (kept when anything replaced them)."""
    return {name: value for name, value in vars(record).items()
            if not (name in STAMPED_BY_LOGGING and isinstance(value, (int, float)))}


class Witness:
    """Every log record of every logger at DEBUG, the app's own JSON lines, and every address
    the app was asked for or sent a browser to."""

    def __init__(self, app, caplog, capsys):
        self.caplog, self.capsys = caplog, capsys
        self.json_lines = io.StringIO()
        self.addresses: list[str] = []
        self.app = app

    def __enter__(self):
        self.caplog.set_level(logging.DEBUG)
        names = [*logging.root.manager.loggerDict, "werkzeug", "sqlalchemy", "sqlalchemy.engine",
                 "sqlalchemy.engine.Engine", "sqlalchemy.pool", "flask_limiter", "alembic"]
        self.quiet = []
        for name in names:
            self.caplog.set_level(logging.DEBUG, logger=name)
            logger = logging.getLogger(name)
            if not logger.propagate:  # its records never reach the root's handlers: listen there too
                logger.addHandler(self.caplog.handler)
                self.quiet.append(logger)
        self.handler = logs.json_lines_handler(self.json_lines)
        logging.getLogger().addHandler(self.handler)
        request_finished.connect(self._note_addresses, self.app)
        return self

    def __exit__(self, *exc):
        request_finished.disconnect(self._note_addresses, self.app)
        logging.getLogger().removeHandler(self.handler)
        for logger in self.quiet:
            logger.removeHandler(self.caplog.handler)

    def _note_addresses(self, sender, response, **extra):
        self.addresses.append(request.url)
        if location := response.headers.get("Location"):
            self.addresses.append(location)

    def records(self) -> list[logging.LogRecord]:
        return self.caplog.records

    def everything_written(self) -> list[tuple[str, str]]:
        """(where, what) for each log record, each JSON line, standard output and error, each address."""
        formatter = logging.Formatter()
        written = []
        for record in self.records():
            traceback = formatter.formatException(record.exc_info) if record.exc_info else ""
            written.append((f"record of {record.name}", "\n".join(
                [record.getMessage(), repr(record.args), repr(fields_to_read(record)), traceback])))
        written += [("JSON line", line) for line in self.json_lines.getvalue().splitlines()]
        captured = self.capsys.readouterr()
        written += [("standard output", captured.out), ("standard error", captured.err)]
        written += [("address", html.unescape(address)) for address in self.addresses]
        return written

    def leaks(self, traces: list[str]) -> list[str]:
        found = []
        for where, what in self.everything_written():
            lowered = what.lower()
            for trace in traces:
                if (at := lowered.find(trace.lower())) >= 0:  # shown where it was found, however long the text
                    found.append(f"{trace!r} in {where}: ...{what[max(0, at - 150):at + 150]}...")
        return found


@pytest.fixture
def witness(app, caplog, capsys):
    with Witness(app, caplog, capsys) as seen:
        yield seen


# --- filling in forms as a browser does ----------------------------------------------------------------

def post_form_with(browser, page, field: str, data: dict):
    """Post the page's form that has a field named `field`: its hidden fields, then `data`."""
    markup = page.get_data(as_text=True)
    for form in re.findall(r"<form\b.*?</form>", markup, re.S):
        opening = form.split(">", 1)[0]
        if 'method="post"' in opening and f'name="{field}"' in form:
            action = re.search(r'action="([^"]*)"', opening)
            url = html.unescape(action.group(1)) if action else page.request.full_path.rstrip("?")
            return browser.post(url, data={**hidden_fields(form), **data})
    raise AssertionError(f"no post form with {field} on {page.request.path}")


def follow(browser, response):
    while response.status_code in (301, 302, 303):
        response = browser.get(response.headers["Location"])
    return response


TRIAGE = {**ALL_NO, "age": "35", "sex": "male", "leg_signs": ["spider_veins"]}  # a routine general consult


def answer_triage(browser, canaries: Canaries):
    outcome = answer_all(browser, {**TRIAGE, "height_cm": canaries.height_cm, "weight_kg": canaries.weight_kg})
    assert "/triage/step/" not in outcome.headers["Location"]


def register_and_log_in(browser, canaries: Canaries):
    """Registration, then the password chosen through the mailed link, which logs the patient in."""
    person = canaries.patient
    page = browser.get("/auth/register")
    registered = post_form_with(browser, page, "email", {
        "name": person.name, "email": person.email, "date_of_birth": person.born.isoformat(), "phone": person.phone})
    assert registered.status_code == 302, registered.status_code
    link = password_link(person.email.lower(), MessageKind.INVITATION)
    chosen = post_form_with(browser, browser.get(link), "password",
                            {"password": canaries.password, "confirm": canaries.password})
    assert chosen.status_code == 302 and "/auth/login" not in chosen.headers["Location"], chosen.status_code


def book_and_cancel(browser, canaries: Canaries):
    page = follow(browser, browser.get("/triage/claim"))
    if 'name="answer"' in page.get_data(as_text=True):  # answers from before logging in: they are mine
        follow(browser, post_form_with(browser, page, "answer", {"answer": "yes"}))
    answer_triage(browser, canaries)  # and once more, logged in
    week = follow(browser, browser.get(f"/book/?week={factories.future_weekday().isoformat()}"))
    confirm = browser.get(slot_links(week)[0])
    booked = post_form_with(browser, confirm, "idempotency_key", {})
    assert booked.status_code == 302, booked.status_code
    appointment_id = db.session.scalar(select(Appointment.id).join(User, User.id == Appointment.patient_id)
                                       .where(User.email == canaries.patient.email.lower()))
    question = browser.get(f"/appointments/{appointment_id}/cancel")
    cancelled = post_form_with(browser, question, "details", {"reason": "Other", "details": canaries.note})
    assert cancelled.status_code == 302, cancelled.status_code


def logins_that_fail_and_a_forgotten_password(client, canaries: Canaries):
    AuthActions(client).login(canaries.patient.email, f"Wrong {canaries.token}")
    AuthActions(client).login(f"nobody.{canaries.token}@example.org", canaries.password)
    forgot = client.get("/auth/password/forgot")
    assert post_form_with(client, forgot, "email", {"email": canaries.patient.email}).status_code == 302


def desk_work(app, canaries: Canaries):
    """Search by every kind of detail, register a caller, book for them, overbook them."""
    _, desk = logged_in(app, Role.DESK)
    person = canaries.patient
    for typed in (person.name, person.email, person.phone, person.born.strftime("%m/%d/%Y"), canaries.search_word):
        assert post_form_with(desk, desk.get("/desk/patients/"), "q", {"q": typed}).status_code == 200
    caller = canaries.caller
    registered = post_form_with(desk, desk.get("/desk/patients/new"), "email", {
        "name": caller.name, "email": caller.email, "date_of_birth": caller.born.isoformat(), "phone": caller.phone})
    assert registered.status_code == 302, registered.status_code
    record = registered.headers["Location"]
    week = desk.get(f"{record}/book?week={factories.future_weekday().isoformat()}")
    confirm = desk.get(slot_links(week)[0])
    assert post_form_with(desk, confirm, "idempotency_key", {"override_reason": canaries.note}).status_code == 302
    overbooked = post_form_with(desk, desk.get(f"{record}/book"), "reason", {
        "clinician_id": str(db.session.scalar(select(Clinician.id))),
        "appointment_type_id": str(db.session.scalar(select(AppointmentType.id))),
        "day": factories.future_weekday().isoformat(), "start_time": "09:00", "reason": canaries.note})
    assert overbooked.status_code in (302, 400, 409, 422), overbooked.status_code


def admin_reads_the_audit_log(app, canaries: Canaries):
    _, admin = logged_in(app, Role.ADMIN)
    page = admin.get("/desk/audit/")
    assert post_form_with(admin, page, "patient", {"patient": canaries.patient.name}).status_code == 200


# --- the canary test -----------------------------------------------------------------------------------

@pytest.fixture
def clinic(app):
    for route in Route:
        factories.make_type(route)
    factories.make_clinician(name="Dr Rivera")
    db.session.rollback()


def test_canary_values_through_every_form_never_reach_a_log_or_an_address(app, clinic, witness):
    canaries = make_canaries()
    browser = app.test_client()
    answer_triage(browser, canaries)  # before logging in
    register_and_log_in(browser, canaries)
    book_and_cancel(browser, canaries)
    AuthActions(browser).logout()
    logins_that_fail_and_a_forgotten_password(app.test_client(), canaries)
    desk_work(app, canaries)
    admin_reads_the_audit_log(app, canaries)

    assert len(witness.records()) > 100  # every logger was heard, SQL statements included
    assert any(record.name.startswith("sqlalchemy.engine") for record in witness.records())
    assert witness.leaks(canaries.traces()) == []


def test_the_canary_check_finds_a_form_that_someone_logs(app, witness):
    """The check above would fail if a form were logged, even at DEBUG, by any logger."""
    canaries = make_canaries()

    def careless(sender, **extra):
        if request.method == "POST":
            logging.getLogger("portal.somewhere").debug("posted %s", request.form)

    request_started.connect(careless, app)
    try:
        browser = app.test_client()
        post_form_with(browser, browser.get("/auth/password/forgot"), "email", {"email": canaries.patient.email})
    finally:
        request_started.disconnect(careless, app)
    leaks = witness.leaks(canaries.traces())
    assert any("record of portal.somewhere" in leak for leak in leaks)
    assert any("JSON line" in leak for leak in leaks)


def test_the_canary_check_reads_extra_fields_but_not_the_clocks_digits(witness):
    """A value given to a logger in `extra=` is a leak; the time logging stamped is not, though
    its digits may spell a canary."""
    canaries = make_canaries()
    logger = logging.getLogger("portal.somewhere")
    logger.debug("a measurement", extra={"measured": canaries.height_cm})
    logger.debug("nothing measured")
    stamped = witness.records()[-1]
    stamped.relativeCreated = float(f"21{canaries.height_cm}61")  # as in a failed run: 21160.5961
    stamped.created = float(f"1796001{canaries.weight_kg}9")
    leaks = witness.leaks([canaries.height_cm, canaries.weight_kg])
    assert len(leaks) == 1 and "'measured'" in leaks[0], leaks


# --- the app's own log lines ---------------------------------------------------------------------------

def json_lines(witness) -> list[dict]:
    return [json.loads(line) for line in witness.json_lines.getvalue().splitlines()]


def access_lines(witness) -> list[dict]:
    return [line for line in json_lines(witness) if line["logger"] == "portal.access"]


def test_a_request_id_from_the_proxy_is_echoed_and_logged(client, witness):
    response = client.get("/", headers={"X-Request-ID": "req-7f3a9c.01"})
    assert response.headers["X-Request-ID"] == "req-7f3a9c.01"
    [line] = access_lines(witness)
    assert line["request_id"] == "req-7f3a9c.01"
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/", 200, "INFO")
    assert isinstance(line["duration_ms"], float) and line["time"].endswith("+00:00")


@pytest.mark.parametrize("offered", [None, "", "two words", "id;forged=1", "x" * 129, "<script>", "é", "-leading-dash"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client, witness, offered):
    headers = {"X-Request-ID": offered} if offered is not None else {}
    first, second = client.get("/", headers=headers), client.get("/", headers=headers)
    made = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", made_id) for made_id in made) and made[0] != made[1]
    assert [line["request_id"] for line in access_lines(witness)] == made
    if offered:
        assert offered not in witness.json_lines.getvalue()


def test_the_access_line_has_the_path_without_its_query_and_the_user_by_id_only(app, witness):
    user, browser = logged_in(app, Role.PATIENT, name="Querida Person")
    browser.get("/appointments/?name=Querida+Person&born=1950-02-03&q=smith")
    line = access_lines(witness)[-1]
    assert (line["message"], line["path"], line["user_id"]) == ("GET /appointments/ 200", "/appointments/", user.id)
    assert not [line for line in access_lines(witness) if "?" in line["message"] + line["path"]]
    written = witness.json_lines.getvalue()
    assert "Querida" not in written and "1950-02-03" not in written and "smith" not in written
    assert user.email not in written


def test_every_line_of_a_request_carries_its_id_and_one_access_line_ends_it(client, witness):
    def note(sender, **extra):
        logging.getLogger("portal.test").warning("something worth knowing")

    request_started.connect(note, client.application)
    try:
        response = client.get("/auth/login", headers={"X-Request-ID": "abc-123"})
    finally:
        request_started.disconnect(note, client.application)
    lines = [line for line in json_lines(witness)
             if line.get("request_id") == "abc-123" and line["logger"].startswith("portal.")]
    assert [(line["logger"], line["level"]) for line in lines] == [("portal.test", "WARNING"),
                                                                   ("portal.access", "INFO")]
    assert response.headers["X-Request-ID"] == "abc-123"


def test_a_calendar_feeds_secret_address_is_hidden_in_the_access_line(client, witness):
    secret = "s3cr3t-feed-token-" + uuid.uuid4().hex
    client.get(f"/feeds/{secret}.ics")
    [line] = access_lines(witness)
    assert line["path"] == "/feeds/hidden.ics"
    assert secret not in witness.json_lines.getvalue()


def test_an_error_is_logged_with_its_traceback_but_not_the_values_posted(app, witness, monkeypatch):
    """A failing query's values stay out of the error (the engine hides bound parameters)."""
    canaries = make_canaries()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page, and the log

    def failing_registration(**details):
        db.session.execute(sql("SELECT * FROM no_such_table WHERE name = :name"), {"name": details["name"]})

    monkeypatch.setattr("portal.auth.views.register_online", failing_registration)
    browser = app.test_client()
    person = canaries.patient
    response = post_form_with(browser, browser.get("/auth/register"), "email", {
        "name": person.name, "email": person.email, "date_of_birth": person.born.isoformat(), "phone": person.phone})
    assert response.status_code in (500, 503)  # 503 when the database calls it an operational error
    error = next(line for line in json_lines(witness) if line["level"] == "ERROR" and "exception" in line)
    assert "no_such_table" in error["exception"] and "Traceback" in error["exception"]
    assert error["path"] == "/auth/register" and error["request_id"] == response.headers["X-Request-ID"]
    assert witness.leaks(canaries.traces()) == []


def test_the_development_servers_request_lines_with_their_query_are_dropped(witness):
    """`make run` serves with Werkzeug, whose request lines carry the query string: the app's
    access line replaces them (the real Werkzeug handler writes the line here)."""
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.client_address, handler.command, handler.request_version = ("127.0.0.1", 50000), "GET", "HTTP/1.1"
    handler.path = handler.requestline = "/desk/patients/?q=Quenby+Canary"
    handler.log_request(200, 512)
    logging.getLogger("werkzeug").info(" * Running on http://127.0.0.1:5000")
    heard = [record.getMessage() for record in witness.records() if record.name == "werkzeug"]
    assert heard == [" * Running on http://127.0.0.1:5000"]


def test_sqlalchemy_never_logs_result_rows_or_bound_values(app, witness):
    canaries = make_canaries()
    db.session.execute(sql("SELECT :name AS name"), {"name": canaries.patient.name}).all()
    engine_lines = [record for record in witness.records() if record.name.startswith("sqlalchemy.engine")]
    assert any("SELECT" in record.getMessage() for record in engine_lines)  # statements are logged at DEBUG
    assert witness.leaks(canaries.traces()) == []
