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
