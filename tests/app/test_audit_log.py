"""The admin reads the audit log; nobody else may."""
import re
from datetime import UTC

import pytest
from sqlalchemy import func, select

from portal import dates
from portal.audit import AuditAction, AuditEvent
from portal.auth.models import Role
from portal.booking.service import book_appointment, cancel_appointment
from portal.extensions import db
from tests import factories
from tests.client import csrf_token, hidden_fields, logged_in
from tests.factories import local
from tests.pages import words


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


def filtered(browser, **filters):
    """Fill in the filters and press Filter: they are posted, never put in the address."""
    page = browser.get("/desk/audit/")
    return browser.post("/desk/audit/", data={"csrf_token": csrf_token(page.get_data(as_text=True)), **filters})


def rows(response) -> str:
    """The table of events, without the filter form (whose menu lists every action)."""
    page = response.get_data(as_text=True)
    return page[page.index("<tbody>"):]


def test_admin_sees_who_did_what_newest_first(app, history):
    response = filtered(logged_in(app, Role.ADMIN)[1], action="appointment.booked")
    assert "1 event" in response.get_data(as_text=True)
    response = logged_in(app, Role.ADMIN)[1].get("/desk/audit/")
    db.session.rollback()
    total = db.session.scalar(select(func.count(AuditEvent.id)))  # messages queued and this read are audited too
    assert f"{total} events" in response.get_data(as_text=True) and total > 2
    page = rows(response)
    assert (page.index('data-label="Action">appointment.cancelled</td>')
            < page.index('data-label="Action">appointment.booked</td>'))
    assert "Desk Person (desk)" in page and "Phoned to cancel" in page and "Audited Patient" in page


@pytest.mark.parametrize("filters, shown, hidden", [
    ({"action": "appointment.cancelled"}, "appointment.cancelled", "appointment.booked"),
    ({"who": "desk person"}, "appointment.cancelled", "appointment.booked"),
    ({"patient": "audited"}, "appointment.booked", "No events match"),
    ({"since": "2000-01-01", "until": "2000-01-02"}, "No events match", "appointment.booked"),
    ({"action": "nonsense", "since": "garbage", "page": "-4"}, "appointment.booked", "No events match"),
])
def test_filters(app, history, filters, shown, hidden):
    page = rows(filtered(logged_in(app, Role.ADMIN)[1], **filters))
    assert shown in page and hidden not in page


def test_the_filters_stay_out_of_the_address_and_the_next_page_keeps_them(app, history):
    for _ in range(60):  # more than a page of booking messages
        db.session.add(AuditEvent(action="message.queued", patient_id=history.patient_id, detail="reminder"))
    db.session.commit()
    browser = logged_in(app, Role.ADMIN)[1]
    # An address with filters in it is not read: a patient's name never needs to be in one.
    assert "No events match" not in rows(browser.get("/desk/audit/?patient=nobody-at-all"))
    first = filtered(browser, patient="audited", action="message.queued")
    markup = first.get_data(as_text=True)
    assert "Page 1 of 2" in markup
    addresses = re.findall(r'(?:href|action)="([^"]*)"', markup)
    assert not [url for url in addresses if "audited" in url or "patient=" in url]
    older = re.search(r'<form method="post" action="/desk/audit/">.*?</form>', markup, re.S).group(0)
    fields = hidden_fields(older)
    assert (fields["patient"], fields["action"]) == ("audited", "message.queued")
    next_page = re.search(r'name="page" value="(\d+)"', older).group(1)
    second = browser.post("/desk/audit/", data={**fields, "page": next_page})
    assert "Page 2 of 2" in second.get_data(as_text=True)
    assert "appointment.booked" not in rows(second)


def test_each_read_of_the_log_is_itself_audited_with_its_filters(app, history):
    admin, browser = logged_in(app, Role.ADMIN)
    shown = filtered(browser, patient="audited", since="2001-02-03")  # the page, then the filters posted
    assert shown.status_code == 200
    db.session.rollback()
    reads = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.AUDIT_LOG_VIEWED)
                                    .order_by(AuditEvent.id)))
    assert [(read.user_id, read.patient_id) for read in reads] == [(admin.id, None)] * 2
    assert reads[0].detail == "page 1"
    assert reads[1].detail == "page 1; filtered by patient “audited”, since “2001-02-03”"
    # the log shows its own reads
    assert 'data-label="Action">audit.log_viewed</td>' in rows(browser.get("/desk/audit/"))


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DESK, Role.DOCTOR])
def test_only_admins_read_it(app, role):
    assert logged_in(app, role)[1].get("/desk/audit/").status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/desk/audit/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_details_give_times_in_clinic_time_and_in_words(app, history):
    """The page says its times are clinic time: the moments a detail names (a booking's start, a
    time off) are shown so too, in words, while the row keeps them exactly (ISO 8601, UTC)."""
    clinician = factories.make_clinician(name="Dr Leave")
    day = factories.future_weekday(weekday=2)
    db.session.add(AuditEvent(action=AuditAction.TIME_OFF_ADDED, detail=f"Dr Leave: {local(day, 13).isoformat()} "
                              f"to {local(day, 15, 30).isoformat()} Dentist"))
    db.session.add(AuditEvent(action=AuditAction.PATIENT_SEARCHED,
                              detail="searched by date of birth for “1954-03-14”: 0 found"))
    db.session.commit()
    assert clinician.id
    booked = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == AuditAction.APPOINTMENT_BOOKED))
    assert f"at {local(factories.future_weekday(), 10).astimezone(UTC).isoformat()}" in booked  # exact
    page = words(rows(logged_in(app, Role.ADMIN)[1].get("/desk/audit/")))
    booked_day = factories.future_weekday()
    assert f"with {history.clinician.display_name} at {dates.short_date(booked_day)}, 10:00 AM" in page
    assert f"Dr Leave: {dates.short_date(day)}, 1:00 PM to {dates.short_date(day)}, 3:30 PM Dentist" in page
    assert "searched by date of birth for “1954-03-14”" in page  # what was typed is shown as typed
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", page)
