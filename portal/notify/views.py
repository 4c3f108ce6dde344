"""A patient's own appointment as a calendar file, the same event the messages carry; and the
admins' outbox page: what waits, what failed and what is dead, with "send again" for the dead."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.booking.models import Appointment, AppointmentStatus
from portal.extensions import db
from portal.notify.feeds import clinician_feed, clinician_for_feed
from portal.notify.ics import appointment_calendar
from portal.notify.models import MessageStatus, OutboxMessage
from portal.notify.outbox import NotResendable, send_again

bp = Blueprint("notify", __name__)


@bp.get("/appointments/<int:appointment_id>.ics")
@roles_required(Role.PATIENT)
def appointment_ics(appointment_id: int):
    appointment = db.get_or_404(Appointment, appointment_id)
    if not appointment.readable_by(current_user):
        abort(404)  # someone else's: as if there were none
    body = appointment_calendar(appointment, cancelled=appointment.status == AppointmentStatus.CANCELLED)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'})


@bp.get("/feeds/<token>.ics")
def feed(token: str):
    """A clinician's calendar feed, for calendar programs: the secret address is the key."""
    clinician = clinician_for_feed(token)
    if clinician is None:
        abort(404)
    return Response(clinician_feed(clinician), mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300"})


SHOWN = 100


@bp.get("/desk/outbox")
@roles_required(Role.ADMIN)
def outbox():
    """Counts by status; the messages still to send (failed ones first), and the dead ones."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    waiting = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(
        [MessageStatus.PENDING, MessageStatus.SENDING])).order_by(
        OutboxMessage.attempts.desc(), OutboxMessage.due_at, OutboxMessage.id).limit(SHOWN)).all()
    dead = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.DEAD)
                              .order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc()).limit(SHOWN)).all()
    return render_template("notify/outbox.html", counts=counts, waiting=waiting, dead=dead,
                           statuses=list(MessageStatus))


@bp.post("/desk/outbox/<int:message_id>/send-again")
@roles_required(Role.ADMIN)
def resend(message_id: int):
    db.get_or_404(OutboxMessage, message_id)  # a message id that does not exist: 404, like any id
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        send_again(message_id, by_user=current_user)
    except NotResendable as error:
        flash(str(error), "error")
    else:
        flash(f"Message {message_id} will be sent again in the next round of the mail worker.", "success")
    return redirect(url_for(".outbox"))
