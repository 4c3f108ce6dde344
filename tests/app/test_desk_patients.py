"""The front desk's patient pages through the test client: search, a patient's record (audited),
registering a caller, booking for a patient (free times, races, overbooks) and the urgent list.

The app fixture runs the clinic in America/Chicago with a 90-day horizon; factories.make_clinician
works 09:00-17:00 every day and gives every visit type there is.
"""
import html
import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import template_rendered
from sqlalchemy import select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role, User
from portal.booking.models import Appointment, Route
from portal.booking.service import book_appointment
from portal.extensions import db
from portal.triage.models import TriageSubmission
from portal.triage.rules import evaluate
from tests import factories
from tests.client import csrf_token, hidden_fields, logged_in
from tests.clinic_dates import long_day, when
from tests.pages import day_strip, slot_links, text

# --- reading pages ------------------------------------------------------------------------------

def words(response) -> str:
    """The page as one line of words, without markup."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def result_names(response) -> list[str]:
    """The names in the search results table, in order."""
    return re.findall(r'<td[^>]*><a href="/desk/patients/\d+"><strong>([^<]+)</strong></a></td>', text(response))


def search(browser, typed: str):
    """Type in the search box and press Search, as the desk does: the words are posted."""
    page = browser.get("/desk/patients/")
    return browser.post("/desk/patients/", data={**hidden_fields(page.get_data(as_text=True)), "q": typed})


def link_start(link: str) -> datetime:
    return datetime.fromisoformat(parse_qs(urlsplit(link).query)["start"][0])


def form_action(response, index: int = 0) -> str:
    actions = re.findall(r'<form method="post"(?: action="([^"]*)")?', response.get_data(as_text=True))
    assert actions, "the page has no post form"
    return html.unescape(actions[index]) if actions[index] else response.request.path


def post_form(browser, page, **fields):
    """Submit the page's post form with its hidden fields and `fields` (None drops one)."""
    data = {**hidden_fields(page.get_data(as_text=True)), **fields}
    return browser.post(form_action(page), data={k: v for k, v in data.items() if v is not None})


def error_notices(response) -> list[str]:
    return [m.strip() for m in re.findall(r'class="notice notice-error"[^>]*>(.*?)</div>', text(response), re.S)]


@contextmanager
def rendered_templates(app):
    """The names of the templates the app renders inside the block, in order (the page is the last)."""
    names = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


def flashes(response) -> str:
    return " ".join(re.findall(r'class="notice notice-\w+"[^>]*>(.*?)</div>', text(response), re.S))


# --- the world ----------------------------------------------------------------------------------

def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return factories.local(day, hour, minute).astimezone(UTC)


def make_patient(name: str, *, email: str | None = None, phone: str = "(555) 010-0000",
                 born: date = date(1960, 1, 1)) -> User:
    patient = factories.make_user(name=name, email=email)
    patient.phone, patient.date_of_birth = phone, born
    db.session.commit()
    return patient


def stored(model, **where) -> list:
    db.session.rollback()  # see what the app committed
    return list(db.session.scalars(select(model).filter_by(**where).order_by(model.id)))


def submission_at(patient: User | None, created_at: datetime, route: str = "vascular_ultrasound",
                  urgency: str = "urgent") -> TriageSubmission:
    """A triage submitted at `created_at` (inserted as stored: the time of a submission never changes)."""
    answers = {**factories.SAFE_ANSWERS, **factories.ANSWERS_FOR[(route, urgency)]}
    submission = TriageSubmission.from_outcome(answers, evaluate(answers), patient_id=patient.id if patient else None)
    submission.created_at = created_at
    db.session.add(submission)
    db.session.commit()
    return submission


# --- who may use the pages ------------------------------------------------------------------------

PAGES = [("GET", "/desk/patients/"), ("POST", "/desk/patients/"), ("GET", "/desk/patients/{id}"),
         ("GET", "/desk/patients/new"), ("POST", "/desk/patients/new"), ("GET", "/desk/patients/{id}/book"),
         ("GET", "/desk/patients/{id}/book/confirm"), ("POST", "/desk/patients/{id}/book/confirm"),
         ("POST", "/desk/patients/{id}/overbook"), ("GET", "/desk/patients/urgent")]


@pytest.mark.parametrize("role, allowed", [(Role.DESK, True), (Role.ADMIN, True), (Role.PATIENT, False),
                                           (Role.DOCTOR, False)])
def test_only_the_desk_and_admins_may_use_the_patient_pages(app, role, allowed):
    patient = make_patient("Jane Smith")
    user, browser = logged_in(app, role)
    token = csrf_token(browser.get("/").get_data(as_text=True))
    for method, url in PAGES:
        response = browser.open(url.format(id=patient.id), method=method,
                                data={"csrf_token": token} if method == "POST" else None)
        if allowed:
            assert response.status_code in (200, 302, 400), (method, url, response.status_code)
            assert "/auth/login" not in response.headers.get("Location", "")
        else:
            assert response.status_code == 403, (method, url, response.status_code)


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    patient = make_patient("Jane Smith")
    db.session.rollback()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    for method, url in PAGES:
        response = client.open(url.format(id=patient.id), method=method,
                               data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], (method, url)


def test_a_staff_account_has_no_patient_record(app):
    doctor = factories.make_user(role=Role.DOCTOR)
    _, browser = logged_in(app, Role.DESK)
    assert browser.get(f"/desk/patients/{doctor.id}").status_code == 404
    assert browser.get(f"/desk/patients/{doctor.id}/book").status_code == 404
    assert browser.get("/desk/patients/987654").status_code == 404


# --- search -----------------------------------------------------------------------------------------

@pytest.fixture
def callers(app):
    make_patient("Jane Smith", email="jane.smith@example.com", phone="(555) 010-2001", born=date(1954, 3, 14))
    make_patient("Amal Haddad", email="amal@example.org", phone="555-010-9999", born=date(1954, 3, 14))
    make_patient("Robert Jones", email="bob@example.net", phone="(555) 777-3141", born=date(1980, 6, 2))
    factories.make_user(role=Role.DESK, name="Smith Frontdesk", email="smith.frontdesk@example.com")
    factories.make_user(role=Role.DOCTOR, name="Dr Jane Smithers")


@pytest.mark.parametrize("typed, names", [
    ("Smith", ["Jane Smith"]),
    ("sMiT", ["Jane Smith"]),
    ("jane smi", ["Jane Smith"]),
    ("JANE.SMITH@EX", ["Jane Smith"]),
    ("example.org", ["Amal Haddad"]),
    ("010 2001", ["Jane Smith"]),
    ("(555) 777-3141", ["Robert Jones"]),
    ("5557773141", ["Robert Jones"]),
    ("555 010", ["Amal Haddad", "Jane Smith"]),
    ("1954-03-14", ["Amal Haddad", "Jane Smith"]),
    ("03/14/1954", ["Amal Haddad", "Jane Smith"]),
    ("14 Mar 1954", ["Amal Haddad", "Jane Smith"]),
])
def test_search_finds_patients_by_any_field_partly_and_in_any_case(app, callers, typed, names):
    _, browser = logged_in(app, Role.DESK)
    response = search(browser, typed)
    assert response.status_code == 200
    assert result_names(response) == names


def test_search_results_show_the_details_the_desk_needs(app, callers):
    jane = db.session.scalar(select(User).where(User.name == "Jane Smith"))
    appointment_type, clinician = factories.make_type(), factories.make_clinician()
    day = factories.future_weekday()
    book_appointment(patient_id=jane.id, clinician_id=clinician.id, appointment_type_id=appointment_type.id,
                     start=utc(day, 10))
    factories.make_submission(jane, "vascular_ultrasound", "urgent")  # answered after that booking
    _, browser = logged_in(app, Role.DESK)
    page = words(search(browser, "jane"))
    assert "Jane Smith Mar 14, 1954" in page
    assert "(555) 010-2001" in page and "jane.smith@example.com" in page
    assert "Urgent Vascular ultrasound" in page
    assert when(utc(day, 10), short=True) in page
    assert 'href="tel:(555) 010-2001"' in text(search(browser, "jane"))


def test_staff_are_not_found(app, callers):
    _, browser = logged_in(app, Role.DESK)
    assert result_names(search(browser, "smith")) == ["Jane Smith"]
    assert result_names(search(browser, "frontdesk")) == []


def test_an_empty_search_lists_nobody(app, callers):
    _, browser = logged_in(app, Role.DESK)
    for response in (browser.get("/desk/patients/"), search(browser, ""), search(browser, "  ")):
        assert response.status_code == 200
        assert result_names(response) == [] and "<table" not in text(response)
        assert "No patients match" not in text(response)


def test_a_search_that_finds_nobody_says_so(app, callers):
    _, browser = logged_in(app, Role.DESK)
    response = search(browser, "zebedee")
    assert result_names(response) == []
    assert "No patients match “zebedee”" in words(response)


@pytest.mark.parametrize("typed, advice", [("j", "Type at least 2 letters"), ("01", "Type at least 3 digits"),
                                           ("14/03/1954", "month first")])
def test_a_search_too_short_or_with_an_impossible_date_says_what_to_type(app, callers, typed, advice):
    _, browser = logged_in(app, Role.DESK)
    response = search(browser, typed)
    assert response.status_code == 200 and result_names(response) == []
    assert advice in words(response)


def test_what_the_desk_types_is_posted_and_kept_in_the_box_never_put_in_the_address(app, callers):
    _, browser = logged_in(app, Role.DESK)
    page = browser.get("/desk/patients/")
    assert re.search(r'<form class="dp-search" method="post"', text(page)) and csrf_token(text(page))
    response = search(browser, "jane smi")
    assert result_names(response) == ["Jane Smith"]
    assert re.search(r'<input[^>]*name="q"[^>]*value="jane smi"', text(response))  # the words stay in the box
    assert "?q=" not in text(response) and "q=jane" not in text(response)
    # An address with a search in it is not read: no bookmark or link can carry one.
    assert result_names(browser.get("/desk/patients/?q=smith")) == []


def test_a_search_posted_without_the_forms_token_is_refused(app, callers):
    _, browser = logged_in(app, Role.DESK)
    response = browser.post("/desk/patients/", data={"q": "smith"})
    assert response.status_code == 400 and result_names(response) == []


def test_every_search_is_audited_with_who_what_and_the_patients_listed(app, callers):
    jane = db.session.scalar(select(User).where(User.name == "Jane Smith"))
    desk, browser = logged_in(app, Role.DESK)
    search(browser, "smith")
    search(browser, "zebedee")
    search(browser, "")  # no search: nothing was read
    search(browser, "j")  # too short: nothing was read
    found, none = stored(AuditEvent, action=AuditAction.PATIENT_SEARCHED)
    assert (found.user_id, found.patient_id, none.user_id) == (desk.id, None, desk.id)
    assert "“smith”" in found.detail and "1 found" in found.detail and f"patients listed: {jane.id}" in found.detail
    assert "“zebedee”" in none.detail and "0 found" in none.detail


# --- a patient's record -------------------------------------------------------------------------

def test_the_record_shows_details_triage_and_appointments(app):
    jane = make_patient("Jane Smith", email="jane@example.com", phone="(555) 010-2001", born=date(1954, 3, 14))
    appointment_type, clinician = factories.make_type(), factories.make_clinician(name="Dr Rivera")
    day = factories.future_weekday()
    upcoming = book_appointment(patient_id=jane.id, clinician_id=clinician.id,
                                appointment_type_id=appointment_type.id, start=utc(day, 10))
    factories.make_submission(jane, "vascular_ultrasound", "urgent")  # answered after that booking
    past_start = utc(date.today() - timedelta(days=30), 10)
    db.session.add(Appointment(patient_id=jane.id, clinician_id=clinician.id, appointment_type_id=appointment_type.id,
                               start_at=past_start, end_at=past_start + timedelta(minutes=30), status="fulfilled"))
    db.session.commit()
    _, browser = logged_in(app, Role.DESK)
    response = browser.get(f"/desk/patients/{jane.id}")
    page = words(response)
    assert response.status_code == 200
    assert "Born March 14, 1954" in page and "jane@example.com" in page and "(555) 010-2001" in page
    assert "Urgent Vascular ultrasound" in page
    assert "signs of a blood clot in a deep vein" in page  # the words the patient was shown (U1)
    coming, _, done = page.partition("Past and canceled")
    assert long_day(upcoming.start_at.astimezone(factories.CHICAGO).date()) in coming and "Booked" in coming
    assert "Attended" in done
    assert "/triage/" not in text(response)  # the case itself is for doctors


def test_every_view_of_a_record_is_audited(app):
    jane = make_patient("Jane Smith")
    desk, browser = logged_in(app, Role.DESK)
    for _ in range(2):
        assert browser.get(f"/desk/patients/{jane.id}").status_code == 200
    views = stored(AuditEvent, action=AuditAction.PATIENT_RECORD_VIEWED)
    assert [(v.patient_id, v.user_id) for v in views] == [(jane.id, desk.id)] * 2


# --- registering a caller -------------------------------------------------------------------------

GOOD_CALLER = {"name": "Maria Lopez", "email": "Maria.Lopez@Example.com", "date_of_birth": "1971-05-20",
               "phone": "(555) 010-4242"}


def register(browser, **changes):
    page = browser.get("/desk/patients/new")
    return post_form(browser, page, **{**GOOD_CALLER, **changes})


def test_the_desk_registers_a_caller_who_is_then_found(app):
    desk, browser = logged_in(app, Role.DESK)
    page = browser.get("/desk/patients/new")
    assert "a patient with an email gets a link to choose their own" in words(page)
    assert 'type="password"' not in text(page)
    response = post_form(browser, page, **GOOD_CALLER)
    [maria] = stored(User, email="maria.lopez@example.com")
    assert response.status_code == 302 and response.headers["Location"] == f"/desk/patients/{maria.id}"
    assert (maria.name, maria.role, maria.date_of_birth, maria.phone) == (
        "Maria Lopez", Role.PATIENT, date(1971, 5, 20), "(555) 010-4242")
    assert not maria.check_password("") and maria.password_hash.startswith("$argon2")
    [event] = stored(AuditEvent, action=AuditAction.PATIENT_REGISTERED)
    assert (event.patient_id, event.user_id) == (maria.id, desk.id)
    assert "Maria Lopez is registered." in flashes(browser.get(response.headers["Location"]))
    assert result_names(search(browser, "lopez")) == ["Maria Lopez"]
    assert result_names(search(browser, "010 4242")) == ["Maria Lopez"]


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "Please enter your name."),
    ({"name": "x" * 121}, "Please use at most 120 characters."),
    ({"email": "maria.example.com"}, "That does not look like an email address"),
    ({"date_of_birth": ""}, "Please enter your date of birth."),
    ({"date_of_birth": (date.today() + timedelta(days=3)).isoformat()}, "Date of birth cannot be in the future."),
    ({"date_of_birth": "1850-01-01"}, "Please check the year of birth."),
    ({"phone": ""}, "Please enter a phone number."),
    ({"phone": "call me"}, "Enter a phone number with 7 to 15 digits"),
], ids=["no-name", "long-name", "bad-email", "no-birth-date", "born-in-future", "born-1850", "no-phone",
        "bad-phone"])
def test_a_bad_field_registers_nobody_and_says_why(app, changes, message):
    _, browser = logged_in(app, Role.DESK)
    response = register(browser, **changes)
    assert response.status_code == 400
    assert message in words(response)
    assert stored(User, role=Role.PATIENT) == []


def test_an_email_already_registered_in_another_case_is_refused(app):
    make_patient("Maria Lopez", email="maria.lopez@example.com")
    _, browser = logged_in(app, Role.DESK)
    response = register(browser, email="MARIA.LOPEZ@example.COM", name="Maria L. Lopez")
    assert response.status_code == 400
    assert "A patient with this email is already registered." in words(response)
    assert [u.name for u in stored(User, role=Role.PATIENT)] == ["Maria Lopez"]
    assert stored(AuditEvent, action=AuditAction.PATIENT_REGISTERED) == []


# --- booking for a patient --------------------------------------------------------------------------

@pytest.fixture
def clinic(app):
    """Three visit types and one clinician who gives them all."""
    types = {route: factories.make_type(route) for route in Route}
    return types, factories.make_clinician(name="Dr Rivera")


def test_the_booking_page_preselects_the_routed_visit_and_shows_the_triage(app, clinic):
    types, _ = clinic
    jane = make_patient("Jane Smith")
    factories.make_submission(jane, "sleep_study_referral", "routine")
    _, browser = logged_in(app, Role.DESK)
    response = browser.get(f"/desk/patients/{jane.id}/book")
    page = words(response)
    assert response.status_code == 200
    assert "Free times for: Sleep study referral" in page
    assert "Routine Sleep study referral" in page
    assert re.search(r'class="choice chosen"[^>]*>\s*<strong>Sleep study referral</strong>', text(response))
    assert all(parse_qs(urlsplit(link).query)["type"] == ["sleep_study_referral"] for link in slot_links(response))
    # Any other active type can be chosen instead.
    other = browser.get(f"/desk/patients/{jane.id}/book?type=general_consult")
    assert "Free times for: General consult" in words(other)


def test_the_desk_picks_a_day_of_the_week_by_link_and_is_told_when_a_day_cannot_be_shown(app, clinic):
    jane = make_patient("Jane Smith")
    factories.make_submission(jane, "general_consult", "routine")
    _, browser = logged_in(app, Role.DESK)
    day = factories.future_weekday()
    page = f"/desk/patients/{jane.id}/book"

    week = browser.get(f"{page}?week={day.isoformat()}&type=vascular_ultrasound")
    strip = day_strip(week)
    assert len(strip) == 7 and strip[0]["current"]
    assert {link_start(link).astimezone(factories.CHICAGO).date() for link in slot_links(week)} == {day}

    # A day is a plain link that keeps the patient, the visit type and the week.
    thursday = day + timedelta(days=2)
    link = strip[2]["link"]
    assert urlsplit(link).path == page
    assert {k: v[0] for k, v in parse_qs(urlsplit(link).query).items() if k != "clinician"} == {
        "week": day.isoformat(), "day": thursday.isoformat(), "type": "vascular_ultrasound"}
    chosen = browser.get(link)
    assert {link_start(link).astimezone(factories.CHICAGO).date() for link in slot_links(chosen)} == {thursday}
    assert "Free times for: Vascular ultrasound" in words(chosen)

    garbled = browser.get(f"{page}?week={day.isoformat()}&day=31-31-2031")
    assert garbled.status_code == 200
    assert f"We could not show the day in that link, so here is {long_day(day)}" in words(garbled)
    assert {link_start(link).astimezone(factories.CHICAGO).date() for link in slot_links(garbled)} == {day}


def test_an_emergency_triage_is_shown_in_red_with_a_warning(app, clinic):
    jane = make_patient("Jane Smith")
    factories.make_submission(jane, "general_consult", "emergency")
    _, browser = logged_in(app, Role.DESK)
    response = browser.get(f"/desk/patients/{jane.id}/book")
    assert "dp-triage-card-emergency" in text(response)
    assert re.search(r'<p class="dp-warning" role="alert"><strong>Emergency triage.</strong>', text(response))
    assert "emergency care now" in words(response)


def test_the_desk_books_a_free_time_through_the_service(app, clinic):
    types, clinician = clinic
    jane = make_patient("Jane Smith")
    factories.make_submission(jane, "general_consult", "routine")
    desk, browser = logged_in(app, Role.DESK)
    week = browser.get(f"/desk/patients/{jane.id}/book?week={factories.future_weekday().isoformat()}")
    link = slot_links(week)[0]
    confirm = browser.get(link)
    assert confirm.status_code == 200 and "Jane Smith" in words(confirm)

    response = post_form(browser, confirm)

    assert response.status_code == 302 and response.headers["Location"] == f"/desk/patients/{jane.id}"
    [appointment] = stored(Appointment)
    assert (appointment.patient_id, appointment.booked_by_id, appointment.clinician_id) == (
        jane.id, desk.id, clinician.id)
    assert appointment.start_at == link_start(link) and appointment.status == "booked" and not appointment.overbook
    assert appointment.appointment_type_id == types[Route.GENERAL_CONSULT].id
    assert "General consult booked for Jane Smith" in flashes(browser.get(response.headers["Location"]))
    # The same form again books nothing more.
    assert post_form(browser, confirm).status_code == 302
    assert len(stored(Appointment)) == 1


def test_the_desk_books_a_type_the_triage_did_not_route_to_only_with_a_reason(app, clinic):
    types, _ = clinic
    jane = make_patient("Jane Smith")
    factories.make_submission(jane, "general_consult", "routine")
    _, browser = logged_in(app, Role.DESK)
    week = browser.get(f"/desk/patients/{jane.id}/book?type=vascular_ultrasound&week={factories.future_weekday()}")
    confirm = browser.get(slot_links(week)[0])
    assert "A reason is needed to book a visit other than the triage's route (general consult)" in words(confirm)

    refused = post_form(browser, confirm)
    assert refused.status_code == 422 and stored(Appointment) == []
    assert "A reason is needed" in words(refused)

    assert post_form(browser, confirm, override_reason="Scan requested by Dr Rivera").status_code == 302
    [appointment] = stored(Appointment)
    assert appointment.appointment_type_id == types[Route.VASCULAR_ULTRASOUND].id
    assert appointment.triage_submission_id is None
    assert (appointment.overrides, appointment.override_reason) == ("route", "Scan requested by Dr Rivera")
    record = words(browser.get(f"/desk/patients/{jane.id}"))
    assert ("Booked against the triage (a different visit from the triage's route) · Scan requested by Dr Rivera"
            in record)


def test_the_loser_of_a_race_is_told_and_offered_the_next_free_times(app, clinic):
    _, clinician = clinic
    jane, amal = make_patient("Jane Smith"), make_patient("Amal Haddad")
    day = factories.future_weekday()
    _, browser = logged_in(app, Role.DESK)
    confirm = browser.get(f"/desk/patients/{jane.id}/book/confirm", query_string={
        "type": "general_consult", "clinician": clinician.id, "start": utc(day, 10).isoformat()})
    assert confirm.status_code == 200
    # Someone else takes the time while the desk is still on the phone.
    book_appointment(patient_id=amal.id, clinician_id=clinician.id,
                     appointment_type_id=clinic[0][Route.GENERAL_CONSULT].id, start=utc(day, 10))
    db.session.rollback()

    with rendered_templates(app) as shown:
        response = post_form(browser, confirm)

    assert response.status_code == 409 and shown[-1] == "desk/taken.html"
    assert "that time was just taken" in words(response).lower()
    assert "Nothing was booked for Jane Smith." in words(response)
    offered = [link_start(link) for link in slot_links(response)]
    assert offered and offered[0] == utc(day, 10, 30)
    assert all(urlsplit(link).path == f"/desk/patients/{jane.id}/book/confirm" for link in slot_links(response))
    assert stored(Appointment, patient_id=jane.id) == []


def test_a_confirm_page_without_a_time_sends_the_desk_back_to_pick_one(app, clinic):
    jane = make_patient("Jane Smith")
    _, browser = logged_in(app, Role.DESK)
    response = browser.get(f"/desk/patients/{jane.id}/book/confirm?type=general_consult&start=soon&clinician=1")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/desk/patients/{jane.id}/book"


def test_every_showing_of_the_booking_page_is_audited_as_a_view_of_the_patients_data(app, clinic):
    types, clinician = clinic
    jane = make_patient("Jane Smith", born=date(1954, 3, 14))
    factories.make_submission(jane, "general_consult", "urgent")
    desk, browser = logged_in(app, Role.DESK)
    page = browser.get(f"/desk/patients/{jane.id}/book")
    assert "Born Mar 14, 1954" in words(page) and "Urgent" in words(page)  # what makes it a view of her data
    browser.get(f"/desk/patients/{jane.id}/book?type=vascular_ultrasound")
    # An overbook refused for want of a reason shows the same page again: a view too.
    assert overbook(browser, jane, clinician, types[Route.GENERAL_CONSULT], factories.future_weekday(), "10:00",
                    "").status_code == 400
    views = stored(AuditEvent, action=AuditAction.PATIENT_BOOKING_VIEWED)
    assert [(v.patient_id, v.user_id) for v in views] == [(jane.id, desk.id)] * 4  # the overbook read the page too


# --- overbook -----------------------------------------------------------------------------------------

def overbook(browser, patient, clinician, appointment_type, day: date, at: str, reason: str | None):
    page = browser.get(f"/desk/patients/{patient.id}/book")
    fields = {**hidden_fields(page.get_data(as_text=True)), "clinician_id": str(clinician.id),
              "appointment_type_id": str(appointment_type.id), "day": day.isoformat(), "start_time": at,
              "reason": reason}
    action = html.unescape(re.search(r'<form method="post" action="([^"]+/overbook[^"]*)"', text(page)).group(1))
    return browser.post(action, data={k: v for k, v in fields.items() if v is not None})


def test_an_overbook_with_a_reason_books_over_a_taken_time(app, clinic):
    types, clinician = clinic
    jane, amal = make_patient("Jane Smith"), make_patient("Amal Haddad")
    factories.make_submission(jane, "vascular_ultrasound", "routine")
    day = factories.future_weekday()
    book_appointment(patient_id=amal.id, clinician_id=clinician.id,
                     appointment_type_id=types[Route.GENERAL_CONSULT].id, start=utc(day, 10))
    desk, browser = logged_in(app, Role.DESK)

    response = overbook(browser, jane, clinician, types[Route.VASCULAR_ULTRASOUND], day, "10:00",
                        "Urgent scan agreed with Dr Rivera")

    assert response.status_code == 302 and response.headers["Location"] == f"/desk/patients/{jane.id}"
    [squeezed] = stored(Appointment, patient_id=jane.id)
    assert squeezed.overbook and squeezed.overbook_reason == "Urgent scan agreed with Dr Rivera"
    assert (squeezed.start_at, squeezed.booked_by_id, squeezed.clinician_id) == (utc(day, 10), desk.id, clinician.id)
    assert "as an overbook" in flashes(browser.get(response.headers["Location"]))
    assert len(stored(Appointment, clinician_id=clinician.id)) == 2


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_overbook_without_a_reason_books_nothing(app, clinic, reason):
    types, clinician = clinic
    jane = make_patient("Jane Smith")
    _, browser = logged_in(app, Role.DESK)
    response = overbook(browser, jane, clinician, types[Route.GENERAL_CONSULT], factories.future_weekday(), "10:00",
                        reason)
    assert response.status_code == 400
    assert "A reason is required to overbook." in words(response)
    assert stored(Appointment) == []


def test_an_overbook_the_service_refuses_books_nothing_and_says_why(app, clinic):
    types, clinician = clinic
    jane = make_patient("Jane Smith")
    _, browser = logged_in(app, Role.DESK)
    with rendered_templates(app) as shown:
        response = overbook(browser, jane, clinician, types[Route.GENERAL_CONSULT], date.today() - timedelta(days=2),
                            "10:00", "Forgot to book it")
    assert response.status_code == 422
    # The desk's one "just taken" page: why, that nothing was booked, and the next free times.
    assert shown[-1] == "desk/taken.html"
    assert "That time has already passed." in error_notices(response)
    assert "Nothing was booked for Jane Smith." in words(response)
    assert slot_links(response) and all(urlsplit(link).path == f"/desk/patients/{jane.id}/book/confirm"
                                        for link in slot_links(response))
    assert stored(Appointment) == []


# --- urgent cases to call ---------------------------------------------------------------------------

def urgent_rows(response) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", text(response), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
            ] if body else []


def test_the_urgent_list_shows_urgent_cases_not_yet_booked_oldest_first(app, clinic):
    types, clinician = clinic
    now = datetime.now(UTC)
    newer = make_patient("Newer Urgent", phone="(555) 010-1111", born=date(1950, 1, 1))
    older = make_patient("Older Urgent", phone="(555) 010-2222")
    routine = make_patient("Routine Case")
    booked = make_patient("Booked Urgent")
    submission_at(newer, now - timedelta(hours=1))  # made first, listed after the older case
    submission_at(older, now - timedelta(hours=5))
    submission_at(None, now - timedelta(hours=3))
    submission_at(routine, now - timedelta(hours=6), "general_consult", "routine")
    booked_case = submission_at(booked, now - timedelta(hours=7))
    db.session.add(Appointment(patient_id=booked.id, clinician_id=clinician.id,  # checked in today
                               appointment_type_id=types[Route.VASCULAR_ULTRASOUND].id, start_at=now,
                               end_at=now + timedelta(minutes=30), status="checked_in",
                               triage_submission_id=booked_case.id))
    db.session.commit()
    _, browser = logged_in(app, Role.DESK)

    response = browser.get("/desk/patients/urgent")

    rows = urgent_rows(response)
    names = [re.search(r"(Older Urgent|Newer Urgent|Not registered — no phone)", row).group(1) for row in rows]
    assert names == ["Older Urgent", "Not registered — no phone", "Newer Urgent"]
    assert "Routine Case" not in text(response) and "Booked Urgent" not in text(response)
    assert 'href="tel:(555) 010-1111"' in text(response)
    assert f" {date.today().year - 1950} Vascular ultrasound" in rows[2]  # age from the date of birth
    assert " 60 Vascular ultrasound" in rows[1]  # the anonymous case's answer
    assert f'href="/desk/patients/{newer.id}/book"' in text(response)


def test_booking_an_urgent_patient_takes_them_off_the_list(app, clinic):
    now = datetime.now(UTC)
    jane = make_patient("Jane Urgent")
    submission = submission_at(jane, now - timedelta(hours=2))
    desk, browser = logged_in(app, Role.DESK)
    assert "Jane Urgent" in text(browser.get("/desk/patients/urgent"))

    week = browser.get(f"/desk/patients/{jane.id}/book")
    assert "Free times for: Vascular ultrasound" in words(week)
    first = slot_links(week)[0]
    assert link_start(first) <= now + timedelta(hours=24)
    booked = post_form(browser, browser.get(first))
    assert booked.status_code == 302 and "Jane Urgent" in flashes(browser.get(booked.headers["Location"]))

    [appointment] = stored(Appointment)
    assert (appointment.triage_submission_id, appointment.booked_by_id) == (submission.id, desk.id)
    after = browser.get("/desk/patients/urgent")
    assert urgent_rows(after) == [] and "Jane Urgent" not in text(after)
    assert "No urgent cases are waiting" in words(after)


def test_an_urgent_patient_booked_after_24_hours_stays_on_the_list(app, clinic):
    """Only a visit within the urgent window answers an urgent triage; the desk may book a later
    one with a reason, but the case is still there to call."""
    jane = make_patient("Jane Urgent")
    submission_at(jane, datetime.now(UTC) - timedelta(hours=2))
    _, browser = logged_in(app, Role.DESK)
    week = browser.get(f"/desk/patients/{jane.id}/book?week={(date.today() + timedelta(days=3)).isoformat()}")
    confirm = browser.get(slot_links(week)[0])
    assert post_form(browser, confirm).status_code == 422 and stored(Appointment) == []
    assert post_form(browser, confirm, override_reason="Cannot come sooner").status_code == 302

    [appointment] = stored(Appointment)
    assert appointment.patient_id == jane.id and appointment.overrides == "urgent_window"
    assert any("Jane Urgent" in row for row in urgent_rows(browser.get("/desk/patients/urgent")))


def test_squeezing_in_an_urgent_patient_today_takes_them_off_the_list(app, clinic):
    types, clinician = clinic
    jane = make_patient("Jane Urgent")
    submission = submission_at(jane, datetime.now(UTC) - timedelta(hours=2))
    _, browser = logged_in(app, Role.DESK)
    soon = (datetime.now(UTC) + timedelta(hours=2)).astimezone(factories.CHICAGO)
    response = overbook(browser, jane, clinician, types[Route.VASCULAR_ULTRASOUND], soon.date(),
                        soon.strftime("%H:%M"), "DVT signs: scan today")
    assert response.status_code == 302
    [appointment] = stored(Appointment)
    assert appointment.overbook and appointment.triage_submission_id == submission.id
    assert urgent_rows(browser.get("/desk/patients/urgent")) == []
