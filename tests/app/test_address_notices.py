"""A date, a week, a clinician or a filter in an address that the page cannot use is said so on the
page, never silently swapped for something else (a stale bookmark, a mistyped or cut-off link):
the page still shows (today, this week, every clinician) with a notice saying what it shows instead."""
import re
from datetime import datetime, timedelta

import pytest

from portal import dates
from portal.auth.models import Role
from portal.booking.models import AppointmentType, Clinician
from portal.booking.service import book_appointment
from portal.extensions import db
from tests import factories
from tests.client import logged_in
from tests.clinic_dates import long_day
from tests.factories import CHICAGO, local
from tests.pages import main, words


def notices(response) -> list[str]:
    """The notices at the top of the page, as read out (role="status")."""
    return [words(notice) for notice in
            re.findall(r'<div class="notice notice-warning" role="status">(.*?)</div>', main(response), re.S)]


def today() -> str:
    return long_day(datetime.now(CHICAGO).date())


@pytest.fixture
def desk(app):
    factories.make_type()
    factories.make_clinician(name="Dr Only")
    db.session.rollback()
    return logged_in(app, Role.DESK)[1]


@pytest.mark.parametrize("asked, notice", [
    ("garbage", "That date was not understood, so today is shown."),
    ("2026-02-30", "That date was not understood, so today is shown."),
    ("9999-12-31", "That date is more than ten years from today, so today is shown."),
])
@pytest.mark.parametrize("page", ["/desk/", "/desk/week"])
def test_the_desk_calendar_says_when_it_shows_today_instead(desk, page, asked, notice):
    response = desk.get(page, query_string={"date": asked})
    assert response.status_code == 200
    assert notices(response) == [notice]
    if page == "/desk/":
        assert f"{today()} Today" in words(main(response))
    assert notices(desk.get(page)) == []  # said once, on the page it is about


def test_a_date_the_calendar_can_show_needs_no_notice(desk):
    day = factories.future_weekday()
    response = desk.get(f"/desk/?date={day.isoformat()}")
    assert notices(response) == [] and long_day(day) in words(main(response))


@pytest.mark.parametrize("asked", ["424242", "abc"])
def test_an_unknown_clinician_in_the_week_address_is_said(desk, asked):
    response = desk.get(f"/desk/week?clinician={asked}")
    assert response.status_code == 200
    assert notices(response) == [
        "That clinician was not found among those working now, so Dr Only's week is shown."]


def test_the_move_page_says_when_it_shows_every_clinician_instead(app, desk):
    visit = db.session.scalars(db.select(AppointmentType)).one()
    clinician = db.session.scalars(db.select(Clinician)).one()
    patient = factories.make_user()
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=local(factories.future_weekday(), 10))
    appointment_id = appointment.id
    db.session.rollback()
    response = desk.get(f"/desk/appointments/{appointment_id}/move?clinician=424242")
    assert response.status_code == 200
    assert notices(response) == ["That clinician does not give this visit, so every clinician's times are shown."]


def test_the_desk_booking_page_says_when_it_shows_another_visit_type(desk):
    patient_id = factories.make_user().id
    db.session.rollback()
    response = desk.get(f"/desk/patients/{patient_id}/book?type=brain_surgery")
    assert response.status_code == 200
    assert notices(response)[0] == ("That visit type is not taking bookings, so the times of a general consult "
                                    "are shown.")


@pytest.fixture
def patient(app):
    """A triaged patient's browser, and a visit of theirs a week ahead."""
    visit, clinician = factories.make_type(), factories.make_clinician()
    patient, browser = logged_in(app)
    factories.make_submission(patient, "general_consult", "routine")
    browser.visit_id = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                        start=local(factories.future_weekday(), 10)).id
    db.session.rollback()
    return browser


@pytest.mark.parametrize("page", ["/book/", "reschedule"])
@pytest.mark.parametrize("week, notice", [
    ("not-a-date", "We could not read the week in that link, so here are the times from today."),
    ("2000-01-03", "That week starts before today, so here are the times from today."),
    ("2999-01-04", "Times can be booked up to {last}, so here is the last week."),
])
def test_the_patients_week_says_when_it_shows_another_week(app, patient, page, week, notice):
    if page == "reschedule":
        page = f"/appointments/{patient.visit_id}/reschedule"
    last = datetime.now(CHICAGO).date() + timedelta(days=90)
    response = patient.get(page, query_string={"week": week})
    assert response.status_code == 200
    assert notice.format(last=dates.dated(last)) in notices(response)


def test_an_unknown_clinician_in_the_patients_week_is_said(patient):
    response = patient.get("/book/?clinician=424242")
    assert response.status_code == 200
    assert notices(response) == [
        "That clinician does not give this visit, so here are the times of every clinician who does."]


def test_a_week_the_page_can_show_needs_no_notice(patient):
    assert notices(patient.get(f"/book/?week={factories.future_weekday().isoformat()}")) == []


def test_the_queue_says_which_filter_it_did_not_understand(app):
    _, doctor = logged_in(app, Role.DOCTOR)
    response = doctor.get("/queue/?route=brain_surgery&urgency=urgent")
    assert response.status_code == 200
    assert notices(response) == ["The route filter “brain_surgery” was not understood, so it is not applied."]


@pytest.mark.parametrize("asked, notice", [
    ("page=two", "The page “two” was not understood, so here is the first page."),
    ("page=0", "There is no page 0 of this list now, so here is page 1 of 1."),
    ("page=99", "There is no page 99 of this list now, so here is page 1 of 1."),
    ("anon_page=9", "There is no page 9 of this list now, so here is page 1 of 1."),
])
def test_the_queue_says_which_page_it_shows_instead_of_one_it_cannot(app, asked, notice):
    _, doctor = logged_in(app, Role.DOCTOR)
    response = doctor.get(f"/queue/?{asked}")
    assert response.status_code == 200
    assert notices(response) == [notice]
    assert notices(doctor.get("/queue/?page=1")) == []  # a page that exists needs no notice
