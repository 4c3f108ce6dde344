"""Calendar files (RFC 5545, with the icalendar library) for an appointment: the same event in
every message and download, so calendar programs update it instead of adding another.

The UID stays the same across moves (a move makes a new appointment row: the UID is that of the
first row of the chain), and SEQUENCE counts the changes: one more for each move, and one more
again for a cancellation.
"""
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from portal import clinic, dates
from portal.booking.models import Appointment
from portal.database import utc_now


def _chain(appointment: Appointment) -> list[Appointment]:
    """The appointment and those it was moved from, newest first."""
    chain = [appointment]
    while chain[-1].rescheduled_from is not None:
        chain.append(chain[-1].rescheduled_from)
    return chain


def event_uid(appointment: Appointment) -> str:
    return f"appointment-{_chain(appointment)[-1].id}@{urlsplit(current_app.config['PUBLIC_URL']).hostname}"


def appointment_calendar(appointment: Appointment, *, cancelled: bool = False, now: datetime | None = None) -> str:
    """One VEVENT in a VCALENDAR with METHOD:REQUEST, or METHOD:CANCEL for a cancellation."""
    config = current_app.config
    calendar = Calendar()
    calendar.add("prodid", f"-//{config['CLINIC_NAME']}//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", event_uid(appointment))
    event.add("sequence", len(_chain(appointment)) - 1 + (1 if cancelled else 0))
    event.add("dtstamp", now or utc_now())
    event.add("dtstart", appointment.start_at)
    event.add("dtend", appointment.end_at)
    event.add("summary", f"{appointment.appointment_type.name} at {config['CLINIC_NAME']}")
    event.add("location", vText(config["CLINIC_ADDRESS"]))
    when = dates.date_and_time(appointment.start_at, clinic.zone(), clinic.today())
    event.add("description", f"{when} ({dates.zone_name(clinic.zone())}) with {appointment.clinician.display_name}. "
                             f"To change or cancel: "
                             f"{config['PUBLIC_URL']}/appointments/ or call {config['CLINIC_PHONE']}.")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{_address_of(config['MAIL_DEFAULT_SENDER'])}")
    organizer.params["cn"] = vText(config["CLINIC_NAME"])
    event.add("organizer", organizer)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def _address_of(sender: str) -> str:
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()
