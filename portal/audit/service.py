"""Writing the audit log: one row per thing done or seen, in the same transaction as the change
it describes, so a change and its audit row commit or fail together."""
from flask import has_request_context, request
from flask_login import current_user

from portal.audit.models import AuditAction, AuditEvent
from portal.auth.service import account_event, patient_registered
from portal.extensions import db


def record(action: str, *, patient_id: int | None = None, appointment_id: int | None = None,
           detail: str = "", user_id: int | None = None) -> AuditEvent:
    """Add one audit row to the current transaction (the caller commits it with its change).

    The user and address come from the request when there is one; a command-line job passes
    `user_id` or leaves it empty.
    """
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    address = request.remote_addr if has_request_context() else None
    entry = AuditEvent(action=action, user_id=user_id, patient_id=patient_id, appointment_id=appointment_id,
                       ip_address=address, detail=detail[:2000])
    db.session.add(entry)
    return entry


def listen_to_accounts() -> None:
    """Record registrations and every account event, in their transactions (create_app wires it)."""
    patient_registered.connect(_record_registration)
    account_event.connect(_record_account_event)


def _record_registration(patient, *, registered_by=None, **extra) -> None:
    record(AuditAction.PATIENT_REGISTERED, patient_id=patient.id,
           user_id=registered_by.id if registered_by else patient.id,
           detail="registered by the front desk" if registered_by else "registered online")


def _record_account_event(account, *, action: str, detail: str = "", **extra) -> None:
    """Who did it is the logged-in user when there is one (an admin ending someone's sessions),
    else the account itself (a login, a failure); None for an email with no account."""
    if account is None:
        record(action, detail=detail)
        return
    actor = current_user.id if has_request_context() and current_user.is_authenticated else account.id
    record(action, user_id=actor, patient_id=account.id if account.role == "patient" else None,
           detail=detail if actor == account.id else f"{detail} (account {account.id})".strip())
