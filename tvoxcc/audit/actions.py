"""What the audit log records: one vocabulary."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    ADMIN_CHANGE = "admin.change"  # a tenant's configuration changed (CLI entity commands, web)
    TENANT_IMPORT = "tenant.import"
    LOGIN = "web.login"
    LOGIN_FAILED = "web.login-failed"
    RECORDING_PLAY = "recording.play"
    RECORDING_DOWNLOAD = "recording.download"
    RECORDING_EXPORT = "recording.export"
    RECORDING_DELETE = "recording.delete"
    RECORDING_HOLD = "recording.hold"
    RECORDING_RELEASE = "recording.release"
    RECORDING_PURGE = "recording.purge"
    CONTACT_ADD = "contact.add"  # the address book changed (web API); detail: ids and field names, no values
    CONTACT_CHANGE = "contact.change"
    CONTACT_REMOVE = "contact.remove"
    CONTACT_IMPORT = "contact.import"
    CONTACT_EXPORT = "contact.export"  # one person's data written out (right of access)
    CONTACT_ERASE = "contact.erase"  # one person's data erased (by former contact id, never name or number)
    TENANT_RETENTION = "tenant.retention"  # a tenant's retention days changed (detail: from, to)
    LISTEN_REQUESTED = "listen.requested"
    LISTEN_REFUSED = "listen.refused"
    LISTEN_STARTED = "listen.started"
    LISTEN_MODE = "listen.mode"  # a mode change during a session (the first mode is the start's)
    LISTEN_ENDED = "listen.ended"
    CAMPAIGN_START = "campaign.start"
    CAMPAIGN_PAUSE = "campaign.pause"
    CAMPAIGN_STOP = "campaign.stop"
