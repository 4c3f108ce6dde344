"""Clinicians' records: the Clinician row (title, the visits they give, their hours) of every staff
member who sees patients, kept in step with their account.

The staff rules (portal/auth/staff.py) announce each change of role or of being active with the
`staff_role_set` signal, inside their transaction; `keep_clinician_record` answers in the same
transaction: a doctor or sonographer who is active has an open record (made at their first such
role, with the visits their role typically gives), anyone else's record is closed. A closed record
is never offered for booking, and stays with its past visits, so they stay under the person's name.
Hours are the desk's (portal/desk/schedule_views.py); title and visits are the administrator's,
through `set_clinician_details`.
"""
from collections.abc import Collection

from sqlalchemy import select

from portal import audit
from portal.audit import AuditAction
from portal.auth.models import CLINICIAN_ROLES, Role, User
from portal.auth.staff import StaffChangeRefused, staff_role_set
from portal.booking.models import AppointmentType, Clinician
from portal.database import write_transaction
from portal.extensions import db
from portal.triage.vocabulary import Route

# What a new clinician gives until an administrator says otherwise: a sonographer scans.
TYPICAL_VISITS = {Role.DOCTOR: (Route.GENERAL_CONSULT,), Role.SONOGRAPHER: (Route.VASCULAR_ULTRASOUND,)}
TYPICAL_TITLES = {Role.DOCTOR: "", Role.SONOGRAPHER: "Vascular sonographer"}
TITLE_LENGTH = 120


def listen_to_staff_changes() -> None:
    """Keep clinicians' records in step with staff accounts (create_app wires it)."""
    staff_role_set.connect(keep_clinician_record)


def clinician_of(user_id: int) -> Clinician | None:
    return db.session.scalar(select(Clinician).where(Clinician.user_id == user_id))


def keep_clinician_record(user: User, **_about) -> None:
    """Open, make or close `user`'s clinician record to match their role and account (inside the
    caller's transaction, which commits it)."""
    clinician = clinician_of(user.id)
    sees_patients = user.role in CLINICIAN_ROLES and user.active
    if clinician is None:
        if sees_patients:
            routes = TYPICAL_VISITS[Role(user.role)]
            visits = db.session.scalars(select(AppointmentType).where(AppointmentType.route.in_(routes))
                                        .order_by(AppointmentType.id)).all()
            clinician = Clinician(user=user, display_name=user.name, title=TYPICAL_TITLES[Role(user.role)],
                                  appointment_types=list(visits))
            db.session.add(clinician)
            db.session.flush()
            audit.record(AuditAction.CLINICIAN_CHANGED,
                         detail=f"clinician record {clinician.id} made for account {user.id}: "
                                f"{_visits_in_words(clinician)}; no hours yet")
        return
    if clinician.active != sees_patients:
        clinician.active = sees_patients
        audit.record(AuditAction.CLINICIAN_CHANGED,
                     detail=f"clinician record {clinician.id} of account {user.id} "
                            + ("open for booking again" if sees_patients else "closed: no longer offered for booking"))


def _visits_in_words(clinician: Clinician) -> str:
    names = [t.name for t in clinician.appointment_types]
    return "gives " + ", ".join(names) if names else "gives no visit type"


def set_clinician_details(user_id: int, *, title: str, visit_type_ids: Collection[int], by: User) -> Clinician:
    """An administrator sets a clinician's title and the visits they give; StaffChangeRefused when
    the account has no clinician record, the title is too long, or a visit type does not exist."""
    title = " ".join(title.split())
    if len(title) > TITLE_LENGTH:
        raise StaffChangeRefused(f"Please keep the title to {TITLE_LENGTH} characters.")
    with write_transaction() as session:
        clinician = session.scalar(select(Clinician).where(Clinician.user_id == user_id).with_for_update())
        if clinician is None:
            raise StaffChangeRefused("Only doctors and sonographers have clinician details.")
        visits = session.scalars(select(AppointmentType).where(AppointmentType.id.in_(set(visit_type_ids)))
                                 .order_by(AppointmentType.id)).all()
        if len(visits) != len(set(visit_type_ids)):
            raise StaffChangeRefused("Please choose visit types from the list.")
        clinician.title = title
        clinician.appointment_types = list(visits)
        audit.record(AuditAction.CLINICIAN_CHANGED, user_id=by.id,
                     detail=f"clinician record {clinician.id} of account {user_id}: title “{title}”, "
                            f"{_visits_in_words(clinician)}")
    return clinician
