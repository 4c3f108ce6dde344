"""The front desk's calendar through the test client: the day and week views, a fixed number of
queries however full the week, and check-in, no-show, attended, cancel and move from the calendar.

The app runs the clinic in America/Chicago; "today" below is the real current date there, and
appointments in the past or starting now are inserted as stored rows (the service refuses the
past). factories.make_clinician works 09:00-17:00 every day unless told otherwise.
"""
import html
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, insert, select

from portal import dates
from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role
from portal.booking.models import Appointment, AppointmentStatus, Route
from portal.booking.service import book_appointment
from portal.extensions import db
from tests import factories
from tests.app.test_desk_patients import rendered_templates
from tests.client import csrf_token, hidden_fields, logged_in
from tests.clinic_dates import long_day, when
from tests.pages import slot_links, text, words

CHICAGO = factories.CHICAGO
TWO_BLOCKS = {weekday: [(time(9), time(12)), (time(13), time(17))] for weekday in range(7)}


# --- reading pages ------------------------------------------------------------------------------

def entry(response, appointment_id: int) -> str:
    """One appointment's line in the calendar, as markup; fails the test if it is not shown."""
    match = re.search(rf'<li class="desk-entry desk-appointment([^"]*)" id="appointment-{appointment_id}">(.*?)</li>',
                      response.get_data(as_text=True), re.S)
    assert match, f"appointment {appointment_id} is not on the page"
    return match.group(0)


def buttons(markup: str) -> list[str]:
    """The labels of the buttons and button-links in some markup."""
    return [words(label) for label in re.findall(r'<(?:button|a) class="button[^"]*"[^>]*>(.*?)</(?:button|a)>',
                                                 markup, re.S)]


def column(response, heading_id: str) -> str:
    """The calendar column labelled by `heading_id` (clinician-<id> or day-<date>), as markup."""
    match = re.search(rf'<section class="desk-column[^"]*" aria-labelledby="{heading_id}">(.*?)</section>',
                      response.get_data(as_text=True), re.S)
    assert match, f"no column {heading_id}"
    return match.group(1)


def flashes(response) -> list[str]:
    return [words(m) for m in re.findall(r'class="notice notice-\w+"[^>]*>(.*?)</div>', text(response), re.S)]


def link_params(link: str) -> tuple[datetime, int]:
    query = parse_qs(urlsplit(link).query)
    return datetime.fromisoformat(query["start"][0]), int(query["clinician"][0])


# --- the world ----------------------------------------------------------------------------------

def today() -> date:
    return datetime.now(CHICAGO).date()


def fresh() -> None:
    """End the test's read transaction: rows the app wrote become visible, and SQLite lets the app write."""
    db.session.rollback()


def stored(appointment_id: int) -> Appointment:
    fresh()
    return db.session.get(Appointment, appointment_id)


def insert_appointment(patient, clinician, appointment_type, start: datetime, *, status: str = AppointmentStatus.BOOKED,
                       **fields) -> Appointment:
    """An appointment as stored, written directly: the service refuses the past, and tests need some."""
    start = start.astimezone(UTC)
    appointment = Appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=appointment_type.id,
                              start_at=start, end_at=start + timedelta(minutes=appointment_type.duration_minutes),
                              status=status, **fields)
    db.session.add(appointment)
    db.session.commit()
    return appointment


def audit_events(appointment_id: int | None = None, **where) -> list[AuditEvent]:
    fresh()
    statement = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
    if appointment_id is not None:
        statement = statement.where(AuditEvent.appointment_id == appointment_id)
    return list(db.session.scalars(statement))


def post_status(browser, page, appointment_id: int, to: str, back: str = "/desk/"):
    """Press (or forge) a status button, with the CSRF token of the page the desk has open."""
    return browser.post(f"/desk/appointments/{appointment_id}/status",
                        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "to": to, "back": back})


def next_week_day() -> date:
    """A Tuesday next week: free times there are not cut by "now"."""
    return factories.future_weekday(1)


@pytest.fixture
def clinic(app):
    """A visit type, a clinician, a triaged patient and a booked appointment next week."""
    visit = factories.make_type(minutes=30, name="General consultation")
    clinician = factories.make_clinician(name="Dr Rivera")
    patient = factories.make_user(name="Ada Brown")
    factories.make_submission(patient)  # answered online: the desk moves the visit without a reason
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=factories.local(next_week_day(), 10))
    ids = {"visit": visit.id, "clinician": clinician.id, "patient": patient.id, "appointment": appointment.id}
    fresh()
    return ids


# --- who may see the calendar -------------------------------------------------------------------

def desk_urls(ids) -> list[str]:
    start = factories.local(next_week_day(), 11).astimezone(UTC).isoformat()
    return ["/desk/", f"/desk/?date={next_week_day().isoformat()}", "/desk/week",
            f"/desk/week?clinician={ids['clinician']}&date={next_week_day().isoformat()}",
            f"/desk/appointments/{ids['appointment']}/cancel", f"/desk/appointments/{ids['appointment']}/move",
            f"/desk/appointments/{ids['appointment']}/move/confirm?start={start.replace('+', '%2B')}"
            f"&clinician={ids['clinician']}"]


def test_anonymous_visitors_are_sent_to_log_in(app, clinic):
    browser = app.test_client()
    for url in desk_urls(clinic):
        response = browser.get(url)
        assert response.status_code == 302, url
        assert urlsplit(response.headers["Location"]).path == "/auth/login", url


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR])
def test_patients_and_doctors_are_refused(app, clinic, role):
    _, browser = logged_in(app, role)
    for url in desk_urls(clinic):
        assert browser.get(url).status_code == 403, url
    token = csrf_token(browser.get("/").get_data(as_text=True))
    appointment_id = clinic["appointment"]
    for url, data in [(f"/desk/appointments/{appointment_id}/status", {"to": "checked_in"}),
                      (f"/desk/appointments/{appointment_id}/cancel", {"reason": "Patient called"}),
                      (f"/desk/appointments/{appointment_id}/move/confirm", {})]:
        assert browser.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert stored(appointment_id).status == AppointmentStatus.BOOKED


@pytest.mark.parametrize("role", [Role.DESK, Role.ADMIN])
def test_desk_and_admin_see_every_page(app, clinic, role):
    _, browser = logged_in(app, role)
    for url in desk_urls(clinic):
        assert browser.get(url).status_code == 200, url


def test_the_calendar_is_in_the_desk_menu(app, clinic):
    _, browser = logged_in(app, Role.DESK)
    assert '<a href="/desk/">Calendar</a>' in text(browser.get("/desk/"))


# --- the day view -------------------------------------------------------------------------------

def test_day_view_shows_what_a_receptionist_checks(app):
    day = next_week_day()
    visit = factories.make_type(Route.VASCULAR_ULTRASOUND, minutes=30, name="Leg vein ultrasound")
    rivera = factories.make_clinician(name="Dr Rivera", hours=TWO_BLOCKS)
    okafor = factories.make_clinician(name="Dr Okafor")
    ada = factories.make_user(name="Ada Brown")
    ben = factories.make_user(name="Ben Carter")
    cleo = factories.make_user(name="Cleo Diaz")
    urgent = factories.make_submission(ada, Route.VASCULAR_ULTRASOUND, "urgent")
    booked = insert_appointment(ada, rivera, visit, factories.local(day, 10), triage_submission_id=urgent.id)
    squeezed = insert_appointment(ben, rivera, visit, factories.local(day, 10), overbook=True,
                                  overbook_reason="Painful swelling, doctor agreed")
    cancelled = insert_appointment(cleo, rivera, visit, factories.local(day, 14), status=AppointmentStatus.CANCELLED,
                                   cancellation_reason="Patient has the flu")
    factories.make_time_off(rivera, factories.local(day, 15), factories.local(day, 16), reason="Team meeting")
    factories.make_time_off(okafor, factories.local(day - timedelta(days=1), 0),
                            factories.local(day + timedelta(days=2), 0),
                            reason="Conference")
    _, browser = logged_in(app, Role.DESK)

    response = browser.get(f"/desk/?date={day.isoformat()}")

    assert response.status_code == 200
    page = text(response)
    assert long_day(day) in page
    assert "Times are clinic time (Central Time)." in page
    first = words(entry(response, booked.id))
    assert first.startswith("10:00 AM to 10:30 AM Ada Brown Urgent Leg vein ultrasound Booked"), first
    assert f'href="/desk/patients/{ada.id}"' in entry(response, booked.id)
    assert 'class="badge badge-urgent"' in entry(response, booked.id)
    second = words(entry(response, squeezed.id))
    assert "Ben Carter" in second and "Overbook · Painful swelling, doctor agreed" in second
    assert "Urgent" not in second  # booked without a triage: no badge
    third = entry(response, cancelled.id)
    assert "status-cancelled" in third  # shown struck through, with its reason
    assert "Canceled Reason: Patient has the flu" in words(third)

    rivera_day = words(column(response, f"clinician-{rivera.id}"))
    assert "Hours: 9:00 AM–12:00 PM, 1:00 PM–5:00 PM" in rivera_day
    assert "2 appointments · 5 h 30 min free" in rivera_day
    # In time order: free until the first visit, the two visits at 10:00, free until lunch, and the afternoon
    # with the cancelled 2 pm visit (its time free again) around the 3 pm meeting.
    assert re.search(r"9:00 AM to 10:00 AM Free · 1 h .*10:00 AM .*Ada Brown.*10:00 AM .*Ben Carter.*"
                     r"10:30 AM to 12:00 PM Free · 1 h 30 min 1:00 PM to 3:00 PM Free · 2 h .*"
                     r"2:00 PM to 2:30 PM Cleo Diaz.*3:00 PM to 4:00 PM Time off · Team meeting "
                     r"4:00 PM to 5:00 PM Free · 1 h", rivera_day), rivera_day
    assert "4:00 PM to 4:30 PM" not in rivera_day  # 10:00 in Chicago is 16:00 UTC: never shown as UTC

    okafor_day = words(column(response, f"clinician-{okafor.id}"))
    assert "Time off all day" in okafor_day and "All day Time off · Conference" in okafor_day
    assert "Free" not in okafor_day


def test_a_day_without_hours_says_not_working(app):
    factories.make_clinician(name="Dr Weekday", hours={0: [(time(9), time(17))]})
    _, browser = logged_in(app, Role.DESK)
    sunday = factories.future_weekday(6)

    response = browser.get(f"/desk/?date={sunday.isoformat()}")

    assert "Hours: Not working" in words(response.get_data(as_text=True))
    assert "Not working, no appointments." in text(response)


def test_day_view_today_shows_now_and_no_free_time_in_the_past(app):
    factories.make_type()
    clinician = factories.make_clinician(hours={weekday: [(time(0), time(23, 55))] for weekday in range(7)})
    _, browser = logged_in(app, Role.DESK)
    before = datetime.now(CHICAGO)

    response = browser.get("/desk/")

    column_words = words(column(response, f"clinician-{clinician.id}"))
    assert "Today" in text(response)
    assert "Now " in column_words
    free_starts = re.findall(r"(\d{1,2}:\d\d [AP]M) to \S+ [AP]M Free", column_words)
    if before.time() < time(23, 50):  # near midnight the rest of the day is too short to show
        assert len(free_starts) == 1
        shown = datetime.combine(before.date(), datetime.strptime(free_starts[0], "%I:%M %p").time(), CHICAGO)
        assert before - timedelta(minutes=1) <= shown <= before + timedelta(minutes=6)


def test_a_past_day_shows_no_free_time(app):
    visit = factories.make_type(minutes=30)
    busy = factories.make_clinician(name="Dr Busy")
    idle = factories.make_clinician(name="Dr Idle")
    patient = factories.make_user(name="Ada Brown")
    last_week = today() - timedelta(days=7)
    insert_appointment(patient, busy, visit, factories.local(last_week, 10), status=AppointmentStatus.FULFILLED)
    _, browser = logged_in(app, Role.DESK)

    response = browser.get(f"/desk/?date={last_week.isoformat()}")

    busy_day = words(column(response, f"clinician-{busy.id}"))
    assert "1 appointment" in busy_day and "Ada Brown" in busy_day and "Attended" in busy_day
    assert "free" not in busy_day.lower() and "Now" not in busy_day
    assert "No appointments." in words(column(response, f"clinician-{idle.id}"))


# (Control characters never reach the page: tests/app/test_hostile_input.py.)
@pytest.mark.parametrize("value", ["not-a-date", "2026-02-30", "", "99999-01-01", "0001-01-01", "9999-12-31"])
def test_a_garbled_date_shows_today(app, value):
    factories.make_clinician()
    _, browser = logged_in(app, Role.DESK)

    for url in ("/desk/", "/desk/week"):
        response = browser.get(url, query_string={"date": value})
        assert response.status_code == 200, url
    assert long_day(today()) in text(browser.get("/desk/", query_string={"date": value}))


def test_day_view_links_to_the_previous_and_next_days(app):
    factories.make_clinician()
    _, browser = logged_in(app, Role.DESK)
    day = next_week_day()

    page = text(browser.get(f"/desk/?date={day.isoformat()}"))

    assert f'href="/desk/?date={(day - timedelta(days=1)).isoformat()}">← Previous day' in page
    assert f'href="/desk/?date={(day + timedelta(days=1)).isoformat()}">Next day →' in page
    assert 'href="/desk/">Today</a>' in page
    assert '<input id="date" type="date" name="date"' in page


# --- the week view ------------------------------------------------------------------------------

def test_week_view_shows_one_clinician_from_monday_to_sunday(app):
    visit = factories.make_type(minutes=30)
    rivera = factories.make_clinician(name="Dr Rivera")
    okafor = factories.make_clinician(name="Dr Okafor")
    patient = factories.make_user(name="Ada Brown")
    other = factories.make_user(name="Ben Carter")
    wednesday = factories.future_weekday(2)
    monday = wednesday - timedelta(days=2)
    mine = insert_appointment(patient, rivera, visit, factories.local(monday, 9))
    later = insert_appointment(patient, rivera, visit, factories.local(monday + timedelta(days=6), 16, 30))
    theirs = insert_appointment(other, okafor, visit, factories.local(wednesday, 9))
    next_monday = insert_appointment(patient, rivera, visit, factories.local(monday + timedelta(days=7), 9))
    factories.make_time_off(rivera, factories.local(wednesday, 12), factories.local(wednesday, 13), reason="Dentist")
    _, browser = logged_in(app, Role.DESK)

    response = browser.get(f"/desk/week?clinician={rivera.id}&date={wednesday.isoformat()}")

    assert response.status_code == 200
    page = text(response)
    assert f"Dr Rivera: {dates.month_day(monday)} – {dates.dated(monday + timedelta(days=6))}" in page
    headings = re.findall(r'<h2 id="day-([0-9-]+)">', page)
    assert headings == [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    assert "Ada Brown" in column(response, f"day-{monday.isoformat()}")
    assert "4:30 PM" in words(entry(response, later.id))
    assert f'id="appointment-{theirs.id}"' not in page and "Ben Carter" not in page
    assert f'id="appointment-{next_monday.id}"' not in page
    assert "Time off · Dentist" in words(column(response, f"day-{wednesday.isoformat()}"))
    assert "9:30 AM to 5:00 PM Free · 7 h 30 min" in words(column(response, f"day-{monday.isoformat()}"))
    assert entry(response, mine.id)

    other_week = browser.get(f"/desk/week?clinician={okafor.id}&date={wednesday.isoformat()}")
    assert "Ben Carter" in text(other_week) and "Ada Brown" not in text(other_week)


def test_week_view_with_an_unknown_clinician_shows_the_first(app):
    factories.make_clinician(name="Dr Able")
    factories.make_clinician(name="Dr Baker")
    _, browser = logged_in(app, Role.DESK)

    for clinician in ("999999", "abc", ""):
        response = browser.get(f"/desk/week?clinician={clinician}")
        assert response.status_code == 200
        assert "Dr Able: " in text(response)


def test_week_view_without_clinicians_says_so(app):
    _, browser = logged_in(app, Role.DESK)
    response = browser.get("/desk/week")
    assert response.status_code == 200
    assert "No active clinicians." in text(response)


# --- a fixed number of queries -------------------------------------------------------------------

def count_statements(browser, url: str) -> tuple[int, object]:
    count = 0

    def counter(*_args):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = browser.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert response.status_code == 200, url
    return count, response


def test_day_and_week_views_run_the_same_number_of_queries_for_10_and_500_appointments(app):
    visit = factories.make_type(minutes=30)
    clinicians = [factories.make_clinician(name=f"Dr {name}") for name in ("Able", "Baker", "Cruz", "Dunn", "Evans")]
    patients = [factories.make_user() for _ in range(20)]
    submissions = [factories.make_submission(patient).id for patient in patients]
    monday = factories.future_weekday(0)
    clinician_ids = [c.id for c in clinicians]
    patient_ids = [p.id for p in patients]

    def rows(numbers: range) -> list[dict]:
        """Appointment i: clinician i % 5, back to back from 08:00, one patient per time across clinicians."""
        made = []
        for i in numbers:
            which, k = i % 5, i // 5
            start = (factories.local(monday + timedelta(days=k % 7), 8).astimezone(UTC)
                     + timedelta(minutes=30 * (k // 7)))
            patient = (k + which) % 20
            made.append({"patient_id": patient_ids[patient], "clinician_id": clinician_ids[which],
                         "appointment_type_id": visit.id, "start_at": start, "end_at": start + timedelta(minutes=30),
                         "status": AppointmentStatus.BOOKED if i % 3 else AppointmentStatus.CHECKED_IN,
                         "triage_submission_id": submissions[patient] if i % 2 else None,
                         "overbook": i % 7 == 0, "overbook_reason": "Squeezed in" if i % 7 == 0 else None})
        return made

    db.session.execute(insert(Appointment), rows(range(10)))
    db.session.commit()
    _, browser = logged_in(app, Role.DESK)
    urls = {"day": f"/desk/?date={monday.isoformat()}",
            "week": f"/desk/week?clinician={clinician_ids[0]}&date={monday.isoformat()}"}
    for url in urls.values():
        browser.get(url)  # warm up: the first request may load things once
    few = {name: count_statements(browser, url) for name, url in urls.items()}

    db.session.execute(insert(Appointment), rows(range(10, 500)))
    db.session.commit()
    fresh()
    many = {name: count_statements(browser, url) for name, url in urls.items()}

    for name in urls:
        few_count, few_page = few[name]
        many_count, many_page = many[name]
        assert many_count == few_count, f"{name}: {few_count} statements for 10 appointments, {many_count} for 500"
        assert few_count <= 10, f"{name}: {few_count} statements"
    assert many["day"][1].get_data(as_text=True).count('id="appointment-') == 75  # 5 clinicians x 15 on Monday
    assert many["week"][1].get_data(as_text=True).count('id="appointment-') == 100
    assert "Squeezed in" in text(many["week"][1]) and "badge-routine" in text(many["week"][1])


# --- check in, no-show, attended ------------------------------------------------------------------

def test_check_in_is_offered_and_allowed_only_on_the_day(app):
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    patient = factories.make_user(name="Ada Brown")
    other = factories.make_user(name="Ben Carter")
    todays = insert_appointment(patient, clinician, visit, factories.local(today(), 12))
    tomorrows = insert_appointment(other, clinician, visit, factories.local(today() + timedelta(days=1), 10))
    desk, browser = logged_in(app, Role.DESK)

    tomorrow_page = browser.get(f"/desk/?date={(today() + timedelta(days=1)).isoformat()}")
    assert "Check in" not in buttons(entry(tomorrow_page, tomorrows.id))
    forged = post_status(browser, tomorrow_page, tomorrows.id, "checked_in",
                         back=f"/desk/?date={(today() + timedelta(days=1)).isoformat()}")
    assert forged.status_code == 302
    assert "A patient can only be checked in on the day of the appointment." in flashes(
        browser.get(forged.headers["Location"]))
    assert stored(tomorrows.id).status == AppointmentStatus.BOOKED

    today_page = browser.get("/desk/")
    assert "Check in" in buttons(entry(today_page, todays.id))
    response = post_status(browser, today_page, todays.id, "checked_in")
    assert response.status_code == 302 and response.headers["Location"] == "/desk/"
    after = browser.get("/desk/")
    assert "Ada Brown is checked in." in flashes(after)
    assert "Checked in" in words(entry(after, todays.id))
    assert buttons(entry(after, todays.id)) == ["Attended"]
    appointment = stored(todays.id)
    assert appointment.status == AppointmentStatus.CHECKED_IN and appointment.checked_in_at is not None
    [audit] = audit_events(todays.id)
    assert (audit.action, audit.user_id, audit.patient_id) == (AuditAction.APPOINTMENT_CHECKED_IN, desk.id, patient.id)
    assert audit_events(tomorrows.id) == []


def test_no_show_only_after_the_start(app):
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    late = factories.make_user(name="Ada Brown")
    early = factories.make_user(name="Ben Carter")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    started = insert_appointment(late, clinician, visit, now - timedelta(hours=1))
    coming = insert_appointment(early, clinician, visit, now + timedelta(hours=2))
    desk, browser = logged_in(app, Role.DESK)

    def day_of(appointment) -> str:
        return f"/desk/?date={appointment.start_at.astimezone(CHICAGO).date().isoformat()}"

    coming_page = browser.get(day_of(coming))
    assert "No-show" not in buttons(entry(coming_page, coming.id))
    forged = post_status(browser, coming_page, coming.id, "noshow", back=day_of(coming))
    assert "A no-show can only be marked after the appointment's start time." in flashes(
        browser.get(forged.headers["Location"]))
    assert stored(coming.id).status == AppointmentStatus.BOOKED

    started_page = browser.get(day_of(started))
    assert "No-show" in buttons(entry(started_page, started.id))
    assert "Move" not in buttons(entry(started_page, started.id))  # it has begun: no moving or cancelling
    response = post_status(browser, started_page, started.id, "noshow", back=day_of(started))
    assert "Ada Brown is marked as a no-show." in flashes(browser.get(response.headers["Location"]))
    assert stored(started.id).status == AppointmentStatus.NOSHOW
    [audit] = audit_events(started.id)
    assert (audit.action, audit.user_id) == (AuditAction.APPOINTMENT_NO_SHOW, desk.id)


def test_attended_only_after_check_in(app):
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    patient = factories.make_user(name="Ada Brown")
    other = factories.make_user(name="Ben Carter")
    here = insert_appointment(patient, clinician, visit, factories.local(today(), 8),
                              status=AppointmentStatus.CHECKED_IN)
    booked = insert_appointment(other, clinician, visit, factories.local(today(), 9))
    desk, browser = logged_in(app, Role.DESK)

    page = browser.get("/desk/")
    assert buttons(entry(page, here.id)) == ["Attended"]
    assert "Attended" not in buttons(entry(page, booked.id))
    forged = post_status(browser, page, booked.id, "fulfilled")
    assert "This appointment is booked, so it cannot be marked attended." in flashes(
        browser.get(forged.headers["Location"]))
    assert stored(booked.id).status == AppointmentStatus.BOOKED

    post_status(browser, page, here.id, "fulfilled")
    after = browser.get("/desk/")
    assert "Ada Brown is marked as attended." in flashes(after)
    assert "Attended" in words(entry(after, here.id)) and buttons(entry(after, here.id)) == []
    assert stored(here.id).status == AppointmentStatus.FULFILLED
    [audit] = audit_events(here.id)
    assert (audit.action, audit.user_id) == (AuditAction.APPOINTMENT_FULFILLED, desk.id)


@pytest.mark.parametrize("to", ["booked", "cancelled", "", "nonsense"])
def test_a_status_the_buttons_never_send_changes_nothing(app, clinic, to):
    _, browser = logged_in(app, Role.DESK)
    page = browser.get("/desk/")

    response = post_status(browser, page, clinic["appointment"], to)

    assert response.status_code == 302
    assert "That change of status is not possible for this appointment." in flashes(
        browser.get(response.headers["Location"]))
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED
    assert audit_events(clinic["appointment"], action=AuditAction.APPOINTMENT_CHECKED_IN) == []


def test_after_an_action_the_desk_returns_only_to_a_desk_page(app, clinic):
    _, browser = logged_in(app, Role.DESK)
    page = browser.get("/desk/")
    day = next_week_day().isoformat()

    for back in ("https://elsewhere.example/", "//elsewhere.example/desk/", "/desk//x", "/auth/logout"):
        response = post_status(browser, page, clinic["appointment"], "noshow", back=back)
        assert response.headers["Location"] == f"/desk/?date={day}", back


def test_a_status_change_without_csrf_token_is_refused(app, clinic):
    _, browser = logged_in(app, Role.DESK)
    response = browser.post(f"/desk/appointments/{clinic['appointment']}/status", data={"to": "checked_in"})
    assert response.status_code == 400
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED


def test_an_unknown_appointment_is_not_found(app):
    _, browser = logged_in(app, Role.DESK)
    token = csrf_token(browser.get("/desk/").get_data(as_text=True))
    assert browser.get("/desk/appointments/999999/cancel").status_code == 404
    assert browser.get("/desk/appointments/999999/move").status_code == 404
    assert browser.get("/desk/appointments/999999/move/confirm").status_code == 404
    assert browser.post("/desk/appointments/999999/status",
                        data={"csrf_token": token, "to": "checked_in"}).status_code == 404


# --- cancel ---------------------------------------------------------------------------------------

def test_cancel_needs_a_reason_and_keeps_the_row_with_it(app, clinic):
    desk, browser = logged_in(app, Role.DESK)
    day_url = f"/desk/?date={next_week_day().isoformat()}"
    day_page = browser.get(day_url)
    cancel_link = html.unescape(re.search(r'<a class="button danger" href="([^"]+)">Cancel</a>',
                                          entry(day_page, clinic["appointment"])).group(1))
    confirm = browser.get(cancel_link)
    assert confirm.status_code == 200
    assert "Cancel this appointment?" in text(confirm) and "Ada Brown" in text(confirm)
    fields = hidden_fields(confirm.get_data(as_text=True))
    assert fields["back"] == day_url

    for empty in ("", "   "):
        refused = browser.post(cancel_link, data={**fields, "reason": empty})
        assert refused.status_code == 400
        assert "Please give a reason for canceling." in text(refused)
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED

    response = browser.post(cancel_link, data={**fields, "reason": "Patient called: she is in hospital"})

    assert response.status_code == 302 and response.headers["Location"] == day_url
    after = browser.get(day_url)
    assert "Ada Brown's appointment is canceled." in flashes(after)
    shown = entry(after, clinic["appointment"])
    assert "status-cancelled" in shown and "Reason: Patient called: she is in hospital" in words(shown)
    assert buttons(shown) == []
    appointment = stored(clinic["appointment"])
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "Patient called: she is in hospital"
    assert appointment.cancelled_by_id == desk.id
    [audit] = audit_events(clinic["appointment"], action=AuditAction.APPOINTMENT_CANCELLED)
    assert audit.user_id == desk.id and audit.detail == "Patient called: she is in hospital"


def test_cancelling_a_past_appointment_is_refused_with_the_reason(app):
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    patient = factories.make_user()
    past = insert_appointment(patient, clinician, visit, datetime.now(UTC) - timedelta(hours=3))
    _, browser = logged_in(app, Role.DESK)
    page = browser.get(f"/desk/appointments/{past.id}/cancel")

    response = browser.post(f"/desk/appointments/{past.id}/cancel",
                            data={**hidden_fields(page.get_data(as_text=True)), "reason": "Too late"})

    assert response.status_code == 302
    assert "This appointment has already started and can no longer be changed." in flashes(
        browser.get(response.headers["Location"]))
    assert stored(past.id).status == AppointmentStatus.BOOKED


def test_a_cancelled_appointment_offers_no_cancel_form(app, clinic):
    _, browser = logged_in(app, Role.DESK)
    browser.post(f"/desk/appointments/{clinic['appointment']}/cancel",
                 data={**hidden_fields(browser.get(f"/desk/appointments/{clinic['appointment']}/cancel")
                                       .get_data(as_text=True)), "reason": "Patient called"})

    page = text(browser.get(f"/desk/appointments/{clinic['appointment']}/cancel"))

    assert "This appointment is canceled and can no longer be canceled." in page
    assert '<form method="post">' not in page


# --- move -----------------------------------------------------------------------------------------

def test_move_through_the_pages(app, clinic):
    day = next_week_day()
    okafor = factories.make_clinician(name="Dr Okafor")
    desk, browser = logged_in(app, Role.DESK)
    new_start = factories.local(day + timedelta(days=1), 11).astimezone(UTC)

    day_page = browser.get(f"/desk/?date={day.isoformat()}")
    move_link = re.search(r'<a class="button" href="([^"]+)">Move</a>', entry(day_page, clinic["appointment"])).group(1)
    week = browser.get(move_link + f"?week={day.isoformat()}")
    assert week.status_code == 200
    assert "Move Ada Brown's appointment" in text(week)
    offered = [link_params(link) for link in slot_links(week)]
    own_time = factories.local(day, 10).astimezone(UTC)
    assert (own_time, clinic["clinician"]) not in offered  # its own time is taken
    assert (own_time, okafor.id) in offered
    link = next(link for link in slot_links(week) if link_params(link) == (new_start, okafor.id))

    confirm = browser.get(link)
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Move to this time?" in page and "Dr Okafor" in page
    assert when(factories.local(day + timedelta(days=1), 11)) in page
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED  # showing the page moves nothing

    response = browser.post(f"/desk/appointments/{clinic['appointment']}/move/confirm",
                            data=hidden_fields(confirm.get_data(as_text=True)))

    new_day_url = f"/desk/?date={(day + timedelta(days=1)).isoformat()}"
    assert response.status_code == 302 and response.headers["Location"] == new_day_url
    after = browser.get(new_day_url)
    assert (f"Ada Brown's appointment is moved to {long_day(day + timedelta(days=1))} at 11:00 AM "
            "with Dr Okafor.") in flashes(after)
    old = stored(clinic["appointment"])
    assert old.status == AppointmentStatus.CANCELLED and old.cancellation_reason == "Moved to another time"
    [new] = db.session.scalars(select(Appointment).where(Appointment.rescheduled_from_id == old.id))
    assert (new.start_at, new.clinician_id, new.status, new.booked_by_id) == (
        new_start, okafor.id, AppointmentStatus.BOOKED, desk.id)
    assert "Ada Brown" in words(entry(after, new.id))
    [audit] = audit_events(new.id, action=AuditAction.APPOINTMENT_MOVED)
    assert audit.user_id == desk.id

    again = browser.post(f"/desk/appointments/{clinic['appointment']}/move/confirm",
                         data=hidden_fields(confirm.get_data(as_text=True)))
    assert again.status_code == 302  # a second click on the same form moves once
    fresh()
    assert len(list(db.session.scalars(select(Appointment).where(Appointment.patient_id == clinic["patient"])))) == 2


def test_the_desk_may_move_to_a_time_inside_the_patients_notice(app):
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician(hours={weekday: [(time(0), time(23, 30))] for weekday in range(7)})
    patient = factories.make_user()
    factories.make_submission(patient)
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=factories.local(next_week_day(), 10))
    _, browser = logged_in(app, Role.DESK)
    now = datetime.now(UTC)

    week = browser.get(f"/desk/appointments/{appointment.id}/move")
    soonest = min(start for start, _ in map(link_params, slot_links(week)))

    assert now <= soonest < now + timedelta(minutes=60)  # a patient needs 60 minutes' notice, the desk none
    confirm = browser.get(slot_links(week)[0])
    response = browser.post(f"/desk/appointments/{appointment.id}/move/confirm",
                            data=hidden_fields(confirm.get_data(as_text=True)))
    assert response.status_code == 302
    fresh()
    moved = db.session.scalar(select(Appointment).where(Appointment.rescheduled_from_id == appointment.id))
    assert moved.start_at == soonest


def test_moving_to_a_time_taken_meanwhile_offers_the_next_free_times(app, clinic):
    day = next_week_day()
    _, browser = logged_in(app, Role.DESK)
    taken = factories.local(day, 11).astimezone(UTC)
    confirm = browser.get(f"/desk/appointments/{clinic['appointment']}/move/confirm",
                          query_string={"start": taken.isoformat(), "clinician": clinic["clinician"]})
    assert confirm.status_code == 200
    rival = factories.make_user()
    book_appointment(patient_id=rival.id, clinician_id=clinic["clinician"], appointment_type_id=clinic["visit"],
                     start=taken)
    fresh()

    with rendered_templates(app) as shown:
        response = browser.post(f"/desk/appointments/{clinic['appointment']}/move/confirm",
                                data=hidden_fields(confirm.get_data(as_text=True)))

    assert response.status_code == 409 and shown[-1] == "desk/taken.html"  # the booking's taken page too
    page = text(response)
    assert "Sorry, that time was just taken." in page
    assert "Nothing was changed: Ada Brown keeps" in page
    offered = [link_params(link) for link in slot_links(response)]
    assert offered[0] == (taken + timedelta(minutes=30), clinic["clinician"])
    move_path = f"/desk/appointments/{clinic['appointment']}/move/confirm"
    assert all(urlsplit(link).path == move_path for link in slot_links(response))
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED
    assert browser.get(slot_links(response)[0]).status_code == 200


def test_a_tampered_move_form_changes_nothing(app, clinic):
    _, browser = logged_in(app, Role.DESK)
    start = factories.local(next_week_day(), 11).astimezone(UTC)
    confirm = browser.get(f"/desk/appointments/{clinic['appointment']}/move/confirm",
                          query_string={"start": start.isoformat(), "clinician": clinic["clinician"]})
    fields = hidden_fields(confirm.get_data(as_text=True))

    for changes in ({"start": "garbage"}, {"clinician_id": "x"}, {"idempotency_key": ""},
                    {"start": (start - timedelta(days=30)).isoformat()}, {"clinician_id": "999999"}):
        response = browser.post(f"/desk/appointments/{clinic['appointment']}/move/confirm", data={**fields, **changes})
        assert response.status_code in (302, 409, 422), changes
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED


@pytest.mark.parametrize("query", ["start=garbage&clinician=1", "start=2000-01-01T10:00:00%2B00:00&clinician=1",
                                   "start=2030-01-01T10:00:00&clinician=1", "start=&clinician=99999999999"])
def test_a_garbled_move_link_goes_back_to_the_free_times(app, clinic, query):
    _, browser = logged_in(app, Role.DESK)
    response = browser.get(f"/desk/appointments/{clinic['appointment']}/move/confirm?{query}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/desk/appointments/{clinic['appointment']}/move"


def test_a_past_appointment_cannot_be_moved(app):
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    patient = factories.make_user()
    past = insert_appointment(patient, clinician, visit, datetime.now(UTC) - timedelta(hours=3))
    _, browser = logged_in(app, Role.DESK)

    response = browser.get(f"/desk/appointments/{past.id}/move")

    assert response.status_code == 302
    assert "This appointment can no longer be moved." in flashes(browser.get(response.headers["Location"]))


def test_an_urgent_case_moves_past_24_hours_only_with_a_reason(app):
    visit = factories.make_type(Route.VASCULAR_ULTRASOUND, minutes=30)
    clinician = factories.make_clinician(hours={weekday: [(time(0), time(23, 30))] for weekday in range(7)})
    patient = factories.make_user()
    factories.make_submission(patient, Route.VASCULAR_ULTRASOUND, "urgent")
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=3)
    soon += timedelta(minutes=-soon.minute % 30)  # on the half-hour grid of the clinician's day
    if soon.astimezone(CHICAGO).time() == time(23, 30):  # the end of the day, not a slot
        soon += timedelta(minutes=30)
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=soon)
    _, browser = logged_in(app, Role.DESK)
    now = datetime.now(UTC)

    week = browser.get(f"/desk/appointments/{appointment.id}/move")

    assert "Urgent case" in text(week) and "A later time needs a reason" in text(week)
    later = next(link for link in slot_links(week) if link_params(link)[0] > now + timedelta(hours=25))
    confirm = browser.get(later)
    assert "later than 24 hours from now" in text(confirm)
    refused = browser.post(f"/desk/appointments/{appointment.id}/move/confirm",
                           data=hidden_fields(confirm.get_data(as_text=True)))
    assert refused.status_code == 422 and "A reason is needed" in text(refused)
    # The confirmation again, the reason asked for beside its field, posting to the same place.
    assert "Move to this time?" in text(refused) and "Move the appointment" in buttons(text(refused))
    assert re.search(rf'<form method="post" action="/desk/appointments/{appointment.id}/move/confirm">', text(refused))
    assert 'name="override_reason"' in text(refused)
    assert db.session.get(Appointment, appointment.id).status == "booked"
    moved = browser.post(f"/desk/appointments/{appointment.id}/move/confirm",
                         data={**hidden_fields(confirm.get_data(as_text=True)),
                               "override_reason": "Patient cannot come sooner"})
    assert moved.status_code == 302
    db.session.rollback()
    [new] = db.session.scalars(select(Appointment).where(Appointment.rescheduled_from_id == appointment.id)).all()
    assert (new.overrides, new.override_reason) == ("urgent_window", "Patient cannot come sooner")


def test_the_move_is_confirmed_on_a_page_of_its_own(app, clinic):
    """The week of free times is one address, the confirmation of a time another (as a patient's
    reschedule has them), and a time link names its clinician in ?clinician=, as every booking page does."""
    day = next_week_day()
    _, browser = logged_in(app, Role.DESK)
    start = factories.local(day, 11).astimezone(UTC)
    move_path = f"/desk/appointments/{clinic['appointment']}/move"

    week = browser.get(move_path, query_string={"week": day.isoformat()})
    link = next(link for link in slot_links(week) if link_params(link) == (start, clinic["clinician"]))
    assert urlsplit(link).path == f"{move_path}/confirm"
    assert set(parse_qs(urlsplit(link).query)) == {"start", "clinician"}

    confirm = browser.get(link)
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Move to this time?" in page and "Dr Rivera" in page
    assert f"Instead of {when(factories.local(day, 10))}" in words(page)
    assert re.search(rf'<form method="post" action="{move_path}/confirm">', page)
    assert f'<a class="button" href="{move_path}">Choose another time</a>' in page
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED

    # The week's address shows the week, whatever a link adds; it takes no form.
    assert "Move Ada Brown's appointment" in text(browser.get(
        move_path, query_string={"start": start.isoformat(), "clinician": clinic["clinician"]}))
    assert browser.post(move_path, data=hidden_fields(confirm.get_data(as_text=True))).status_code == 405
    # The old name of the argument is not read: the desk is sent back to pick a time.
    old_link = browser.get(f"{move_path}/confirm", query_string={"start": start.isoformat(),
                                                                 "clinician_id": clinic["clinician"]})
    assert old_link.status_code == 302 and old_link.headers["Location"] == move_path
    assert stored(clinic["appointment"]).status == AppointmentStatus.BOOKED


def test_a_past_appointments_move_cannot_be_confirmed(app):
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    patient = factories.make_user()
    past = insert_appointment(patient, clinician, visit, datetime.now(UTC) - timedelta(hours=3))
    start = factories.local(next_week_day(), 11).astimezone(UTC)
    _, browser = logged_in(app, Role.DESK)

    response = browser.get(f"/desk/appointments/{past.id}/move/confirm",
                           query_string={"start": start.isoformat(), "clinician": clinician.id})

    assert response.status_code == 302
    assert "This appointment can no longer be moved." in flashes(browser.get(response.headers["Location"]))


def test_a_move_refused_because_the_appointment_changed_goes_back_to_the_calendar(app, clinic):
    """Once the appointment is cancelled no other time would do: the desk is told why, on the calendar."""
    _, browser = logged_in(app, Role.DESK)
    start = factories.local(next_week_day(), 11).astimezone(UTC)
    confirm = browser.get(f"/desk/appointments/{clinic['appointment']}/move/confirm",
                          query_string={"start": start.isoformat(), "clinician": clinic["clinician"]})
    cancel_page = browser.get(f"/desk/appointments/{clinic['appointment']}/cancel")
    browser.post(f"/desk/appointments/{clinic['appointment']}/cancel",
                 data={**hidden_fields(cancel_page.get_data(as_text=True)), "reason": "Patient called"})

    response = browser.post(f"/desk/appointments/{clinic['appointment']}/move/confirm",
                            data=hidden_fields(confirm.get_data(as_text=True)))

    assert response.status_code == 302 and response.headers["Location"] == f"/desk/?date={next_week_day().isoformat()}"
    assert any("can no longer be changed" in message for message in flashes(browser.get(response.headers["Location"])))
    fresh()
    moved = select(Appointment).where(Appointment.rescheduled_from_id == clinic["appointment"])
    assert db.session.scalar(moved) is None
