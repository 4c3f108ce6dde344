"""The audit log, for admins: list and filter who did or saw what."""
from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload

from portal import clinic
from portal.audit.models import AuditAction, AuditEvent
from portal.auth.guards import roles_required
from portal.auth.models import Role, User
from portal.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/desk/audit")
PAGE_SIZE = 50
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _day(name: str) -> date | None:
    """?since= or ?until=, when it is a date the log could hold (records are kept for years, so
    not "within ten years"); anything else, such as 9999-12-31, filters nothing."""
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


@bp.get("/")
@roles_required(Role.ADMIN)
def audit_log():
    """Newest first; filter by who (name or email), patient (name or email), action and days."""
    zone = clinic.zone()
    who, patient = request.args.get("who", "").strip(), request.args.get("patient", "").strip()
    action = request.args.get("action", "")
    since, until = _day("since"), _day("until")
    actor, subject = aliased(User), aliased(User)
    conditions = []
    if who:
        conditions.append(AuditEvent.user_id.in_(select(actor.id).where(or_(
            func.lower(actor.name).contains(who.lower(), autoescape=True),
            actor.email.contains(who.lower(), autoescape=True)))))
    if patient:
        conditions.append(AuditEvent.patient_id.in_(select(subject.id).where(or_(
            func.lower(subject.name).contains(patient.lower(), autoescape=True),
            subject.email.contains(patient.lower(), autoescape=True)))))
    if action in set(AuditAction):
        conditions.append(AuditEvent.action == action)
    if since:
        conditions.append(AuditEvent.at >= datetime.combine(since, time(0), zone))
    if until:
        conditions.append(AuditEvent.at < datetime.combine(until + timedelta(days=1), time(0), zone))
    total = db.session.scalar(select(func.count(AuditEvent.id)).where(*conditions))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    events = db.session.scalars(
        select(AuditEvent).where(*conditions).options(joinedload(AuditEvent.user), joinedload(AuditEvent.patient))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    filters = {"who": who, "patient": patient, "action": action if action in set(AuditAction) else "",
               "since": since.isoformat() if since else "", "until": until.isoformat() if until else ""}
    return render_template("audit/log.html", events=events, total=total, page=page, pages=pages, filters=filters,
                           actions=list(AuditAction))
