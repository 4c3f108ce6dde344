"""What each message about an appointment says: subject, plain-text and HTML parts from the
templates under templates/notify/, and its calendar file. Clinic facts, the visit and how to
prepare for it, the time in the clinic's zone with the zone named, and where to manage it;
never triage answers or anything that reads as a diagnosis."""
from dataclasses import dataclass

from flask import current_app, render_template

from portal import clinic, dates
from portal.booking.models import Appointment
from portal.notify.ics import appointment_calendar
from portal.notify.models import MessageKind
from portal.triage.vocabulary import Route

# What to bring and how to prepare, by kind of visit.
PREPARATION = {
    Route.VASCULAR_ULTRASOUND: "Wear loose clothing that is easy to roll up or take off from the waist down. "
                               "You can eat and drink as usual, and there is no need to stop your medicines.",
    Route.SLEEP_STUDY_REFERRAL: "Bring a list of your medicines and, if you can, a note of your sleep over the last "
                                "two weeks. A bed partner's account of your sleep helps too.",
    Route.GENERAL_CONSULT: "Bring a list of your medicines and any recent blood test results (for example iron "
                           "or ferritin).",
}

SUBJECTS = {
    MessageKind.CONFIRMATION: "Your {visit} is booked for {when}",
    MessageKind.CHANGE: "Your {visit} has moved to {when}",
    MessageKind.CANCELLATION: "Your {visit} on {when} is canceled",
    MessageKind.REMINDER: "Reminder: your {visit} is tomorrow, {when}",
}


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str
    ics: str | None


def appointment_message(kind: MessageKind, appointment: Appointment, *,
                        moved_from: Appointment | None = None) -> Content:
    zone = clinic.zone()
    when = dates.date_and_time(appointment.start_at, zone, clinic.today())
    context = {
        "kind": kind, "appointment": appointment, "moved_from": moved_from, "zone": zone,
        "zone_name": dates.zone_name(zone), "preparation": PREPARATION.get(appointment.appointment_type.route, ""),
        "manage_url": f"{current_app.config['PUBLIC_URL']}/appointments/",
        "clinic": {"name": current_app.config["CLINIC_NAME"], "phone": current_app.config["CLINIC_PHONE"],
                   "address": current_app.config["CLINIC_ADDRESS"],
                   "emergency_number": current_app.config["EMERGENCY_NUMBER"]},
    }
    subject = SUBJECTS[kind].format(visit=appointment.appointment_type.name.lower(), when=when)
    ics = None if kind == MessageKind.REMINDER else appointment_calendar(
        appointment, cancelled=kind == MessageKind.CANCELLATION)
    return Content(subject=subject, text=render_template("notify/appointment.txt", **context),
                   html=render_template("notify/appointment.html", **context), ics=ics)
