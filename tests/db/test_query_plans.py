"""The hot queries are answered from indexes on a clinic of real shape (PostgreSQL only).

A quarter of bench/make_clinic.py's clinic (12 clinicians, 12,500 patients, about 44,000
appointments, 5,000 triage cases), ANALYZEd, is big enough that the planner reads a table whole
only when no index serves the query. (At a tenth, 2,000 cases, it rightly reads them all for a
filtered queue page rather than walk the queue's index past the cases the filter skips.)
Each hot query is captured as the app itself sends it (a before_cursor_execute hook while the
real function or page runs) and EXPLAINed with its own parameters; a Seq Scan on appointment,
user_account, patient_search_term or triage_submission fails the test, which names the query and
prints the plan.

Two reads of a whole table are known and left out: the queue's totals, which count every case the
filters match (no index makes that selective), and the desk's search for two letters, which has
no trigram (bench/README.md).
"""
import json
import uuid
from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from bench.make_clinic import build_clinic
from portal.auth.models import User
from portal.booking.appointments import upcoming_and_past
from portal.booking.models import AppointmentType, Route
from portal.booking.slots import free_slots_by_clinician
from portal.database import utc_now
from portal.extensions import db
from portal.patients.search import parse_query, search_patients
from tests.client import AuthActions, current_code
from tests.conftest import TEST_DATABASE_URL, make_app

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="query plans are PostgreSQL's (set TEST_DATABASE_URL): SQLite's planner "
                                  "is another, and its patient search another design (tests/db/test_patient_search.py)")

SCALE = 0.25
HOT_TABLES = {"appointment", "user_account", "patient_search_term", "triage_submission"}


@pytest.fixture(scope="module")
def clinic(request):
    """A database of its own on the test server, filled by build_clinic (which ANALYZEs it)."""
    admin, server, template = request.getfixturevalue("postgres_server")
    name = f"{template}_plans_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        built = build_clinic(url, scale=SCALE, progress=False)
        app = make_app(url)
        with app.app_context():
            yield app, built
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def statements_sent():
    """Every SELECT the app sends meanwhile, with its parameters, as the driver gets them."""
    sent = []

    def keep(_connection, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def plan_of(statement: str, parameters) -> dict:
    with db.engine.connect() as connection:
        return connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()[0]["Plan"]


def seq_scans(node: dict) -> list[str]:
    """The hot tables read whole anywhere in the plan."""
    found = []
    if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in HOT_TABLES:
        found.append(node["Relation Name"])
    for child in node.get("Plans", ()):
        found += seq_scans(child)
    return found


def assert_indexed(query: str, sent: list, *, allowed: tuple[str, ...] = ()) -> None:
    """No statement of `query` reads a hot table whole, except those starting with one of `allowed`."""
    assert sent, f"{query}: no statement was captured"
    for statement, parameters in sent:
        if statement.startswith(allowed):
            continue
        plan = plan_of(statement, parameters)
        scanned = seq_scans(plan)
        assert not scanned, (f"{query} reads {', '.join(scanned)} whole (Seq Scan):\n{statement}\n"
                             f"parameters: {parameters}\n{json.dumps(plan, indent=1, default=str)}")


def test_free_slots_of_one_clinician_over_a_week(clinic):
    app, built = clinic
    zone = ZoneInfo(app.config["CLINIC_TIMEZONE"])
    consult = db.session.scalar(select(AppointmentType).where(AppointmentType.route == Route.GENERAL_CONSULT))
    first_day = utc_now().astimezone(zone).date() + timedelta(days=3)
    with statements_sent() as sent:
        slots = free_slots_by_clinician(consult, [built.doctor_clinician_id], first_day=first_day,
                                        last_day=first_day + timedelta(days=6), zone=zone, now=utc_now())
    assert built.doctor_clinician_id in slots
    assert_indexed("free slots of one clinician (booking/slots.py)", sent)


def test_a_patients_appointments(clinic):
    _app, built = clinic
    with statements_sent() as sent:
        upcoming, past = upcoming_and_past(built.patient_id, utc_now())
    assert past and not upcoming, "patient1: past visits, nothing booked ahead"
    assert_indexed("a patient's appointments (booking/appointments.py)", sent)


@pytest.mark.parametrize("filters", ["", "?urgency=urgent", "?review=unreviewed&route=vascular_ultrasound",
                                     "?page=3"])
def test_the_doctors_queue(clinic, filters):
    app, built = clinic
    browser = app.test_client()
    AuthActions(browser).login(built.doctor_email, built.password, code=current_code(built.doctor_email))
    with statements_sent() as sent:
        page = browser.get(f"/queue/{filters}")
    assert page.status_code == 200
    # The totals, in either of their two forms (queue/cases.py).
    assert_indexed(f"the doctors' queue /queue/{filters}", sent,
                   allowed=("SELECT count(triage_submission.id) AS count_1, count(triage_submission.patient_id)",
                            "SELECT (SELECT count(*) AS count_1 \nFROM triage_submission"))


def test_the_desks_patient_search(clinic):
    _app, built = clinic
    patient = db.session.get(User, built.patient_id)
    digits = "".join(c for c in patient.phone if c.isdigit())
    for typed in (patient.name.split()[-1][:4], f"{digits[-7:-4]} {digits[-4:]}", patient.email[:6],
                  patient.date_of_birth.strftime("%m/%d/%Y")):
        with statements_sent() as sent:
            results = search_patients(parse_query(typed))
        db.session.rollback()
        assert any(line.patient.id == patient.id for line in results.patients) or results.more, typed
        assert_indexed(f"the desk's patient search for {typed!r} (patients/search.py)", sent)
