"""The patient's free times as JSON (/book/slots.json), for the slot picker and for scripts: who may
ask, why there may be nothing to book, the very times of the /book/ page, the booking rules, bad
input said in `notices` (never a 500, never flashed into the next page), and a time from the JSON
booked through its confirmation page.

The app fixture runs the clinic in America/Chicago with 60 minutes' notice and a 90-day horizon;
factories.make_clinician works 09:00-17:00 every day unless told otherwise.
"""
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from portal import dates
from portal.auth.models import Role
from portal.booking.models import AppointmentStatus, AppointmentType, Route
from portal.booking.views import NOT_BOOKABLE_MESSAGES
from portal.extensions import db
from tests import factories
from tests.app.test_booking_pages import (
    book_directly,
    logged_in_patient,
    post_form,
    slot_day,
    stored_appointments,
    utc,
    week_links,
    week_param,
)
from tests.client import logged_in
from tests.clinic_dates import long_day, when
from tests.pages import day_strip, first_free_link, slot_links, text

CHICAGO = factories.CHICAGO
ALL_DAY = {weekday: [(time(0), time(23, 30))] for weekday in range(7)}
URL = "/book/slots.json"

UNREADABLE_WEEK = "We could not read the week in that link, so here are the times from today."
WEEK_BEFORE_TODAY = "That week starts before today, so here are the times from today."
NOT_THIS_CLINICIAN = "That clinician does not give this visit, so here are the times of every clinician who does."


# --- reading the JSON and the pages ---------------------------------------------------------------

def free_times(browser, **query) -> dict:
    """The JSON of /book/slots.json for `query`, which must be a 200 JSON answer."""
    response = browser.get(URL, query_string=query)
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    return response.get_json()


def times_of(day: dict) -> list[tuple[datetime, int]]:
    """A JSON day's times as a time link names them: the start and the (first) clinician it books."""
    return [(datetime.fromisoformat(time_["start"]), time_["clinician_ids"][0]) for time_ in day["times"]]


def all_starts(data: dict) -> list[datetime]:
    return [start for day in data["days"] for start, _ in times_of(day)]


def linked_time(link: str) -> tuple[datetime, int]:
    query = parse_qs(urlsplit(link).query)
    return datetime.fromisoformat(query["start"][0]), int(query["clinician"][0])


def page_times(response) -> list[tuple[datetime, int]]:
    """The times the page offers, as (start, clinician) of each time link, in page order."""
    return [linked_time(link) for link in slot_links(response)]


def flashed(browser) -> list:
    """The messages waiting in the browser's session for its next page."""
    with browser.session_transaction() as session:
        return list(session.get("_flashes", []))


def shown_notices(response) -> list[str]:
    """The flashed messages at the top of a page (base.html shows each in a div of its own)."""
    return [message.strip() for message in
            re.findall(r'<div class="notice notice-\w+"[^>]*>(.*?)</div>', text(response), re.S)]


def strip_says(day: date, count: int) -> str:
    """What the page's strip of days says of a day with `count` free times."""
    return f"{long_day(day)}: " + (
        "no free times" if count == 0 else f"{count} free time" if count == 1 else f"{count} free times")


def clinic_today() -> date:
    return datetime.now(CHICAGO).date()


# --- the world ------------------------------------------------------------------------------------

@pytest.fixture
def two_clinicians(app):
    """A 30-minute visit given by Dr Rivera and Dr Okafor, whose hours overlap on one day of next
    week (so some times have two clinicians), with one time already booked and some time off;
    nobody is free before that day, so the first free time is the same whenever the test runs.
    Also a clinician who gives another visit only, and one who no longer works here."""
    day = slot_day()  # a Tuesday; the week shown from it runs Tuesday to Monday
    visit = factories.make_type(minutes=30, name="General consultation")
    rivera = factories.make_clinician(name="Dr Rivera", hours={day.weekday(): [(time(9), time(12))],
                                                               (day.weekday() + 2) % 7: [(time(9), time(10))]})
    okafor = factories.make_clinician(name="Dr Okafor", hours={day.weekday(): [(time(10), time(13))],
                                                               (day.weekday() + 1) % 7: [(time(14), time(15))]})
    gone = factories.make_clinician(name="Dr Gone")
    gone.active = False
    scans_only = factories.make_clinician(name="Dr Scan")
    scans_only.appointment_types.remove(visit)
    factories.make_type(Route.VASCULAR_ULTRASOUND)  # given by everyone: Dr Scan gives this one
    db.session.commit()
    book_directly(factories.make_user(), rivera, visit, utc(day, 11))
    factories.make_time_off(okafor, utc(day + timedelta(days=1), 14), utc(day + timedelta(days=1), 14, 30))
    for clinician in (rivera, okafor):
        factories.make_time_off(clinician, datetime.now(UTC) - timedelta(hours=1), utc(day, 0))
    return day, rivera, okafor


# --- who may ask ----------------------------------------------------------------------------------

def test_a_visitor_is_told_to_log_in_in_json_not_sent_to_the_login_page(app, client):
    factories.make_type()
    factories.make_clinician()

    response = client.get(URL)

    assert response.status_code == 401
    assert "Location" not in response.headers
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "login_required"
    assert response.get_json()["message"]
    # Nothing waits for the login page either ("Please log in to see that page." is for people).
    assert flashed(client) == []
    assert shown_notices(client.get("/auth/login")) == []
    # The page for people still sends a visitor to log in.
    assert urlsplit(client.get("/book/").headers["Location"]).path == "/auth/login"


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.DESK, Role.ADMIN])
def test_staff_are_refused(app, role):
    factories.make_type()
    factories.make_clinician()
    _, browser = logged_in(app, role)

    response = browser.get(URL)

    assert response.status_code == 403
    assert "days" not in (response.get_json(silent=True) or {})


# --- nothing to book ------------------------------------------------------------------------------

def no_triage(patient):
    pass


def open_emergency(patient):
    factories.make_submission(patient, "general_consult", "emergency")


def emergency_answered_again(patient):
    """Answering again after an emergency does not reopen booking: a doctor must see it first."""
    factories.make_submission(patient, "general_consult", "emergency")
    factories.make_submission(patient, "general_consult", "routine")


def visit_not_booked_online(patient):
    factories.make_submission(patient, "vascular_ultrasound", "routine")
    scan = db.session.scalar(db.select(AppointmentType).where(AppointmentType.route == Route.VASCULAR_ULTRASOUND))
    scan.active = False
    db.session.commit()


@pytest.mark.parametrize("triage, reason", [
    (no_triage, "questions_first"),
    (open_emergency, "booking_closed"),
    (emergency_answered_again, "booking_closed"),
    (visit_not_booked_online, "call_us"),
], ids=["no-triage", "open-emergency", "emergency-answered-again", "visit-type-inactive"])
def test_nothing_to_book_is_a_409_saying_why_and_flashes_nothing(app, triage, reason):
    factories.make_type()
    factories.make_type(Route.VASCULAR_ULTRASOUND)
    factories.make_clinician()
    patient, browser = logged_in_patient(app, triage=None)
    triage(patient)
    db.session.rollback()

    response = browser.get(URL)

    assert response.status_code == 409
    assert response.mimetype == "application/json"
    assert response.get_json() == {"error": reason, "message": NOT_BOOKABLE_MESSAGES[reason]}
    assert flashed(browser) == []
    home = browser.get("/")
    assert home.status_code == 200
    assert NOT_BOOKABLE_MESSAGES[reason] not in shown_notices(home)


# --- the same times as the /book/ page ------------------------------------------------------------

@pytest.mark.parametrize("who", ["any clinician", "Dr Rivera", "Dr Okafor"])
def test_the_json_offers_the_very_times_of_the_book_page(app, two_clinicians, who):
    day, rivera, okafor = two_clinicians
    clinician = {"any clinician": None, "Dr Rivera": rivera, "Dr Okafor": okafor}[who]
    _, browser = logged_in_patient(app)
    query = {"week": day.isoformat(), "clinician": clinician.id if clinician else ""}

    data = free_times(browser, **query)
    page = browser.get("/book/", query_string=query)

    assert page.status_code == 200
    assert data["clinician"] == (clinician.id if clinician else None)
    assert data["notices"] == []
    # The week: its seven days in order, and the same weeks before and after as the page's links.
    week_days = [day + timedelta(days=n) for n in range(7)]
    assert [date.fromisoformat(d["date"]) for d in data["days"]] == week_days
    assert (data["week"]["first_day"], data["week"]["last_day"]) == (day.isoformat(), week_days[-1].isoformat())
    links = week_links(page)
    assert data["week"]["previous"] == week_param(links["Previous"]) == (day - timedelta(days=7)).isoformat()
    assert data["week"]["next"] == week_param(links["Next"]) == (day + timedelta(days=7)).isoformat()
    # How many times each day has, as the page's strip of days says it.
    assert [entry["says"] for entry in day_strip(page)] == [strip_says(date.fromisoformat(d["date"]), len(d["times"]))
                                                           for d in data["days"]]
    # Each day's times: the start and the clinician of every time link of the page showing that day.
    days_with_times = [d for d in data["days"] if d["times"]]
    assert days_with_times, "the clinicians have free times this week"
    for json_day in days_with_times:
        shown = browser.get("/book/", query_string={**query, "day": json_day["date"]})
        assert page_times(shown) == times_of(json_day), json_day["date"]
    # The first free time: the page's link at the top.
    first = data["first_free"]
    assert linked_time(first_free_link(page)) == (datetime.fromisoformat(first["start"]), first["clinician_ids"][0])
    assert first == data["days"][0]["times"][0]  # nobody is free before this week's first day


def test_any_clinician_merges_the_clinicians_of_a_time(app, two_clinicians):
    day, rivera, okafor = two_clinicians
    _, browser = logged_in_patient(app)

    data = free_times(browser, week=day.isoformat())

    tuesday = {datetime.fromisoformat(t["start"]): t["clinician_ids"] for t in data["days"][0]["times"]}
    assert tuesday[utc(day, 9)] == [rivera.id]
    assert sorted(tuesday[utc(day, 10)]) == [rivera.id, okafor.id]  # both are free at 10:00
    assert tuesday[utc(day, 11)] == [okafor.id]  # Dr Rivera's 11:00 is booked
    assert tuesday[utc(day, 12, 30)] == [okafor.id]
    assert utc(day, 13) not in tuesday  # a visit then would end after Dr Okafor's hours
    wednesday = [datetime.fromisoformat(t["start"]) for t in data["days"][1]["times"]]
    assert wednesday == [utc(day + timedelta(days=1), 14, 30)]  # Dr Okafor is away at 14:00


def test_the_json_describes_the_visit_the_clinicians_and_how_to_book(app, two_clinicians):
    day, rivera, okafor = two_clinicians
    _, browser = logged_in_patient(app)

    data = free_times(browser, week=day.isoformat())

    assert data["visit"] == {"route": "general_consult", "name": "General consultation", "minutes": 30,
                             "urgent": False}
    assert data["zone"] == "America/Chicago"
    # Those who give this visit, by id; not Dr Scan (other visits only) nor Dr Gone (inactive).
    assert data["clinicians"] == [{"id": rivera.id, "name": "Dr Rivera"}, {"id": okafor.id, "name": "Dr Okafor"}]
    assert data["confirm_url"] == "/book/confirm"
    for json_day in data["days"]:
        for time_ in json_day["times"]:
            start, end = datetime.fromisoformat(time_["start"]), datetime.fromisoformat(time_["end"])
            assert time_["start"].endswith("+00:00") and time_["end"].endswith("+00:00"), time_
            assert end - start == timedelta(minutes=30)
            assert start.astimezone(CHICAGO).date().isoformat() == json_day["date"]  # days are clinic days
            assert set(time_["clinician_ids"]) <= {rivera.id, okafor.id}
    starts = all_starts(data)
    assert starts == sorted(set(starts))


# --- the booking rules ----------------------------------------------------------------------------

def test_a_time_booked_by_anyone_leaves_the_json(app):
    day = slot_day()
    visit = factories.make_type(minutes=30)
    clinician = factories.make_clinician(hours={day.weekday(): [(time(9), time(11))]})
    patient, browser = logged_in_patient(app)
    before = all_starts(free_times(browser, week=day.isoformat()))
    assert before == [utc(day, 9), utc(day, 9, 30), utc(day, 10), utc(day, 10, 30)]

    book_directly(factories.make_user(), clinician, visit, utc(day, 9, 30))  # someone else, through the service
    confirm = browser.get("/book/confirm?" + urlencode({"start": utc(day, 10).isoformat(), "clinician": clinician.id}))
    assert post_form(browser, confirm).status_code == 302  # the patient, through the confirm form

    assert all_starts(free_times(browser, week=day.isoformat())) == [utc(day, 9), utc(day, 10, 30)]
    assert len(stored_appointments(status=AppointmentStatus.BOOKED)) == 2


def test_no_time_inside_the_minimum_notice(app):
    factories.make_type(minutes=30)
    factories.make_clinician(hours=ALL_DAY)
    _, browser = logged_in_patient(app)
    before = datetime.now(UTC)

    data = free_times(browser)

    after = datetime.now(UTC)
    starts = all_starts(data)
    assert starts, "a clinician working around the clock has times this week"
    assert min(starts) >= before + timedelta(minutes=60)
    assert min(starts) <= after + timedelta(minutes=60 + 60)  # the first start after the notice (23:00-24:00 has none)
    assert datetime.fromisoformat(data["first_free"]["start"]) == min(starts)
    assert data["week"]["first_day"] == clinic_today().isoformat()
    assert data["week"]["previous"] is None


def test_a_week_past_the_horizon_gives_the_last_week_and_says_so(app):
    factories.make_type(minutes=30)
    factories.make_clinician(hours=ALL_DAY)
    _, browser = logged_in_patient(app)
    last = clinic_today() + timedelta(days=90)

    data = free_times(browser, week="2999-01-05")

    after = datetime.now(UTC)
    assert data["notices"] == [f"Times can be booked up to {dates.dated(last)}, so here is the last week."]
    # The seven days that end on the last day: at any hour of the day some of them have times.
    assert data["week"]["first_day"] == (last - timedelta(days=6)).isoformat()
    assert data["days"][-1]["date"] == last.isoformat()
    assert data["week"]["next"] is None
    assert data["week"]["previous"] == (last - timedelta(days=13)).isoformat()
    assert all_starts(data) and max(all_starts(data)) <= after + timedelta(days=90)
    assert flashed(browser) == []
    # The page says the same, once: the JSON call flashed nothing for it.
    assert shown_notices(browser.get("/book/?week=2999-01-05")) == data["notices"]


def test_an_urgent_case_gets_only_the_next_24_hours(app):
    scan = factories.make_type(Route.VASCULAR_ULTRASOUND, minutes=45, name="Leg vein scan")
    factories.make_clinician(hours=ALL_DAY)
    factories.make_clinician(hours=ALL_DAY)
    _, browser = logged_in_patient(app, triage=("vascular_ultrasound", "urgent"))
    before = datetime.now(UTC)

    data = free_times(browser)

    after = datetime.now(UTC)
    assert data["visit"] == {"route": "vascular_ultrasound", "name": "Leg vein scan", "minutes": scan.duration_minutes,
                             "urgent": True}
    starts = all_starts(data)
    assert starts, "two clinicians working around the clock have times in the next 24 hours"
    assert before + timedelta(minutes=60) <= min(starts) and max(starts) <= after + timedelta(hours=24)
    assert max(starts) > before + timedelta(hours=22)  # the whole 24 hours (a 45-minute visit: 22:45 is the last)
    assert datetime.fromisoformat(data["first_free"]["start"]) == min(starts)
    # The same times as the outcome page offers an urgent case (the week page sends it there).
    outcome = browser.get(browser.get("/book/").headers["Location"])
    assert page_times(outcome) == [time_ for day in data["days"] for time_ in times_of(day)]
    # A later week is out of reach: the case gets the last week it can book (this week, which holds
    # the day its 24 hours end), said so, and still nothing beyond the 24 hours.
    later = free_times(browser, week=(clinic_today() + timedelta(days=7)).isoformat())
    last_day = (after + timedelta(hours=24)).astimezone(CHICAGO).date()
    assert later["week"]["first_day"] == clinic_today().isoformat()
    assert later["notices"] == [f"Times can be booked up to {dates.dated(last_day)}, so here is the last week."]
    assert all(start <= after + timedelta(hours=24) for start in all_starts(later))
    assert later["first_free"] == data["first_free"]


def test_an_urgent_case_is_offered_no_later_week(app):
    factories.make_type(Route.VASCULAR_ULTRASOUND)
    factories.make_clinician(hours=ALL_DAY)
    _, browser = logged_in_patient(app, triage=("vascular_ultrasound", "urgent"))

    data = free_times(browser)

    assert data["week"]["next"] is None  # the week from today holds all of the next 24 hours


# --- bad input: said in `notices`, the default shown, never a 500, nothing flashed ------------------

@pytest.mark.parametrize("query, notices", [
    ({"week": "garbage"}, [UNREADABLE_WEEK]),
    ({"week": "2026-02-30"}, [UNREADABLE_WEEK]),
    ({"week": "1999-01-01"}, [WEEK_BEFORE_TODAY]),
    ({"clinician": "abc"}, [NOT_THIS_CLINICIAN]),
    ({"clinician": "999999"}, [NOT_THIS_CLINICIAN]),
    ({"clinician": "9" * 30}, [NOT_THIS_CLINICIAN]),
    ({"clinician": "-1"}, [NOT_THIS_CLINICIAN]),
    ({"clinician": "\u00b2"}, [NOT_THIS_CLINICIAN]),
    ({"clinician": "scans only"}, [NOT_THIS_CLINICIAN]),  # a real clinician who does not give this visit
    ({"week": "garbage", "clinician": "abc"}, [UNREADABLE_WEEK, NOT_THIS_CLINICIAN]),
], ids=["week-garbage", "week-no-such-date", "week-1999", "clinician-abc", "clinician-999999", "clinician-huge",
        "clinician-negative", "clinician-superscript", "clinician-of-another-visit", "both"])
def test_a_week_or_clinician_that_cannot_be_shown_is_said_in_notices(app, query, notices):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    factories.make_type(minutes=30)
    rivera = factories.make_clinician(name="Dr Rivera")
    scans_only = factories.make_clinician(name="Dr Scan")
    scans_only.appointment_types.clear()
    db.session.commit()
    _, browser = logged_in_patient(app)
    if query.get("clinician") == "scans only":
        query = {**query, "clinician": str(scans_only.id)}

    data = free_times(browser, **query)

    assert data["notices"] == notices
    assert data["week"]["first_day"] == clinic_today().isoformat()
    assert data["clinician"] is None
    assert data["clinicians"] == [{"id": rivera.id, "name": "Dr Rivera"}]
    assert data["days"][1]["times"]  # tomorrow's times of every clinician who gives the visit
    assert flashed(browser) == []
    # The page says the same for the same link, once: the JSON call flashed nothing for it.
    assert shown_notices(browser.get("/book/", query_string=query)) == notices
    assert shown_notices(browser.get("/book/")) == []


# --- from a JSON time to a booking ----------------------------------------------------------------

def test_a_json_time_leads_to_its_confirmation_page_and_books(app, two_clinicians):
    day, rivera, okafor = two_clinicians
    patient, browser = logged_in_patient(app)
    data = free_times(browser, week=day.isoformat())
    chosen = next(t for t in data["days"][0]["times"] if len(t["clinician_ids"]) == 2)  # 10:00, either clinician
    start, clinician_id = datetime.fromisoformat(chosen["start"]), chosen["clinician_ids"][1]

    confirm = browser.get(data["confirm_url"], query_string={"start": chosen["start"], "clinician": clinician_id})

    assert confirm.status_code == 200
    page = text(confirm)
    assert "Confirm your visit" in page
    assert when(start) in page
    assert {rivera.id: "Dr Rivera", okafor.id: "Dr Okafor"}[clinician_id] in page
    response = post_form(browser, confirm)
    assert response.status_code == 302
    [appointment] = stored_appointments(patient_id=patient.id)
    assert (appointment.start_at, appointment.clinician_id, appointment.status) == (
        start, clinician_id, AppointmentStatus.BOOKED)
    # That clinician's time is no longer offered.
    again = free_times(browser, week=day.isoformat())
    assert not any(t["start"] == chosen["start"] and clinician_id in t["clinician_ids"]
                   for t in again["days"][0]["times"])
