"""A patient's own appointment as a calendar file, the same event the messages carry."""
from flask import Blueprint, Response, abort
from flask_login import current_user

from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.booking.models import Appointment, AppointmentStatus
from portal.extensions import db
from portal.notify.calendar import appointment_calendar

bp = Blueprint("notify", __name__)


@bp.get("/appointments/<int:appointment_id>.ics")
@roles_required(Role.PATIENT)
def appointment_ics(appointment_id: int):
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id != current_user.id:
        abort(404)
    body = appointment_calendar(appointment, cancelled=appointment.status == AppointmentStatus.CANCELLED)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'})
