"""The audit log: who did or saw what to which patient record, when, and from where.

`models` holds the append-only table, `service.record` adds a row to the caller's transaction,
`views` is the admin's page (/desk/audit). Other packages record through `portal.audit.record`.
"""
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.service import record

__all__ = ["AuditAction", "AuditEvent", "record"]
