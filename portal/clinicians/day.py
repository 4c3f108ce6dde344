"""What "My day" reads: one clinician's visits of one day at the clinic, in time order, each with
its reason in plain words and the summary of the triage behind it.

The triage is the one the visit was booked from, else the patient's latest; its summary is the
rules that fired and the flags, in the words the doctors' queue and case page use
(CLINICIAN_RULE_TEXT, FLAG_TEXT). Two statements whatever the number of visits: the visits with
their patients, types and triage, then the latest triage of the patients whose visit names none.
"""
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.booking.models import STATUS_LABELS, Appointment, AppointmentStatus, Clinician
from portal.booking.slots import local_day_bounds
from portal.extensions import db
from portal.triage.models import TriageSubmission
from portal.triage.rules import CLINICIAN_RULE_TEXT, FLAG_TEXT
from portal.triage.vocabulary import ROUTE_LABELS, Urgency

# How soon, in the words every page uses for it (the urgent time frame is 24 hours everywhere).
URGENCY_WORDS = {Urgency.ROUTINE: "routine", Urgency.URGENT: "urgent: to be seen within 24 hours",
                 Urgency.EMERGENCY: "emergency answers"}


@dataclass(frozen=True)
class DayVisit:
    """One row of "My day"."""

    appointment: Appointment
    status: str  # as staff pages say it: "Checked in"
    reason: str  # why the patient comes, in plain words
    stated_reason: str | None  # what staff wrote when they booked it otherwise than the triage says
    triage: TriageSubmission | None
    rules: list[str]  # the triage's rules that fired, in the doctors' words
    flags: list[str]  # its flags for the clinician, in the doctors' words


def visit_reason(appointment: Appointment, triage: TriageSubmission | None) -> str:
    """The triage's route and urgency in plain words, or that there is none to go by."""
    if triage is None:
        return "No triage answers on the record."
    if triage.route_provisional:
        return f"Route to be set at review, {URGENCY_WORDS[Urgency(triage.urgency)]}"
    return f"{ROUTE_LABELS[triage.current_route]}, {URGENCY_WORDS[Urgency(triage.urgency)]}"


def stated_reason(appointment: Appointment) -> str | None:
    """The reason staff gave for booking it otherwise than the triage says, or for squeezing it in."""
    given = [reason for reason in (appointment.override_reason, appointment.overbook_reason) if reason]
    return "; ".join(given) or None


def triage_summary(triage: TriageSubmission | None) -> tuple[list[str], list[str]]:
    if triage is None:
        return [], []
    outcome = triage.outcome or {}
    return ([CLINICIAN_RULE_TEXT.get(rule, rule) for rule in outcome.get("reasons", [])],
            [f"{flag} {FLAG_TEXT.get(flag, '')}".strip() for flag in outcome.get("flags", [])])


def latest_triage_of(patient_ids: set[int]) -> dict[int, TriageSubmission]:
    """Each patient's latest triage, in one statement."""
    if not patient_ids:
        return {}
    latest = (select(TriageSubmission.patient_id, func.max(TriageSubmission.id).label("id"))
              .where(TriageSubmission.patient_id.in_(patient_ids)).group_by(TriageSubmission.patient_id).subquery())
    found = db.session.scalars(select(TriageSubmission).join(latest, latest.c.id == TriageSubmission.id))
    return {submission.patient_id: submission for submission in found}


def triage_for(appointment: Appointment) -> TriageSubmission | None:
    """The triage a visit's page shows: the one it was booked from, else the patient's latest."""
    if appointment.triage_submission is not None:
        return appointment.triage_submission
    return latest_triage_of({appointment.patient_id}).get(appointment.patient_id)


def day_visits(clinician: Clinician, day: date, *, zone: ZoneInfo) -> list[DayVisit]:
    """The clinician's visits that start on `day` at the clinic, cancelled ones left out."""
    bounds = local_day_bounds(day, day, zone)
    appointments = list(db.session.scalars(
        select(Appointment)
        .where(Appointment.clinician_id == clinician.id, Appointment.start_at >= bounds.start,
               Appointment.start_at < bounds.end,
               Appointment.status != AppointmentStatus.CANCELLED)
        .options(joinedload(Appointment.patient), joinedload(Appointment.appointment_type),
                 joinedload(Appointment.triage_submission))
        .order_by(Appointment.start_at, Appointment.id)))
    latest = latest_triage_of({a.patient_id for a in appointments if a.triage_submission is None})
    visits = []
    for appointment in appointments:
        triage = appointment.triage_submission or latest.get(appointment.patient_id)
        rules, flags = triage_summary(triage)
        visits.append(DayVisit(appointment=appointment, status=STATUS_LABELS[AppointmentStatus(appointment.status)],
                               reason=visit_reason(appointment, triage), stated_reason=stated_reason(appointment),
                               triage=triage, rules=rules, flags=flags))
    return visits
