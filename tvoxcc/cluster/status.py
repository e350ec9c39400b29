"""What ``tvoxcc cluster status`` shows, from the rows alone (service_instances, acd_lease): pure, no I/O.

An instance's role: ``active`` when the lease of its role names it (host and pid) and has not expired, else
``standby``; a service with no lease (web) is always active, as every instance serves. An instance whose
last heartbeat is older than STALE_BEATS of its interval is ``stale``: killed, hung or cut off.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

STALE_BEATS = 3

Row = dict[str, Any]


class Role(StrEnum):
    ACTIVE = "active"
    STANDBY = "standby"


def lease_held(lease: Row | None, now: datetime) -> bool:
    if lease is None or not lease["holder"]:
        return False
    return lease["expires_at"] is None or bool(lease["expires_at"] >= now)


def role_of(instance: Row, leases: dict[str, Row], now: datetime) -> Role:
    if not instance["lease"]:
        return Role.ACTIVE
    lease = leases.get(instance["lease"])
    mine = lease is not None and (lease["host"], lease["pid"]) == (instance["host"], instance["pid"])
    return Role.ACTIVE if mine and lease_held(lease, now) else Role.STANDBY


def cluster_report(instances: list[Row], leases: list[Row], now: datetime) -> dict[str, Any]:
    """Every instance (service, role, host, pid, heartbeat age, stale) and every lease (who holds it)."""
    by_name = {row["name"]: row for row in leases}
    shown = []
    for row in sorted(instances, key=lambda r: (r["service"], r["host"], r["pid"], r["instance"])):
        age = max(0.0, (now - row["beat_at"]).total_seconds())
        shown.append(
            {
                "service": row["service"],
                "role": str(role_of(row, by_name, now)),
                "host": row["host"],
                "pid": row["pid"],
                "heartbeat_age_s": round(age, 1),
                "stale": age > STALE_BEATS * row["interval_s"],
                "lease": row["lease"] or None,
                "started_at": row["started_at"].isoformat(),
            }
        )
    held = [
        {
            "lease": row["name"],
            "held": lease_held(row, now),
            "host": row["host"] or None,
            "pid": row["pid"] or None,
            "since": row["since"].isoformat() if row["since"] else None,
            "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
        }
        for row in sorted(leases, key=lambda r: r["name"])
        if row["holder"]
    ]
    return {"instances": shown, "leases": held}
