"""The audit log, for admins: list and filter who did or saw what."""
from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload

from portal import clinic
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.service import record
from portal.audit.wording import times_in_words
from portal.auth.guards import roles_required
from portal.auth.models import Role, User
from portal.database import write_transaction
from portal.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/desk/audit")
PAGE_SIZE = 50
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _day(text: str) -> date | None:
    """The since or until filter, when it is a date the log could hold (records are kept for
    years, so not "within ten years"); anything else, such as 9999-12-31, filters nothing."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


@bp.app_template_filter("local_times")
def _local_times(detail: str) -> str:
    """The moments an audit detail names, in the clinic's zone and in words (audit/wording.py)."""
    return times_in_words(detail or "", clinic.zone())


def _audit_detail(filters: dict[str, str], page: int) -> str:
    """The read itself, as the log records it: the page and every filter used."""
    used = [f"{name} “{value}”" for name, value in filters.items() if value]
    return f"page {page}" + (f"; filtered by {', '.join(used)}" if used else "")


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def audit_log():
    """Newest first; filter by who (name or email), patient (name or email), action and days.

    The filters and the page number are posted, not put in the address, since a patient's name
    would otherwise sit in access logs and browser history. Each read is itself audited, first,
    so the page shows its own row."""
    form = FlaskForm()  # CSRF only: the filters are read from the posted form below
    posted = request.form if form.validate_on_submit() else {}
    zone = clinic.zone()
    who, patient = posted.get("who", "").strip()[:200], posted.get("patient", "").strip()[:200]
    action = posted.get("action", "")
    since, until = _day(posted.get("since", "")), _day(posted.get("until", ""))
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
    filters = {"who": who, "patient": patient, "action": action if action in set(AuditAction) else "",
               "since": since.isoformat() if since else "", "until": until.isoformat() if until else ""}
    asked_page = posted.get("page", "")
    asked_page = int(asked_page) if asked_page.isdigit() and len(asked_page) < 7 else 1
    with write_transaction():
        record(AuditAction.AUDIT_LOG_VIEWED, detail=_audit_detail(filters, asked_page))
    total = db.session.scalar(select(func.count(AuditEvent.id)).where(*conditions))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(asked_page, 1), pages)
    events = db.session.scalars(
        select(AuditEvent).where(*conditions).options(joinedload(AuditEvent.user), joinedload(AuditEvent.patient))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("audit/log.html", events=events, total=total, page=page, pages=pages, filters=filters,
                           actions=list(AuditAction))
