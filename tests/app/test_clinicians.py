"""Clinicians through their pages (CSRF on): a doctor's or sonographer's clinician record made when
an admin adds them or changes their role, its title and visits set on Staff accounts, closed when
they are deactivated (no longer offered for booking on any path, their past visits still theirs),
and each clinician's "My day": their visits of the day in time order, each with its reason and the
triage's summary, a click from the record; a sonographer reads no queue and no letter."""
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from portal.audit.models import AuditAction, AuditEvent
from portal.auth import staff
from portal.auth.models import Role, User
from portal.booking.models import Appointment, AppointmentStatus, AppointmentType, Clinician, WorkingHours
from portal.booking.service import NotBookable, book_appointment
from portal.database import write_transaction
from portal.extensions import db
from portal.triage.vocabulary import Route
from tests import factories
from tests.client import browser_of, hidden_fields, logged_in, submit
from tests.pages import location, text

CHICAGO = ZoneInfo("America/Chicago")  # the tests' CLINIC_TIMEZONE


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def clinician_of(user_id: int) -> Clinician | None:
    db.session.rollback()
    return db.session.scalar(select(Clinician).where(Clinician.user_id == user_id))


def visit_types() -> dict[str, AppointmentType]:
    return {route: factories.make_type(route, minutes) for route, minutes in
            ((Route.GENERAL_CONSULT, 30), (Route.VASCULAR_ULTRASOUND, 45), (Route.SLEEP_STUDY_REFERRAL, 30))}


def add(browser, **fields):
    data = {"new-name": "Jordan Scanner", "new-email": "jordan.scan@clinic.example", "new-role": "sonographer"}
    data.update({f"new-{name}": value for name, value in fields.items()})
    return submit(browser, "/accounts/new", data, form_page="/accounts/")


def post_button(browser, url: str, **data):
    page = browser.get("/accounts/")
    return browser.post(url, data={**hidden_fields(text(page)), **data})


def clinic_today():
    return datetime.now(UTC).astimezone(CHICAGO).date()


def visit_at(patient, clinician, appointment_type, start: datetime, **columns) -> Appointment:
    """A visit as stored (the service refuses the past, and a day's early visits have passed)."""
    appointment = Appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=appointment_type.id,
                              start_at=start.astimezone(UTC),
                              end_at=(start + timedelta(minutes=appointment_type.duration_minutes)).astimezone(UTC),
                              **columns)
    db.session.add(appointment)
    db.session.commit()
    return appointment


def sonographer_with_calendar(name="Jordan Lee") -> tuple[User, Clinician]:
    user = factories.make_user(role=Role.SONOGRAPHER, name=name)
    scans = db.session.scalar(select(AppointmentType).where(AppointmentType.route == Route.VASCULAR_ULTRASOUND))
    clinician = Clinician(user=user, display_name=name, title="Vascular sonographer", appointment_types=[scans],
                          working_hours=[WorkingHours(weekday=d, start_time=time(0), end_time=time(23, 59))
                                         for d in range(7)])
    db.session.add(clinician)
    db.session.commit()
    return user, clinician


# --- the clinician record follows the account ---------------------------------------------------

def test_an_added_sonographer_gets_a_clinician_record_giving_scans_and_the_admin_sets_its_details(app):
    types = visit_types()
    admin, browser = logged_in(app, Role.ADMIN)

    response = add(browser)

    user = db.session.scalar(select(User).where(User.email == "jordan.scan@clinic.example"))
    assert user.role == Role.SONOGRAPHER
    assert location(response) == f"/accounts/{user.id}/clinician"
    page = text(browser.get(location(response)))
    assert "Jordan Scanner is added (sonographer)" in page and "Set Jordan Scanner's hours" in page
    clinician = clinician_of(user.id)
    assert clinician.active and clinician.display_name == "Jordan Scanner"
    assert [t.route for t in clinician.appointment_types] == [Route.VASCULAR_ULTRASOUND]
    assert f'/desk/schedules/{clinician.id}' in page  # hours are the desk's page

    saved = submit(browser, f"/accounts/{user.id}/clinician",
                   {"title": "  Lead   sonographer ", "visit_types": [types[Route.VASCULAR_ULTRASOUND].id,
                                                                       types[Route.GENERAL_CONSULT].id]})

    assert location(saved) == f"/accounts/{user.id}/clinician"
    clinician = clinician_of(user.id)
    assert clinician.title == "Lead sonographer"
    assert {t.route for t in clinician.appointment_types} == {Route.VASCULAR_ULTRASOUND, Route.GENERAL_CONSULT}
    changed = audit_rows(AuditAction.CLINICIAN_CHANGED)
    assert "made for account" in changed[0].detail and changed[-1].user_id == admin.id
    assert "Lead sonographer" in changed[-1].detail
    assert "Clinician details<span class=\"visually-hidden\"> of Jordan Scanner" in text(browser.get("/accounts/"))


@pytest.mark.parametrize("fields, message", [
    ({"title": "x" * 121}, "Please keep the title to 120 characters."),
    ({"visit_types": ["987654"]}, "Please choose visit types from the list."),
    ({"visit_types": ["scan"]}, "Please choose visit types from the list."),
])
def test_bad_clinician_details_are_refused_and_change_nothing(app, fields, message):
    visit_types()
    _, browser = logged_in(app, Role.ADMIN)
    add(browser)
    user = db.session.scalar(select(User).where(User.email == "jordan.scan@clinic.example"))
    before = [t.id for t in clinician_of(user.id).appointment_types], clinician_of(user.id).title

    response = submit(browser, f"/accounts/{user.id}/clinician", fields)

    assert response.status_code == 400 and message in text(response)
    assert ([t.id for t in clinician_of(user.id).appointment_types], clinician_of(user.id).title) == before


def test_desk_staff_have_no_clinician_details(app):
    _, browser = logged_in(app, Role.ADMIN)
    desk = factories.make_user(role=Role.DESK)
    assert browser.get(f"/accounts/{desk.id}/clinician").status_code == 404


def test_a_role_change_opens_and_closes_the_record_and_keeps_past_visits(app):
    visit_types()
    _, admin = logged_in(app, Role.ADMIN)
    desk = factories.make_user(role=Role.DESK, name="Sam Switch")

    post_button(admin, f"/accounts/{desk.id}/role", role="doctor")
    record = clinician_of(desk.id)
    assert record.active and [t.route for t in record.appointment_types] == [Route.GENERAL_CONSULT]

    post_button(admin, f"/accounts/{desk.id}/role", role="desk")
    assert not clinician_of(desk.id).active

    post_button(admin, f"/accounts/{desk.id}/role", role="sonographer")
    again = clinician_of(desk.id)
    assert again.id == record.id and again.active  # the same record, open again
    assert "from front desk to sonographer" in audit_rows(AuditAction.ROLE_CHANGED)[-1].detail
    closed, reopened = [row.detail for row in audit_rows(AuditAction.CLINICIAN_CHANGED)][-2:]
    assert "closed: no longer offered for booking" in closed and "open for booking again" in reopened
    assert db.session.scalar(select(db.func.count()).select_from(Clinician)) == 1


# --- a deactivated clinician is not offered for booking -------------------------------------------

@pytest.fixture
def two_doctors(app):
    """A general consult given by two doctors every day; the second's account is closed afterwards."""
    factories.make_type(Route.GENERAL_CONSULT, 30)
    staying, leaving = factories.make_clinician(name="Dr. Staying"), factories.make_clinician(name="Dr. Leaving")
    return staying, leaving


def close_account_only(clinician: Clinician) -> None:
    """The account deactivated while its clinician record stayed open (data from before this was
    kept in step): booking must still refuse it."""
    with write_transaction() as session:
        session.execute(update(User).where(User.id == clinician.user_id).values(active=False))


def offered_clinicians(response) -> set[int]:
    return {int(found) for found in re.findall(r"clinician=(\d+)", text(response))}


@pytest.mark.parametrize("how", ["deactivated by an admin", "account closed, record left open"])
def test_a_deactivated_clinician_is_offered_on_no_booking_path(app, two_doctors, how):
    staying, leaving = two_doctors
    admin = factories.make_user(role=Role.ADMIN)
    day = factories.future_weekday(1)
    past = visit_at(factories.make_user(), leaving, leaving.appointment_types[0],
                    datetime.combine(day - timedelta(days=14), time(10), CHICAGO),
                    status=AppointmentStatus.FULFILLED)
    if how == "deactivated by an admin":
        staff.deactivate(leaving.user_id, by=admin)
        assert not clinician_of(leaving.user_id).active
    else:
        close_account_only(leaving)
    visit = db.session.scalar(select(AppointmentType))
    patient, patient_browser = logged_in(app, Role.PATIENT, triage=("general_consult", "routine"))

    # The patient: the week of times, its JSON, and a time link naming the closed clinician.
    week = patient_browser.get("/book/", query_string={"week": day.isoformat()})
    data = patient_browser.get("/book/slots.json", query_string={"week": day.isoformat()}).get_json()
    assert offered_clinicians(week) <= {staying.id}
    assert {cid for d in data["days"] for t in d["times"] for cid in t["clinician_ids"]} == {staying.id}
    assert leaving.id not in {c["id"] for c in data.get("clinicians", [])}
    start = datetime.combine(day, time(10), CHICAGO)
    with pytest.raises(NotBookable):
        book_appointment(patient_id=patient.id, clinician_id=leaving.id, appointment_type_id=visit.id, start=start)

    # The desk: the patient's booking page, a booking and a squeeze-in with that clinician.
    desk = factories.make_user(role=Role.DESK)
    desk_browser = browser_of(app, desk)
    page = desk_browser.get(f"/desk/patients/{patient.id}/book", query_string={"week": day.isoformat()})
    assert page.status_code == 200 and leaving.id not in offered_clinicians(page)
    for overbook_reason in (None, "Squeezed in on the phone"):
        with pytest.raises(NotBookable):
            book_appointment(patient_id=patient.id, clinician_id=leaving.id, appointment_type_id=visit.id,
                             start=start, booked_by_id=desk.id, overbook_reason=overbook_reason)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Appointment)) == 1
    # Their past work stays under their name.
    assert db.session.get(Appointment, past.id).clinician_id == leaving.id


def test_a_reactivated_clinician_is_offered_again(app, two_doctors):
    staying, leaving = two_doctors
    admin = factories.make_user(role=Role.ADMIN)
    staff.deactivate(leaving.user_id, by=admin)
    staff.reactivate(leaving.user_id, by=admin)
    _, browser = logged_in(app, Role.PATIENT, triage=("general_consult", "routine"))
    data = browser.get("/book/slots.json", query_string={"week": factories.future_weekday(1).isoformat()}).get_json()
    assert {cid for d in data["days"] for t in d["times"] for cid in t["clinician_ids"]} == {staying.id, leaving.id}


# --- My day ---------------------------------------------------------------------------------------

@pytest.fixture
def scan_day(app):
    """Today's visits: two on Jordan Lee's calendar (the later booked first), one on another's."""
    visit_types()
    sonographer, calendar = sonographer_with_calendar()
    other, other_calendar = sonographer_with_calendar("Pat Otherscan")
    scans = calendar.appointment_types[0]
    today = clinic_today()
    ruth, george, stranger = (factories.make_user(name=name) for name in ("Ruth Early", "George Late", "Sid Else"))
    triage = factories.make_submission(ruth, "vascular_ultrasound", "urgent")
    late = visit_at(george, calendar, scans, datetime.combine(today, time(15, 30), CHICAGO),
                    booked_by_id=sonographer.id, overrides="route", override_reason="Follow-up scan after surgery")
    early = visit_at(ruth, calendar, scans, datetime.combine(today, time(8, 15), CHICAGO),
                     triage_submission_id=triage.id, status=AppointmentStatus.CHECKED_IN)
    elsewhere = visit_at(stranger, other_calendar, scans, datetime.combine(today, time(11), CHICAGO))
    return {"sonographer": sonographer, "other": other, "early": early, "late": late, "elsewhere": elsewhere,
            "triage": triage}


def test_a_sonographer_starts_on_my_day_with_their_visits_in_order_reasons_and_summaries(app, scan_day):
    browser = browser_of(app, scan_day["sonographer"])

    page = text(browser.get("/my-day/"))

    assert "My day" in page and clinic_today().strftime("%A, %B %-d") in page
    assert page.index("8:15 AM") < page.index("3:30 PM")  # time order, 12-hour times
    assert "Ruth Early" in page and "George Late" in page and "Sid Else" not in page
    assert "Vascular ultrasound, urgent: to be seen within 24 hours" in page
    assert "U1 possible deep vein thrombosis: seen within 24 hours" in page  # the triage's rules, in the doctors' words
    assert "Checked in" in page
    assert "Follow-up scan after surgery" in page and "No triage answers on the record." in page
    assert f'/my-day/visits/{scan_day["early"].id}' in page and "/queue/" not in page
    [viewed] = audit_rows(AuditAction.DAY_VIEWED)
    assert viewed.user_id == scan_day["sonographer"].id
    assert f"2 visits (appointments {scan_day['early'].id}, {scan_day['late'].id})" in viewed.detail


def test_a_sonographer_reads_their_own_visits_record_and_nobody_elses(app, scan_day):
    browser = browser_of(app, scan_day["sonographer"])

    own = browser.get(f"/my-day/visits/{scan_day['early'].id}")
    other = browser.get(f"/my-day/visits/{scan_day['elsewhere'].id}")

    assert own.status_code == 200 and other.status_code == 404
    page = text(own)
    assert "Ruth Early" in page and "Triage summary" in page and "Answers" in page
    assert "8:15 AM" in page
    [viewed] = audit_rows(AuditAction.VISIT_VIEWED)
    assert viewed.appointment_id == scan_day["early"].id and viewed.patient_id == scan_day["early"].patient_id
    [case_read] = audit_rows(AuditAction.TRIAGE_VIEWED)
    assert case_read.detail == f"case {scan_day['triage'].id}" and case_read.user_id == scan_day["sonographer"].id


def test_a_sonographer_has_no_queue_case_or_letters(app, scan_day):
    browser = browser_of(app, scan_day["sonographer"])
    assert browser.get("/queue/").status_code == 403
    assert browser.get(f"/queue/{scan_day['triage'].id}").status_code == 403
    assert browser.get("/letters/1/pdf").status_code in (403, 404)
    nav = text(browser.get("/my-day/"))
    assert "Triage queue" not in nav and 'href="/my-day/"' in nav


def test_the_day_picker_goes_back_and_forth_and_an_empty_day_says_so(app, scan_day):
    browser = browser_of(app, scan_day["sonographer"])
    tomorrow = clinic_today() + timedelta(days=1)

    page = text(browser.get("/my-day/", query_string={"day": tomorrow.isoformat()}))

    assert tomorrow.strftime("%A, %B %-d") in page and "No visits on this day." in page
    assert f"day={clinic_today().isoformat()}" in page  # the previous day's link
    unread = text(browser.get("/my-day/", query_string={"day": "next tuesday"}))
    assert "That date was not understood, so today is shown." in unread and "Ruth Early" in unread
    far = browser.get("/my-day/", query_string={"day": "9999-12-31"})
    assert far.status_code == 200 and "more than ten years" in text(far)


def test_a_doctors_day_leads_to_the_case_page_and_one_without_a_calendar_is_told(app):
    visit_types()
    calendar = factories.make_clinician(name="Dr. Maria Alvarez")
    doctor = db.session.get(User, calendar.user_id)
    patient = factories.make_user(name="Lena Case")
    case = factories.make_submission(patient, "general_consult", "routine")
    consult = db.session.scalar(select(AppointmentType).where(AppointmentType.route == Route.GENERAL_CONSULT))
    visit_at(patient, calendar, consult, datetime.combine(clinic_today(), time(13), CHICAGO))

    page = text(browser_of(app, doctor).get("/my-day/"))
    assert "1:00 PM" in page and "Lena Case" in page and f'/queue/{case.id}' in page
    assert "General consult, routine" in page

    _, no_calendar = logged_in(app, Role.DOCTOR)
    assert "You have no calendar at the clinic yet" in text(no_calendar.get("/my-day/"))
