"""A patient's appointments as their own page and the desk's record of them show them: what is
coming up, soonest first, and what is past or cancelled, latest first (two queries' worth of rows
in one: clinician and visit type loaded with them)."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.booking.models import ACTIVE_STATUSES, Appointment
from portal.extensions import db


def upcoming_and_past(patient_id: int, now: datetime) -> tuple[list[Appointment], list[Appointment]]:
    """Active visits that have not ended, soonest first; and all the others, latest first."""
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient_id)
        .options(joinedload(Appointment.clinician), joinedload(Appointment.appointment_type),
                 selectinload(Appointment.moved_to))
        .order_by(Appointment.start_at, Appointment.id)).all()
    upcoming = [a for a in appointments if a.status in ACTIVE_STATUSES and a.end_at > now]
    return upcoming, [a for a in reversed(appointments) if a not in upcoming]
