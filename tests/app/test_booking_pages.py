"""Patient booking pages through the test client: pick a time, confirm, double submits, races,
tampered forms, my appointments, cancel and reschedule.

The app fixture runs the clinic in America/Chicago with 60 minutes' notice and a 90-day horizon;
factories.make_clinician works 09:00-17:00 every day unless told otherwise.
"""
import html
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from portal import dates
from portal.booking.models import Appointment, AppointmentStatus, Route
from portal.booking.service import book_appointment, cancel_appointment
from portal.extensions import db
from tests import client, factories
from tests.client import AuthActions, csrf_token, hidden_fields
from tests.clinic_dates import long_day, when
from tests.pages import day_strip, first_free_link, parts_of_day, slot_links, text, time_buttons, words

CHICAGO = factories.CHICAGO


# --- reading pages ------------------------------------------------------------------------------

def link_starts(response) -> list[datetime]:
    return [datetime.fromisoformat(parse_qs(urlsplit(link).query)["start"][0]) for link in slot_links(response)]


def link_for(response, start: datetime) -> str:
    """The link offering `start` (any clinician); fails the test if the page does not offer it."""
    for link in slot_links(response):
        if datetime.fromisoformat(parse_qs(urlsplit(link).query)["start"][0]) == start:
            return link
    raise AssertionError(f"{start.isoformat()} is not offered on the page")


def error_notices(response) -> list[str]:
    """The error messages shown at the top of the page."""
    return [message.strip() for message in
            re.findall(r'class="notice notice-error"[^>]*>(.*?)</div>', text(response), re.S)]


def form_action(response) -> str:
    """Where the page's post form goes: its action, or the page itself when it has none."""
    match = re.search(r'<form method="post"(?: action="([^"]*)")?>', response.get_data(as_text=True))
    assert match, "the page has no post form"
    return html.unescape(match.group(1)) if match.group(1) else response.request.url


def week_heading(first_day: date) -> str:
    last_day = first_day + timedelta(days=6)
    return f"{dates.month_day(first_day)} – {dates.dated(last_day)}"


def week_links(response) -> dict[str, str]:
    """The "Previous week" and "Next week" links of the week shown."""
    nav = re.search(r'<nav class="week-nav".*?</nav>', response.get_data(as_text=True), re.S).group(0)
    return {label: html.unescape(href) for href, label in
            re.findall(r'<a class="button" href="([^"]+)">(?:&larr; )?(Previous|Next) week', nav)}


def week_param(url: str) -> str:
    return parse_qs(urlsplit(url).query)["week"][0]


# --- the world ----------------------------------------------------------------------------------

def utc(day: date, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a clinic wall-clock time, as the pages put it in links and forms."""
    return factories.local(day, hour, minute).astimezone(UTC)


def slot_day() -> date:
    """A Tuesday next week: inside the horizon, far from the minimum notice."""
    return factories.future_weekday(1)


def logged_in_patient(app, triage=("general_consult", "routine"), **user_fields):
    """A new patient account, triaged (routine general consult unless `triage` says otherwise),
    and a browser of their own, logged in."""
    return client.logged_in(app, triage=triage, **user_fields)


def confirm_url(start: datetime, clinician_id: int, route: str = Route.GENERAL_CONSULT) -> str:
    return "/book/confirm?" + urlencode({"type": route, "start": start.isoformat(), "clinician": clinician_id})


def open_confirm_page(browser, start: datetime, clinician_id: int, route: str = Route.GENERAL_CONSULT):
    page = browser.get(confirm_url(start, clinician_id, route))
    assert page.status_code == 200, page.status_code
    return page


def post_form(browser, page, **changes):
    """Submit the page's post form with its hidden fields, some of them changed (None drops one)."""
    fields = {**hidden_fields(page.get_data(as_text=True)), **changes}
    return browser.post(form_action(page), data={k: v for k, v in fields.items() if v is not None})


def stored_appointments(**where) -> list[Appointment]:
    db.session.rollback()  # end the test's read snapshot, so rows the app wrote are seen
    statement = select(Appointment).filter_by(**where).order_by(Appointment.id)
    return list(db.session.scalars(statement))


def book_directly(patient, clinician, appointment_type, start: datetime) -> Appointment:
    """An existing booking, made through the booking service by the front desk (with a reason,
    for when it goes against the patient's triage: another route, a second visit of a type)."""
    desk = factories.make_user(role="desk")
    return book_appointment(patient_id=patient.id, clinician_id=clinician.id, booked_by_id=desk.id,
                            appointment_type_id=appointment_type.id, start=start,
                            override_reason="Arranged on the phone")


def past_appointment(patient, clinician, appointment_type, *, days_ago: int, status: str) -> Appointment:
    """A visit that already happened: the service refuses the past, so it is inserted as stored."""
    start = utc(date.today() - timedelta(days=days_ago), 10)
    appointment = Appointment(patient_id=patient.id, clinician_id=clinician.id,
                              appointment_type_id=appointment_type.id, start_at=start,
                              end_at=start + timedelta(minutes=appointment_type.duration_minutes), status=status)
    db.session.add(appointment)
    db.session.commit()
    return appointment


# --- the week of free times ---------------------------------------------------------------------

def test_week_shows_free_times_in_clinic_time(app):
    day = slot_day()
    factories.make_type(minutes=30)
    factories.make_clinician(hours={day.weekday(): [(time(9), time(12))]})
    _, browser = logged_in_patient(app)

    response = browser.get(f"/book/?week={day.isoformat()}")

    assert response.status_code == 200
    page = text(response)
    assert week_heading(day) in page
    assert "Times are clinic time (Central Time)." in page
    day_section = page.split(f'id="day-{day.isoformat()}"')[1].split("</section>")[0]
    for shown in ["9:00 AM", "9:30 AM", "10:00 AM", "10:30 AM", "11:00 AM", "11:30 AM"]:
        assert f">{shown}</a>" in day_section
    assert "12:00 PM" not in day_section  # a 30-minute visit at noon would end after the block
    assert "3:00 PM" not in page  # 09:00 in Chicago is 15:00 UTC: the page must not show UTC
    assert link_starts(response) == [utc(day, 9) + timedelta(minutes=30 * n) for n in range(6)]
    strip = day_strip(response)
    assert [d["says"].endswith("no free times") for d in strip] == [n != 0 for n in range(7)]  # one day of seven
    assert strip[0]["says"] == f"{long_day(day)}: 6 free times" and strip[0]["current"]


def test_week_names_a_zone_with_underscores_as_people_write_it(database_url):
    from tests.conftest import make_app

    west = make_app(database_url, CLINIC_TIMEZONE="America/Los_Angeles")
    try:
        with west.app_context():
            factories.make_type()
            factories.make_clinician()
            patient = factories.make_user()
            factories.make_submission(patient)
            email = patient.email
        browser = west.test_client()
        AuthActions(browser).login(email)
        page = text(browser.get("/book/"))
    finally:
        with west.app_context():
            db.session.remove()
            db.engine.dispose()

    assert "Times are clinic time (Pacific Time)." in page


def test_week_never_offers_a_time_inside_the_minimum_notice(app):
    factories.make_type(minutes=30)
    factories.make_clinician(hours={weekday: [(time(0), time(23, 30))] for weekday in range(7)})
    _, browser = logged_in_patient(app)
    before = datetime.now(UTC)

    starts = link_starts(browser.get("/book/"))

    assert starts, "a clinician working around the clock offers times this week"
    assert min(starts) >= before + timedelta(minutes=60)


def test_week_links_lead_to_the_next_and_previous_weeks(app):
    day = slot_day()
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in_patient(app)

    this_week = browser.get(f"/book/?week={day.isoformat()}")
    later = week_links(this_week)["Next"]
    assert week_param(later) == (day + timedelta(days=7)).isoformat()

    next_week = browser.get(later)
    assert next_week.status_code == 200
    assert week_heading(day + timedelta(days=7)) in text(next_week)
    assert utc(day + timedelta(days=7), 9) in link_starts(next_week)

    earlier = week_links(next_week)["Previous"]
    assert week_param(earlier) == day.isoformat()
    back = browser.get(earlier)
    assert week_heading(day) in text(back)


@pytest.mark.parametrize("week", ["2000-01-03", (date.today() - timedelta(days=3)).isoformat()])
def test_a_week_before_today_starts_today(app, week):
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in_patient(app)
    today = datetime.now(CHICAGO).date()

    response = browser.get(f"/book/?week={week}")

    assert response.status_code == 200
    assert week_heading(today) in text(response)
    assert "Previous" not in week_links(response)
    assert all(start >= datetime.now(UTC) for start in link_starts(response))


# (Control characters never reach the page: tests/app/test_hostile_input.py.)
@pytest.mark.parametrize("week", ["not-a-date", "2026-02-30", "", "99999-01-01", "2026-1-5", "2026-12-01T00:00"])
def test_a_garbled_week_shows_this_week(app, week):
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in_patient(app)
    today = datetime.now(CHICAGO).date()

    response = browser.get("/book/", query_string={"week": week})

    assert response.status_code == 200
    assert week_heading(today) in text(response)


def test_a_week_past_the_horizon_is_not_shown(app):
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in_patient(app)
    today = datetime.now(CHICAGO).date()

    response = browser.get("/book/?week=2999-01-05")

    assert response.status_code == 200
    # The seven days that end on the last day that can be booked.
    assert week_heading(today + timedelta(days=84)) in text(response)
    assert "Next" not in week_links(response)


def test_every_time_offered_can_be_booked_even_at_the_horizon(app):
    factories.make_type()
    factories.make_clinician()
    patient, browser = logged_in_patient(app)

    last_week = browser.get("/book/?week=2999-01-05")  # the farthest week the page will show
    last_day = browser.get([day["link"] for day in day_strip(last_week) if day["link"]][-1])
    confirm = browser.get(slot_links(last_day)[-1])
    response = post_form(browser, confirm)

    assert "too far ahead" not in text(response)
    assert response.status_code == 302
    assert len(stored_appointments(patient_id=patient.id)) == 1


# --- the slot picker: a strip of days, one day's times, the first free time ---------------------

def day_param(link: str) -> str:
    return parse_qs(urlsplit(link).query)["day"][0]


def test_the_day_strip_says_how_many_free_times_each_day_has(app):
    day = slot_day()  # a Tuesday: the week shown runs Tuesday to Monday
    thursday = day + timedelta(days=2)
    factories.make_type(minutes=30)
    factories.make_clinician(hours={day.weekday(): [(time(9), time(12))], thursday.weekday(): [(time(9), time(10))]})
    _, browser = logged_in_patient(app)

    strip = day_strip(browser.get(f"/book/?week={day.isoformat()}"))

    said = [entry["says"] for entry in strip]
    assert said[0] == f"{long_day(day)}: 6 free times"
    assert said[1] == f"{long_day(day + timedelta(days=1))}: no free times"
    assert said[2] == f"{long_day(thursday)}: 2 free times"
    assert len(strip) == 7 and all(entry.endswith("no free times") for entry in said[3:])
    # The first day with times is chosen; a day with none is shown but is not a link.
    assert [entry["current"] for entry in strip] == [True] + [False] * 6
    assert strip[1]["link"] is None and strip[2]["link"] is not None
    assert (week_param(strip[2]["link"]), day_param(strip[2]["link"])) == (day.isoformat(), thursday.isoformat())


def test_the_page_shows_the_chosen_days_times_only(app):
    day = slot_day()
    thursday = day + timedelta(days=2)
    factories.make_type(minutes=30)
    factories.make_clinician()  # 09:00-17:00 every day
    _, browser = logged_in_patient(app)

    first = browser.get(f"/book/?week={day.isoformat()}")
    assert {start.astimezone(CHICAGO).date() for start in link_starts(first)} == {day}
    assert len(link_starts(first)) == 16

    # Choosing a day is a plain link (no form, no script): the page shows that day's times instead.
    chosen = browser.get(day_strip(first)[2]["link"])
    assert chosen.status_code == 200
    assert link_starts(chosen) == [utc(thursday, 9) + timedelta(minutes=30 * n) for n in range(16)]
    assert [entry["current"] for entry in day_strip(chosen)] == [False, False, True, False, False, False, False]
    assert f'id="day-{thursday.isoformat()}"' in chosen.get_data(as_text=True)
    assert f'id="day-{day.isoformat()}"' not in chosen.get_data(as_text=True)


def test_a_days_times_are_grouped_into_morning_afternoon_and_evening(app):
    day = slot_day()
    factories.make_type(minutes=30)
    factories.make_clinician(hours={day.weekday(): [(time(11), time(13)), (time(16, 30), time(18))]})
    _, browser = logged_in_patient(app)

    response = browser.get(f"/book/?week={day.isoformat()}&day={day.isoformat()}")

    assert parts_of_day(response) == [("Morning", ["11:00 AM", "11:30 AM"]),
                                      ("Afternoon", ["12:00 PM", "12:30 PM", "4:30 PM"]),
                                      ("Evening", ["5:00 PM", "5:30 PM"])]


def test_a_day_without_afternoon_times_shows_no_afternoon_heading(app):
    day = slot_day()
    factories.make_type(minutes=30)
    factories.make_clinician(hours={day.weekday(): [(time(8), time(9))]})
    _, browser = logged_in_patient(app)

    response = browser.get(f"/book/?week={day.isoformat()}")

    assert parts_of_day(response) == [("Morning", ["8:00 AM", "8:30 AM"])]


def test_the_first_free_time_is_offered_at_the_top_whatever_the_week_shown(app):
    day = slot_day()
    factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    # Away until the Tuesday: its 9:00 AM is the first time anyone can book.
    factories.make_time_off(clinician, datetime.now(UTC) - timedelta(hours=1), utc(day, 0))
    _, browser = logged_in_patient(app)

    for week in ("", day.isoformat(), (day + timedelta(days=7)).isoformat()):
        response = browser.get("/book/", query_string={"week": week} if week else {})
        link = first_free_link(response)
        assert link, f"no first free time on the week of {week or 'today'}"
        assert datetime.fromisoformat(parse_qs(urlsplit(link).query)["start"][0]) == utc(day, 9)
        page = response.get_data(as_text=True)
        assert page.index("sp-first-time") < page.index('class="sp-strip"')  # on top, before the days
        assert f"First free time: {long_day(day)} at 9:00 AM" in words(page)
    confirm = browser.get(first_free_link(response))
    assert confirm.status_code == 200 and "Confirm your visit" in text(confirm)


def test_no_first_free_time_when_there_is_none(app):
    factories.make_type()
    factories.make_clinician(hours={})
    _, browser = logged_in_patient(app)

    response = browser.get("/book/")

    assert first_free_link(response) is None
    assert "There are no free times this week" in text(response)


@pytest.mark.parametrize("asked", ["garbage", "2026-02-30", "later", "+3"])
def test_a_garbled_day_says_so_and_shows_the_first_day_with_times(app, asked):
    day = slot_day()
    wednesday = day + timedelta(days=1)
    factories.make_type(minutes=30)
    factories.make_clinician(hours={wednesday.weekday(): [(time(9), time(10))]})
    _, browser = logged_in_patient(app)

    response = browser.get("/book/", query_string={"week": day.isoformat(), "day": asked})

    assert response.status_code == 200
    assert (f"We could not show the day in that link, so here is {long_day(wednesday)}, "
            "the first day of this week with free times.") in words(response.get_data(as_text=True))
    assert link_starts(response) == [utc(wednesday, 9), utc(wednesday, 9, 30)]
    assert [entry["current"] for entry in day_strip(response)][1]


def test_a_day_of_another_week_is_not_shown_in_this_one(app):
    day = slot_day()
    factories.make_type(minutes=30)
    factories.make_clinician()
    _, browser = logged_in_patient(app)

    response = browser.get("/book/", query_string={"week": day.isoformat(),
                                                   "day": (day + timedelta(days=9)).isoformat()})

    assert response.status_code == 200
    assert "We could not show the day in that link" in text(response)
    assert {start.astimezone(CHICAGO).date() for start in link_starts(response)} == {day}


def test_the_page_height_is_bounded_by_one_days_times(app):
    """A clinician working around the clock has 7 x 47 free half-hours in the week; the page
    shows one day's (at most 48 buttons), not the 2,199-pixel grid of every time of the week."""
    day = slot_day()
    factories.make_type(minutes=30)
    factories.make_clinician(hours={weekday: [(time(0), time(23, 30))] for weekday in range(7)})
    _, browser = logged_in_patient(app)

    response = browser.get(f"/book/?week={day.isoformat()}")

    assert 0 < len(slot_links(response)) <= 48
    assert {start.astimezone(CHICAGO).date() for start in link_starts(response)} == {day}
    assert all(entry["says"].endswith("47 free times") for entry in day_strip(response))


def test_each_time_button_names_its_day_and_time(app):
    day = slot_day()
    factories.make_type(minutes=30)
    factories.make_clinician(name="Dr Rivera", hours={day.weekday(): [(time(9), time(10))]})
    _, browser = logged_in_patient(app)

    response = browser.get(f"/book/?week={day.isoformat()}")

    on = long_day(day)
    assert time_buttons(response) == [f"{on}, 9:00 AM", f"{on}, 9:30 AM"]


def test_with_several_clinicians_each_time_button_names_the_clinician_it_books(app):
    day = slot_day()
    factories.make_type(minutes=30)
    rivera = factories.make_clinician(name="Dr Rivera", hours={day.weekday(): [(time(9), time(10))]})
    factories.make_clinician(name="Dr Okafor", hours={day.weekday(): [(time(10), time(11))]})
    _, browser = logged_in_patient(app)

    response = browser.get(f"/book/?week={day.isoformat()}")

    on = long_day(day)
    assert time_buttons(response) == [f"{on}, 9:00 AM with Dr Rivera", f"{on}, 9:30 AM with Dr Rivera",
                                      f"{on}, 10:00 AM with Dr Okafor", f"{on}, 10:30 AM with Dr Okafor"]
    # The clinician filter keeps the chosen day's strip and times to that clinician.
    only_rivera = browser.get(f"/book/?week={day.isoformat()}&clinician={rivera.id}")
    assert link_starts(only_rivera) == [utc(day, 9), utc(day, 9, 30)]
    assert all(parse_qs(urlsplit(link).query)["clinician"] == [str(rivera.id)]
               for link in [entry["link"] for entry in day_strip(only_rivera) if entry["link"]])


def test_the_picker_works_without_scripts_and_loads_only_script_files(app):
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in_patient(app)

    page = browser.get("/book/").get_data(as_text=True)

    scripts = re.findall(r"<script([^>]*)>", page)
    assert ' src="/static/slots.js" defer' in scripts
    assert all(re.fullmatch(r' src="/static/[\w.]+\.js" defer', script) for script in scripts)  # no inline script
    assert browser.get("/static/slots.js").status_code == 200
    assert 'aria-label="Choose a day"' in page


# --- booking ------------------------------------------------------------------------------------

def test_book_a_time_from_the_week_page(app):
    day = slot_day()
    visit = factories.make_type(minutes=30, name="General consultation")
    clinician = factories.make_clinician(name="Dr Rivera")
    patient, browser = logged_in_patient(app)
    start = utc(day, 10)

    week = browser.get(f"/book/?week={day.isoformat()}")
    confirm = browser.get(link_for(week, start))
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Confirm your visit" in page
    assert when(factories.local(day, 10)) in page
    assert "Dr Rivera" in page and "General consultation" in page
    assert stored_appointments() == []  # showing the confirm page books nothing

    response = post_form(browser, confirm)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/appointments/"
    [appointment] = stored_appointments()
    assert appointment.patient_id == patient.id
    assert appointment.clinician_id == clinician.id
    assert appointment.appointment_type_id == visit.id
    assert appointment.start_at == start
    assert appointment.end_at == start + timedelta(minutes=30)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.booked_by_id == patient.id

    mine = text(browser.get(response.headers["Location"]))
    assert "Your general consultation is booked." in mine
    assert when(factories.local(day, 10)) in mine
    assert start not in link_starts(browser.get(f"/book/?week={day.isoformat()}"))  # no longer offered


def test_submitting_the_same_confirm_form_twice_books_once(app):
    day = slot_day()
    factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    confirm = open_confirm_page(browser, utc(day, 10), clinician.id)

    first = post_form(browser, confirm)
    second = post_form(browser, confirm)

    assert first.status_code == 302 and second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    [appointment] = stored_appointments()
    assert appointment.patient_id == patient.id


def test_two_confirm_pages_for_the_same_time_book_once(app):
    """Two tabs (two idempotency keys) for one time: the patient cannot hold it twice."""
    day = slot_day()
    factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    first_tab = open_confirm_page(browser, utc(day, 10), clinician.id)
    second_tab = open_confirm_page(browser, utc(day, 10), clinician.id)

    assert post_form(browser, first_tab).status_code == 302
    response = post_form(browser, second_tab)

    assert response.status_code in (409, 422)
    assert len(stored_appointments(patient_id=patient.id)) == 1


def test_the_loser_of_a_race_is_told_and_offered_the_next_free_times(app):
    day = slot_day()
    factories.make_type(minutes=30)
    clinician = factories.make_clinician()
    winner, winner_browser = logged_in_patient(app)
    loser, loser_browser = logged_in_patient(app)
    start = utc(day, 10)
    winner_page = open_confirm_page(winner_browser, start, clinician.id)
    loser_page = open_confirm_page(loser_browser, start, clinician.id)

    assert post_form(winner_browser, winner_page).status_code == 302
    response = post_form(loser_browser, loser_page)

    assert response.status_code == 409
    page = text(response)
    assert "that time was just taken" in page.lower()
    assert "Nothing was booked." in page
    alternatives = slot_links(response)
    assert alternatives, "the next free times are listed as links"
    assert all(urlsplit(link).path == "/book/confirm" for link in alternatives)
    offered = link_starts(response)
    assert start not in offered
    assert offered[0] == utc(day, 10, 30)  # the very next time of that clinician
    [appointment] = stored_appointments()
    assert appointment.patient_id == winner.id
    assert stored_appointments(patient_id=loser.id) == []

    # The loser can take one of the times offered.
    retry = loser_browser.get(alternatives[0])
    assert post_form(loser_browser, retry).status_code == 302
    assert len(stored_appointments(patient_id=loser.id)) == 1


def test_a_form_used_by_one_patient_cannot_be_replayed_by_another(app):
    day = slot_day()
    factories.make_type()
    clinician = factories.make_clinician()
    first, first_browser = logged_in_patient(app)
    second, second_browser = logged_in_patient(app)
    first_page = open_confirm_page(first_browser, utc(day, 10), clinician.id)
    assert post_form(first_browser, first_page).status_code == 302
    used_key = hidden_fields(first_page.get_data(as_text=True))["idempotency_key"]
    second_page = open_confirm_page(second_browser, utc(day, 11), clinician.id)

    response = post_form(second_browser, second_page, idempotency_key=used_key)

    assert response.status_code == 302 and response.headers["Location"] == "/appointments/"
    assert "This page was already used" in text(second_browser.get("/appointments/"))
    assert stored_appointments(patient_id=second.id) == []
    assert len(stored_appointments()) == 1


PICK_AGAIN = object()


@pytest.mark.parametrize("changes, status, message", [
    ({"start": utc(date(2020, 1, 7), 10).isoformat()}, 422, "That time has passed or is too soon"),
    ({"start": (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0).isoformat()},
     422, "That time has passed or is too soon"),
    ({"start": utc(date.today() + timedelta(days=200), 10).isoformat()}, 422, "too far ahead"),
    ({"start": utc(factories.future_weekday(1), 3).isoformat()}, 422, "outside the clinician's working hours"),
    ({"start": utc(factories.future_weekday(1), 10, 10).isoformat()}, 422, "outside the clinician's working hours"),
    ({"clinician_id": "987654"}, 422, "That clinician or visit type does not exist."),
    ({"start": "next tuesday at ten"}, 302, PICK_AGAIN),
    ({"start": "2026-12-08T10:00:00"}, 302, PICK_AGAIN),  # no zone
    ({"start": None}, 302, PICK_AGAIN),
    ({"clinician_id": "dr-rivera"}, 302, PICK_AGAIN),
    ({"clinician_id": "-1"}, 302, PICK_AGAIN),
    ({"idempotency_key": "not-a-key"}, 302, PICK_AGAIN),
    ({"csrf_token": None}, 400, "This form has expired"),
    ({"csrf_token": "forged"}, 400, "This form has expired"),
], ids=["past", "inside-notice", "past-horizon", "3am-local", "off-grid", "no-such-clinician", "start-not-iso",
        "start-naive", "start-missing", "clinician-not-a-number", "clinician-negative", "bad-key",
        "csrf-missing", "csrf-forged"])
def test_a_tampered_confirm_form_books_nothing_and_says_why(app, changes, status, message):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    factories.make_type()
    clinician = factories.make_clinician()
    _, browser = logged_in_patient(app)
    confirm = open_confirm_page(browser, utc(slot_day(), 10), clinician.id)

    response = post_form(browser, confirm, **changes)

    assert response.status_code == status
    if message is PICK_AGAIN:  # a form that cannot be read: back to the times, asked to pick again
        assert urlsplit(response.headers["Location"]).path == "/book/"
        notices = error_notices(browser.get(response.headers["Location"]))
        assert any("pick" in notice.lower() for notice in notices), notices
    else:
        assert message in text(response)
    assert stored_appointments() == []


END_OF_TIME = "9999-12-31T23:59:00+00:00"


@pytest.mark.parametrize("way", ["confirm-form", "confirm-link"])
def test_a_start_at_the_end_of_time_is_refused_not_a_server_error(app, way):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    factories.make_type()
    clinician = factories.make_clinician()
    _, browser = logged_in_patient(app)

    if way == "confirm-form":
        confirm = open_confirm_page(browser, utc(slot_day(), 10), clinician.id)
        response = post_form(browser, confirm, start=END_OF_TIME)
    else:
        response = browser.get("/book/confirm", query_string={"type": "general_consult", "start": END_OF_TIME,
                                                              "clinician": clinician.id})

    assert response.status_code < 500
    assert stored_appointments() == []


@pytest.mark.parametrize("url", [
    "/book/?clinician=%C2%B2",
    "/book/confirm?type=general_consult&start=2030-01-01T15:00:00%2B00:00&clinician=%C2%B2",
    "/book/confirm?type=general_consult&start=2030-01-01T15:00:00%2B00:00&clinician=" + "9" * 30,
], ids=["week-superscript", "confirm-superscript", "confirm-huge-id"])
def test_a_tampered_link_is_never_a_server_error(app, url):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in_patient(app)

    response = browser.get(url)

    assert response.status_code < 500


@pytest.mark.parametrize("query", [
    {"start": "soon", "clinician": "1"},
    {"start": "2030-01-01T15:00:00", "clinician": "1"},
    {"start": "2030-01-01T15:00:00+00:00", "clinician": "424242"},
    {"start": "2030-01-01T15:00:00+00:00"},
    {},
], ids=["start-garbled", "start-naive", "no-such-clinician", "no-clinician", "nothing"])
def test_a_confirm_link_without_a_usable_time_sends_back_to_the_times(app, query):
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in_patient(app)

    response = browser.get("/book/confirm", query_string={"type": "general_consult", **query})

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/book/"
    assert "Please pick one of the times shown." in text(browser.get(response.headers["Location"]))


def test_a_second_booking_at_the_same_time_with_another_clinician_is_refused(app):
    day = slot_day()
    visit = factories.make_type()
    first_clinician = factories.make_clinician()
    second_clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    book_directly(patient, first_clinician, visit, utc(day, 10))

    confirm = open_confirm_page(browser, utc(day, 10), second_clinician.id)
    response = post_form(browser, confirm)

    assert response.status_code == 422
    assert "You already have an appointment at that time." in text(response)
    [appointment] = stored_appointments()
    assert appointment.clinician_id == first_clinician.id


def test_a_booking_overlapping_a_longer_visit_of_the_same_patient_is_refused(app):
    day = slot_day()
    scan = factories.make_type(Route.VASCULAR_ULTRASOUND, minutes=60)
    factories.make_type(Route.GENERAL_CONSULT, minutes=30)
    first_clinician = factories.make_clinician()
    second_clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    book_directly(patient, first_clinician, scan, utc(day, 10))  # 10:00-11:00

    confirm = open_confirm_page(browser, utc(day, 10, 30), second_clinician.id)  # 10:30-11:00
    response = post_form(browser, confirm)

    assert response.status_code == 422
    assert "You already have an appointment at that time." in text(response)
    assert len(stored_appointments()) == 1


# --- my appointments ----------------------------------------------------------------------------

def test_my_appointments_lists_upcoming_then_past_and_cancelled(app):
    day = slot_day()
    visit = factories.make_type(name="General consultation")
    clinician = factories.make_clinician(name="Dr Rivera")
    patient, browser = logged_in_patient(app)
    stranger = factories.make_user()
    upcoming = book_directly(patient, clinician, visit, utc(day, 10))
    cancelled = book_directly(patient, clinician, visit, utc(day + timedelta(days=1), 11))
    cancel_appointment(cancelled.id, by_user=patient, reason="I feel better")
    attended = past_appointment(patient, clinician, visit, days_ago=8, status=AppointmentStatus.FULFILLED)
    missed = past_appointment(patient, clinician, visit, days_ago=15, status=AppointmentStatus.NOSHOW)
    book_directly(stranger, clinician, visit, utc(day, 14))

    response = browser.get("/appointments/")

    assert response.status_code == 200
    coming_up, history = text(response).split("Past and canceled")
    assert when(factories.local(day, 10)) in coming_up
    assert "General consultation with Dr Rivera" in coming_up
    assert f"/appointments/{upcoming.id}/reschedule" in coming_up
    assert f"/appointments/{upcoming.id}/cancel" in coming_up
    assert f"/appointments/{cancelled.id}/" not in coming_up

    def shown(appointment):
        return when(appointment.start_at, short=True)

    assert f"{shown(cancelled)}" in history and "Canceled" in history and "(I feel better)" in history
    assert shown(attended) in history and "Attended" in history
    assert shown(missed) in history and "Missed" in history
    assert history.index(shown(cancelled)) < history.index(shown(attended)) < history.index(shown(missed))
    assert "2:00 PM" not in coming_up  # the stranger's appointment is not shown


def test_my_appointments_says_so_when_there_are_none(app):
    _, browser = logged_in_patient(app)

    page = text(browser.get("/appointments/"))

    assert "You have no upcoming appointments." in page
    assert "Nothing yet." in page


# --- cancelling ---------------------------------------------------------------------------------

def test_cancel_asks_first_then_cancels_and_keeps_the_row(app):
    day = slot_day()
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    appointment = book_directly(patient, clinician, visit, utc(day, 10))

    question = browser.get(f"/appointments/{appointment.id}/cancel")

    assert question.status_code == 200
    assert "Cancel this appointment?" in text(question)
    assert when(factories.local(day, 10)) in text(question)
    assert stored_appointments()[0].status == AppointmentStatus.BOOKED  # asking changes nothing

    response = post_form(browser, question, reason="I feel better", details="  Legs are calmer  ")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/appointments/"
    assert "Your appointment is canceled." in text(browser.get(response.headers["Location"]))
    [row] = stored_appointments()
    assert row.id == appointment.id
    assert row.status == AppointmentStatus.CANCELLED
    assert row.cancellation_reason == "I feel better - Legs are calmer"
    assert row.cancelled_by_id == patient.id
    assert row.cancelled_at is not None
    assert utc(day, 10) in link_starts(browser.get(f"/book/?week={day.isoformat()}"))  # free again


def test_cancel_without_a_reason_records_one(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    appointment = book_directly(patient, clinician, visit, utc(slot_day(), 10))

    question = browser.get(f"/appointments/{appointment.id}/cancel")
    post_form(browser, question, reason="", details="")

    [row] = stored_appointments()
    assert row.status == AppointmentStatus.CANCELLED
    assert row.cancellation_reason


def test_cancel_with_an_unknown_reason_is_refused(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    appointment = book_directly(patient, clinician, visit, utc(slot_day(), 10))

    question = browser.get(f"/appointments/{appointment.id}/cancel")
    response = post_form(browser, question, reason="<script>alert(1)</script>")

    assert response.status_code == 400
    assert stored_appointments()[0].status == AppointmentStatus.BOOKED


def test_cancelling_twice_says_it_is_already_cancelled(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    appointment = book_directly(patient, clinician, visit, utc(slot_day(), 10))
    question = browser.get(f"/appointments/{appointment.id}/cancel")
    post_form(browser, question, reason="I feel better")

    again = post_form(browser, question, reason="Other")

    assert again.status_code == 302
    assert "can no longer be changed" in text(browser.get(again.headers["Location"]))
    [row] = stored_appointments()
    assert row.cancellation_reason == "I feel better"


def test_cancel_without_csrf_token_is_refused(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    appointment = book_directly(patient, clinician, visit, utc(slot_day(), 10))

    response = browser.post(f"/appointments/{appointment.id}/cancel", data={"reason": "Other"})

    assert response.status_code == 400
    assert stored_appointments()[0].status == AppointmentStatus.BOOKED


@pytest.mark.parametrize("method, path", [
    ("get", "/appointments/{id}/cancel"),
    ("post", "/appointments/{id}/cancel"),
    ("get", "/appointments/{id}/reschedule"),
    ("get", "/appointments/{id}/reschedule/confirm?start={start}&clinician={clinician}"),
    ("post", "/appointments/{id}/reschedule/confirm"),
])
def test_another_patients_appointment_is_not_found(app, method, path):
    day = slot_day()
    visit = factories.make_type()
    clinician = factories.make_clinician()
    owner = factories.make_user()
    theirs = book_directly(owner, clinician, visit, utc(day, 10))
    _, browser = logged_in_patient(app)
    token = csrf_token(browser.get("/").get_data(as_text=True))
    url = path.format(id=theirs.id, start=utc(day, 14).isoformat().replace("+", "%2B"), clinician=clinician.id)

    if method == "get":
        response = browser.get(url)
    else:
        response = browser.post(url, data={"csrf_token": token, "reason": "Other", "start": utc(day, 14).isoformat(),
                                           "clinician_id": str(clinician.id), "idempotency_key": "a" * 32})

    assert response.status_code == 404
    assert "We could not find that page" in text(response)
    [row] = stored_appointments()
    assert row.status == AppointmentStatus.BOOKED and row.start_at == utc(day, 10)


def test_an_appointment_that_does_not_exist_is_not_found(app):
    _, browser = logged_in_patient(app)

    assert browser.get("/appointments/424242/cancel").status_code == 404
    assert browser.get("/appointments/424242/reschedule").status_code == 404


# --- rescheduling -------------------------------------------------------------------------------

def test_reschedule_moves_the_appointment(app):
    day = slot_day()
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    old = book_directly(patient, clinician, visit, utc(day, 10))

    week = browser.get(f"/appointments/{old.id}/reschedule?week={day.isoformat()}")

    assert week.status_code == 200
    page = text(week)
    assert "Move your appointment" in page
    assert when(factories.local(day, 10)) in page
    assert all(urlsplit(link).path == f"/appointments/{old.id}/reschedule/confirm" for link in slot_links(week))
    assert utc(day, 10) not in link_starts(week)  # the current time is not offered as a new one

    confirm = browser.get(link_for(week, utc(day, 14)))
    assert confirm.status_code == 200
    assert "Confirm the new time" in text(confirm)
    assert "Instead of" in text(confirm)
    assert stored_appointments()[0].status == AppointmentStatus.BOOKED  # still booked until confirmed

    response = post_form(browser, confirm)

    assert response.status_code == 302
    assert "Your appointment has been moved." in text(browser.get(response.headers["Location"]))
    old_row, new_row = stored_appointments()
    assert old_row.id == old.id
    assert old_row.status == AppointmentStatus.CANCELLED
    assert old_row.cancellation_reason == "Moved to another time"
    assert new_row.status == AppointmentStatus.BOOKED
    assert new_row.rescheduled_from_id == old.id
    assert new_row.start_at == utc(day, 14)
    assert new_row.patient_id == patient.id
    assert new_row.clinician_id == clinician.id
    assert new_row.appointment_type_id == visit.id


def test_rescheduling_twice_with_the_same_form_moves_once(app):
    day = slot_day()
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    old = book_directly(patient, clinician, visit, utc(day, 10))
    confirm = browser.get(link_for(browser.get(f"/appointments/{old.id}/reschedule?week={day.isoformat()}"),
                                   utc(day, 14)))

    first = post_form(browser, confirm)
    second = post_form(browser, confirm)

    assert first.status_code == 302 and second.status_code == 302
    rows = stored_appointments()
    assert len(rows) == 2
    assert [row.status for row in rows] == [AppointmentStatus.CANCELLED, AppointmentStatus.BOOKED]


def test_reschedule_to_a_time_taken_meanwhile_keeps_the_old_appointment(app):
    day = slot_day()
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    old = book_directly(patient, clinician, visit, utc(day, 10))
    confirm = browser.get(link_for(browser.get(f"/appointments/{old.id}/reschedule?week={day.isoformat()}"),
                                   utc(day, 14)))
    book_directly(factories.make_user(), clinician, visit, utc(day, 14))  # someone else is quicker

    response = post_form(browser, confirm)

    assert response.status_code == 409
    page = text(response)
    assert "that time was just taken" in page.lower()
    assert "Nothing was booked." in page
    alternatives = slot_links(response)
    assert alternatives
    assert all(urlsplit(link).path == f"/appointments/{old.id}/reschedule/confirm" for link in alternatives)
    mine = stored_appointments(patient_id=patient.id)
    assert [(row.id, row.status, row.start_at) for row in mine] == [(old.id, AppointmentStatus.BOOKED, utc(day, 10))]


def test_a_cancelled_appointment_cannot_be_rescheduled(app):
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    appointment = book_directly(patient, clinician, visit, utc(slot_day(), 10))
    cancel_appointment(appointment.id, by_user=patient, reason="Other")

    response = browser.get(f"/appointments/{appointment.id}/reschedule")

    assert response.status_code == 302
    assert "can no longer be moved" in text(browser.get(response.headers["Location"]))


def test_resubmitting_a_confirm_page_after_cancelling_never_claims_a_booking_that_is_not_there(app):
    day = slot_day()
    factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    confirm = open_confirm_page(browser, utc(day, 10), clinician.id)
    assert post_form(browser, confirm).status_code == 302
    [booked] = stored_appointments()
    question = browser.get(f"/appointments/{booked.id}/cancel")
    post_form(browser, question, reason="I booked by mistake")

    response = post_form(browser, confirm)  # back to the confirm page, "Book this time" again

    shown = text(browser.get(response.headers["Location"])) if response.status_code == 302 else text(response)
    active = [a for a in stored_appointments(patient_id=patient.id) if a.status == AppointmentStatus.BOOKED]
    assert active or "is booked" not in shown


def test_moving_an_appointment_cancelled_meanwhile_offers_no_times(app):
    day = slot_day()
    visit = factories.make_type()
    clinician = factories.make_clinician()
    patient, browser = logged_in_patient(app)
    old = book_directly(patient, clinician, visit, utc(day, 10))
    confirm = browser.get(link_for(browser.get(f"/appointments/{old.id}/reschedule?week={day.isoformat()}"),
                                   utc(day, 14)))
    cancel_appointment(old.id, by_user=patient, reason="Other")  # in another tab, or by the front desk

    response = post_form(browser, confirm)

    assert response.status_code == 302 and response.headers["Location"] == "/appointments/"
    shown = browser.get("/appointments/")
    assert "can no longer be changed" in text(shown)
    assert stored_appointments(status=AppointmentStatus.BOOKED) == []
    assert slot_links(shown) == []
