"""What ``tvoxcc acd status`` shows, from the rows alone (so any process can ask): pure, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tvoxcc.acd.stored import Stored
from tvoxcc.queues.model import ItemStatus

ON_HOLD = {str(ItemStatus.WAITING), str(ItemStatus.OFFERED), str(ItemStatus.CALLBACK_PENDING)}


def status_report(stored: Stored, now: datetime, tenant_id: int | None = None) -> dict[str, Any]:
    """Who routes; items not yet served per queue and channel (count, oldest age, top priority); agents."""
    lease = stored.lease or {}
    holder = bool(lease.get("holder"))
    routing = {
        "routing": holder and (lease.get("expires_at") is None or lease["expires_at"] >= now),
        "host": lease.get("host") if holder else None,
        "pid": lease.get("pid") if holder else None,
        "since": lease["since"].isoformat() if holder and lease.get("since") else None,
        "renewed_at": lease["renewed_at"].isoformat() if holder and lease.get("renewed_at") else None,
    }
    mine = [r for r in stored.items if tenant_id is None or r["tenant_id"] == tenant_id]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in mine:
        if row["status"] in ON_HOLD:
            groups.setdefault((row["queue"], row["channel"]), []).append(row)
    waiting = [
        {
            "queue": queue,
            "channel": channel,
            "waiting": len(rows),
            "oldest_s": round(max(0.0, now.timestamp() - min(r["queued_at"] for r in rows)), 1),
            "top_priority": max(r["priority"] for r in rows),
        }
        for (queue, channel), rows in sorted(groups.items())
    ]
    agents = [
        {
            "agent": row["agent_id"],
            "state": row["status"],
            "pause_code": row["pause_code"],
            "in_use": {ch: f"{row['load'].get(ch, 0)}/{n}" for ch, n in row["capacity"].items()},
        }
        for row in stored.agents
        if tenant_id is None or row["tenant_id"] == tenant_id
    ]
    return {"acd": routing, "waiting": waiting, "agents": agents, "items": len(mine)}
