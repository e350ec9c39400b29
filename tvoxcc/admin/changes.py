"""What an admin change did to a tenant, as the audit log keeps it: per section, the keys added, changed
and removed (never values: secrets and personal data stay out of the log)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.admin.spec import TenantDoc

# How items of each section are matched between two documents (a file and the store, before and after).
KEYS: dict[str, Callable[[Any], Any]] = {
    "services": lambda x: x.name,
    "skills": lambda x: x.name,
    "activity_codes": lambda x: x.name,
    "groups": lambda x: x.name,
    "queues": lambda x: x.name,
    "agents": lambda x: x.name,
    "users": lambda x: x.username,
    "prompts": lambda x: (x.name, x.language),
    "ivrs": lambda x: x.service,
    "campaigns": lambda x: x.name,
    "scripts": lambda x: x.name,
}


def _label(key: Any) -> str:
    return "/".join(key) if isinstance(key, tuple) else str(key)


def _comparable(item: Any) -> Any:
    # Secrets compare by value (a new SIP password is a change); they never leave this function.
    return item.model_dump(mode="python")


def document_changes(before: TenantDoc | None, after: TenantDoc) -> dict[str, dict[str, list[str]]]:
    """{section: {"added": [...], "changed": [...], "removed": [...]}} for the sections that differ."""
    changes: dict[str, dict[str, list[str]]] = {}
    if before is None or before.tenant != after.tenant or before.outbound != after.outbound:
        changes["tenant"] = {"added" if before is None else "changed": [after.tenant.name]}
    for section, key in KEYS.items():
        old = {key(i): _comparable(i) for i in getattr(before, section)} if before else {}
        new = {key(i): _comparable(i) for i in getattr(after, section)}
        diff = {
            "added": sorted(_label(k) for k in new.keys() - old.keys()),
            "changed": sorted(_label(k) for k in new.keys() & old.keys() if new[k] != old[k]),
            "removed": sorted(_label(k) for k in old.keys() - new.keys()),
        }
        diff = {kind: keys for kind, keys in diff.items() if keys}
        if diff:
            changes[section] = diff
    return changes


def summary(changes: dict[str, dict[str, list[str]]]) -> str:
    """One short line: ``queues +sales ~support; agents -bob``."""
    signs = {"added": "+", "changed": "~", "removed": "-"}
    parts = [
        f"{section} " + " ".join(signs[kind] + key for kind, keys in diff.items() for key in keys)
        for section, diff in changes.items()
    ]
    text = "; ".join(parts)
    return text if len(text) <= 255 else text[:252] + "..."


async def audit_document_change(
    session: AsyncSession,
    before: TenantDoc | None,
    after: TenantDoc,
    *,
    actor: str,
    action: audit.AuditAction = audit.AuditAction.ADMIN_CHANGE,
) -> None:
    """One audit row in ``session``'s transaction for a change that did something (a no-op writes none), and
    one more when the tenant's retention changed: how long personal data is kept is a data-protection
    decision, logged with its values (days, never personal)."""
    changes = document_changes(before, after)
    if changes:
        await audit.record(
            session, actor=actor, action=action, tenant=after.tenant.name, subject=summary(changes), detail=changes
        )
    old = before.tenant.retention_days if before is not None else None
    new = after.tenant.retention_days
    if old != new:
        await audit.record(
            session,
            actor=actor,
            action=audit.AuditAction.TENANT_RETENTION,
            tenant=after.tenant.name,
            subject=f"retention {_days(old)} -> {_days(new)}",
            detail={"from": old, "to": new},
        )


def _days(value: int | None) -> str:
    return "for ever" if value is None else f"{value} days"
