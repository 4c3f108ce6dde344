"""The desk sets clinicians' weekly hours and time off; affected appointments are listed, never cancelled."""
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role
from portal.booking.models import Appointment, AppointmentStatus, TimeOff, WorkingHours
from portal.booking.service import book_appointment
from portal.extensions import db
from tests import factories
from tests.client import hidden_fields, logged_in
from tests.factories import local
from tests.pages import text


@pytest.fixture
def desk(app):
    return logged_in(app, Role.DESK)[1]


@pytest.fixture
def clinician(app):
    factories.make_type()
    return factories.make_clinician(name="Dr Hours", hours={d: [(time(9), time(12)), (time(13), time(17))]
                                                            for d in range(5)})


def post(browser, page_url, action_url, prefix, **fields):
    page = browser.get(page_url)
    data = {k: v for k, v in hidden_fields(text(page)).items() if k.startswith(prefix) or k == "csrf_token"}
    data.update({f"{prefix}-{k}": v for k, v in fields.items()})
    return browser.post(action_url, data=data)


def test_schedules_list_shows_this_weeks_hours(desk, clinician):
    page = text(desk.get("/desk/schedules/"))
    assert "Dr Hours" in page and "9:00 AM–12:00 PM, 1:00 PM–5:00 PM" in page


@pytest.mark.parametrize("who", ["patient", "doctor"])
def test_only_desk_and_admin_see_schedules(app, clinician, who):
    _, browser = logged_in(app, who)
    assert browser.get("/desk/schedules/").status_code == 403
    assert browser.get(f"/desk/schedules/{clinician.id}").status_code == 403


def test_new_hours_from_a_date_are_saved_as_a_version_and_audited(desk, clinician):
    start = factories.future_weekday(weekday=0)
    url = f"/desk/schedules/{clinician.id}"
    response = post(desk, url, f"{url}/hours", "hours", effective_from=start.isoformat(),
                    monday="08:00-12:00, 12:30-16:00", tuesday="", wednesday="10:00-14:00", thursday="",
                    friday="", saturday="", sunday="")
    assert response.status_code == 302
    assert "New hours for Dr Hours" in text(desk.get(url))
    db.session.rollback()
    rows = db.session.scalars(select(WorkingHours).where(WorkingHours.effective_from == start)).all()
    assert sorted((r.weekday, r.start_time, r.end_time) for r in rows) == [
        (0, time(8), time(12)), (0, time(12, 30), time(16)), (2, time(10), time(14))]
    assert len(db.session.scalars(select(WorkingHours).where(WorkingHours.effective_from.is_(None))).all()) == 10
    assert db.session.scalars(select(AuditEvent.action).where(
        ~AuditEvent.action.startswith("login."))).all() == [AuditAction.SCHEDULE_CHANGED]


@pytest.mark.parametrize("monday, message", [
    ("09:00-12:00, 11:00-13:00", "the blocks overlap"),
    ("12:00-09:00", "ends before it starts"),
    ("nine to five", "write hours like 08:30-12:00"),
    ("25:00-26:00", "is not a time of day"),
])
def test_bad_hours_are_refused_with_a_message_and_change_nothing(desk, clinician, monday, message):
    url = f"/desk/schedules/{clinician.id}"
    response = post(desk, url, f"{url}/hours", "hours", effective_from=factories.future_weekday().isoformat(),
                    monday=monday, tuesday="", wednesday="", thursday="", friday="", saturday="", sunday="")
    assert response.status_code == 400
    assert message in text(response)
    db.session.rollback()
    assert db.session.scalars(select(WorkingHours).where(WorkingHours.effective_from.is_not(None))).all() == []


def test_time_off_over_a_booking_lists_it_to_move_and_cancels_nothing(desk, clinician):
    day = factories.future_weekday(weekday=1)
    patient = factories.make_user(name="Booked Patient")
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id,
                                   appointment_type_id=clinician.appointment_types[0].id, start=local(day, 10))
    db.session.rollback()
    url = f"/desk/schedules/{clinician.id}"
    response = post(desk, url, f"{url}/time-off", "off", first_day=day.isoformat(), last_day=day.isoformat(),
                    whole_days="y", reason="Conference")
    assert response.status_code == 302
    page = text(desk.get(url))
    assert "1 appointment to move" in page and "Booked Patient" in page
    assert f"/desk/appointments/{appointment.id}/move" in page
    db.session.rollback()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.BOOKED
    [off] = db.session.scalars(select(TimeOff)).all()
    assert off.start_at == local(day, 0) and off.end_at == local(day + timedelta(days=1), 0)
    assert off.reason == "Conference"
    assert AuditAction.TIME_OFF_ADDED in db.session.scalars(select(AuditEvent.action)).all()


def test_part_day_time_off_and_its_removal(desk, clinician):
    day = factories.future_weekday(weekday=2)
    url = f"/desk/schedules/{clinician.id}"
    post(desk, url, f"{url}/time-off", "off", first_day=day.isoformat(), start_time="13:00",
         last_day=day.isoformat(), end_time="15:30", reason="Dentist")
    db.session.rollback()
    [off] = db.session.scalars(select(TimeOff)).all()
    assert off.start_at == local(day, 13) and off.end_at == local(day, 15, 30)
    free = text(desk.get(f"{url}"))
    assert "Dentist" in free
    page = desk.get(url)
    token = hidden_fields(text(page))["csrf_token"]
    assert desk.post(f"/desk/schedules/time-off/{off.id}/remove", data={"csrf_token": token}).status_code == 302
    db.session.rollback()
    assert db.session.scalars(select(TimeOff)).all() == []
    assert AuditAction.TIME_OFF_REMOVED in db.session.scalars(select(AuditEvent.action)).all()


def test_time_off_that_ends_before_it_starts_is_refused(desk, clinician):
    day = factories.future_weekday()
    url = f"/desk/schedules/{clinician.id}"
    response = post(desk, url, f"{url}/time-off", "off", first_day=day.isoformat(), start_time="15:00",
                    last_day=day.isoformat(), end_time="13:00")
    assert response.status_code == 400 and "must end after it starts" in text(response)
    db.session.rollback()
    assert db.session.scalars(select(TimeOff)).all() == []


def test_unknown_clinician_is_not_found(desk):
    assert desk.get("/desk/schedules/999").status_code == 404


@pytest.mark.parametrize("years_ago, days_ago", [(5, 0), (0, 2)], ids=["a mistyped year", "two days ago"])
def test_time_off_that_has_already_ended_is_refused_with_a_message(desk, clinician, years_ago, days_ago):
    """A mistyped year (2020 for 2026) would be saved, change nothing and mislead whoever reads the list."""
    ended = date.today().replace(year=date.today().year - years_ago, day=1) if years_ago else (
        date.today() - timedelta(days=days_ago))  # two days: over in every time zone
    first_day, last_day = (ended - timedelta(days=4)).isoformat(), ended.isoformat()
    url = f"/desk/schedules/{clinician.id}"
    response = post(desk, url, f"{url}/time-off", "off", first_day=first_day, last_day=last_day,
                    whole_days="y", reason="Holiday")
    assert response.status_code == 400
    assert "That time off has already ended. Please give days from today on." in text(response)
    db.session.rollback()
    assert db.session.scalars(select(TimeOff)).all() == []
    assert AuditAction.TIME_OFF_ADDED not in db.session.scalars(select(AuditEvent.action)).all()


def test_time_off_that_began_earlier_and_goes_on_is_taken(desk, clinician):
    """Someone off sick since yesterday: the time off started in the past, but has not ended."""
    url = f"/desk/schedules/{clinician.id}"
    response = post(desk, url, f"{url}/time-off", "off", first_day=(date.today() - timedelta(days=1)).isoformat(),
                    last_day=(date.today() + timedelta(days=2)).isoformat(), whole_days="y", reason="Sick")
    assert response.status_code == 302
    db.session.rollback()
    assert [off.reason for off in db.session.scalars(select(TimeOff))] == ["Sick"]
