"""A visit moved to another time shows as moved, in quiet words, not in red as a cancellation: on
the patient's appointments page, the desk's record of the patient, the desk's calendar and the
doctor's case page."""
import re
from datetime import UTC

from portal.auth.models import Role
from portal.booking.models import Route
from portal.booking.service import book_appointment, cancel_appointment, reschedule_appointment
from portal.extensions import db
from portal.triage.models import TriageSubmission
from tests import factories
from tests.client import browser_of
from tests.pages import words


def moved_and_cancelled(app):
    """A patient with one visit moved (10:00 to 14:00) and another cancelled, on one day."""
    visit = factories.make_type(Route.GENERAL_CONSULT, 30, "General consultation")
    clinician = factories.make_clinician()
    patient = factories.make_user(name="Dora Moved")
    factories.make_submission(patient, "general_consult", "routine")
    desk = factories.make_user(role=Role.DESK)
    day = factories.future_weekday(1)

    def at(hour: int):
        return factories.local(day, hour).astimezone(UTC)

    moved = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                             start=at(10), booked_by_id=desk.id, override_reason="Arranged on the phone")
    reschedule_appointment(moved.id, by_user=desk, new_start=at(14))
    cancelled = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                 start=at(11), booked_by_id=desk.id, override_reason="Arranged on the phone")
    cancel_appointment(cancelled.id, by_user=desk, reason="Patient is away")
    return patient, desk, day, moved, cancelled


def status_of(markup: str, appointment_text: str) -> tuple[str, str]:
    """The status class and words of the history line that names `appointment_text`."""
    for line in re.findall(r"<li>(.*?)</li>", markup, re.S):
        if appointment_text in words(line):
            found = re.search(r'<span class="status status-(\w+)">([^<]+)</span>', line)
            return found.group(1), found.group(2)
    raise AssertionError(f"no line with {appointment_text!r}")


def test_the_patient_sees_a_moved_visit_as_moved_and_where_it_went(app):
    patient, _, day, moved, cancelled = moved_and_cancelled(app)

    page = browser_of(app, patient).get("/appointments/").get_data(as_text=True)

    assert status_of(page, "10:00 AM") == ("moved", "Moved to another time")
    assert "(to " in words(page) and "2:00 PM)" in words(page)
    assert status_of(page, "11:00 AM")[0] == "cancelled"  # a real cancellation still says so
    assert "Moved to another time)" not in words(page)  # the old reason is not repeated as a cancellation


def test_the_desk_sees_a_moved_visit_as_moved_on_the_record_and_the_calendar(app):
    patient, desk, day, moved, cancelled = moved_and_cancelled(app)
    browser = browser_of(app, desk)

    record = browser.get(f"/desk/patients/{patient.id}").get_data(as_text=True)
    assert status_of(record, "10:00 AM") == ("moved", "Moved")

    calendar = browser.get(f"/desk/?date={day.isoformat()}").get_data(as_text=True)
    entry = re.search(rf'<li class="desk-entry desk-appointment status-(\w+)[^"]*" id="appointment-{moved.id}">'
                      r"(.*?)</li>", calendar, re.S)
    assert entry.group(1) == "moved"
    assert "Moved to " in words(entry.group(2)) and "2:00 PM" in words(entry.group(2))
    assert f'status-cancelled" id="appointment-{cancelled.id}"' in calendar or \
        f'status-cancelled desk-overbooked" id="appointment-{cancelled.id}"' in calendar


def test_the_doctor_sees_a_moved_visit_as_moved_on_the_case(app):
    patient, _, day, moved, cancelled = moved_and_cancelled(app)
    doctor = factories.make_user(role=Role.DOCTOR)
    [submission] = db.session.scalars(db.select(TriageSubmission).where(TriageSubmission.patient_id == patient.id))

    case = words(browser_of(app, doctor).get(f"/queue/{submission.id}").get_data(as_text=True))

    assert re.search(r"10:00 AM · General consultation with .*? · moved", case)
    assert re.search(r"11:00 AM · General consultation with .*? · canceled", case)  # a real cancellation

