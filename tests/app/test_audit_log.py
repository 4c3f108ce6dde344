"""The admin reads the audit log; nobody else may."""
import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.booking.service import book_appointment, cancel_appointment
from portal.extensions import db
from tests import factories
from tests.client import logged_in
from tests.factories import local


def browser_for(app, role):
    return logged_in(app, role)[1]


@pytest.fixture
def history(app):
    """A booking by a patient and its cancellation by the desk."""
    visit, clinician = factories.make_type(), factories.make_clinician()
    patient = factories.make_user(name="Audited Patient")
    desk = factories.make_user(role=Role.DESK, name="Desk Person")
    appointment = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                   start=local(factories.future_weekday(), 10))
    cancel_appointment(appointment.id, by_user=desk, reason="Phoned to cancel")
    db.session.rollback()
    return appointment


def rows(response) -> str:
    """The table of events, without the filter form (whose menu lists every action)."""
    page = response.get_data(as_text=True)
    return page[page.index("<tbody>"):]


def test_admin_sees_who_did_what_newest_first(app, history):
    response = browser_for(app, Role.ADMIN).get("/desk/audit/?action=appointment.booked")
    assert "1 event" in response.get_data(as_text=True)
    response = browser_for(app, Role.ADMIN).get("/desk/audit/")
    total = db.session.scalar(select(func.count(AuditEvent.id)))  # the messages queued are audited too
    assert f"{total} events" in response.get_data(as_text=True) and total > 2
    page = rows(response)
    assert page.index("appointment.cancelled") < page.index("appointment.booked")
    assert "Desk Person (desk)" in page and "Phoned to cancel" in page and "Audited Patient" in page


@pytest.mark.parametrize("query, shown, hidden", [
    ("?action=appointment.cancelled", "appointment.cancelled", "appointment.booked"),
    ("?who=desk person", "appointment.cancelled", "appointment.booked"),
    ("?patient=audited", "appointment.booked", "No events match"),
    ("?since=2000-01-01&until=2000-01-02", "No events match", "appointment.booked"),
    ("?action=nonsense&since=garbage&page=-4", "appointment.booked", "No events match"),
])
def test_filters(app, history, query, shown, hidden):
    page = rows(browser_for(app, Role.ADMIN).get("/desk/audit/" + query))
    assert shown in page and hidden not in page


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DESK, Role.DOCTOR])
def test_only_admins_read_it(app, role):
    assert browser_for(app, role).get("/desk/audit/").status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/desk/audit/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
