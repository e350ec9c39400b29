"""Who did what, when: an append-only log chained by hash (``record``, ``entries``, ``verify``)."""

from tvoxcc.audit.actions import AuditAction
from tvoxcc.audit.actors import cli_actor
from tvoxcc.audit.log import entries, record, record_now, verify

__all__ = ["AuditAction", "cli_actor", "entries", "record", "record_now", "verify"]
