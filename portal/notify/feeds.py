"""Clinicians' calendar feeds: each clinician may have a secret feed address (a long random
token) that Outlook, Google or Apple calendars subscribe to. The desk turns it on, makes a new one
(the old address stops working at once) or turns it off. The events carry the visit type and a
patient reference, never names of conditions or triage answers."""
import secrets
from datetime import timedelta

from flask import current_app
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import audit
from portal.audit import AuditAction
from portal.auth.models import User
from portal.booking.models import ACTIVE_STATUSES, Appointment, Clinician
from portal.database import utc_now, write_transaction
from portal.extensions import db
from portal.notify.ics import event_uid

PAST_SHOWN = timedelta(days=7)  # a week back, so today's and yesterday's visits stay in view


def patient_reference(patient_id: int) -> str:
    return f"P-{patient_id:06d}"


def set_feed(clinician_id: int, *, on: bool, by_user: User) -> str | None:
    """A new secret feed token for the clinician (the old one stops working), or none (off)."""
    with write_transaction():
        clinician = db.session.scalar(select(Clinician).where(Clinician.id == clinician_id).with_for_update())
        clinician.feed_token = secrets.token_urlsafe(32) if on else None
        audit.record(AuditAction.SCHEDULE_CHANGED, user_id=by_user.id,
                     detail=f"{clinician.display_name}: calendar feed {'made anew' if on else 'turned off'}")
        return clinician.feed_token


def clinician_for_feed(token: str) -> Clinician | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Clinician).where(Clinician.feed_token == token, Clinician.active))


def clinician_feed(clinician: Clinician) -> str:
    """The clinician's active appointments from a week ago on, as one calendar; the read is
    audited (which feed, how many appointments, from which address), as the desk's reads are."""
    clinician_id = clinician.id
    with write_transaction():
        clinician = db.session.get(Clinician, clinician_id)
        appointments = db.session.scalars(
            select(Appointment).where(Appointment.clinician_id == clinician_id, Appointment.status.in_(ACTIVE_STATUSES),
                                      Appointment.end_at > utc_now() - PAST_SHOWN)
            .options(joinedload(Appointment.appointment_type)).order_by(Appointment.start_at)).all()
        audit.record(AuditAction.FEED_READ,
                     detail=f"{clinician.display_name}'s calendar feed: {len(appointments)} appointments")
        return _feed_calendar(clinician, appointments)


def _feed_calendar(clinician: Clinician, appointments: list[Appointment]) -> str:
    config = current_app.config
    calendar = Calendar()
    calendar.add("prodid", f"-//{config['CLINIC_NAME']}//Clinician feed//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{clinician.display_name} · {config['CLINIC_NAME']}")
    for appointment in appointments:
        event = Event()
        event.add("uid", event_uid(appointment))
        event.add("dtstamp", utc_now())
        event.add("dtstart", appointment.start_at)
        event.add("dtend", appointment.end_at)
        event.add("summary", f"{appointment.appointment_type.name} · {patient_reference(appointment.patient_id)}")
        event.add("location", config["CLINIC_ADDRESS"])
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical().decode()
