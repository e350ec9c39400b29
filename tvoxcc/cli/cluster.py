"""`tvoxcc cluster status`: every service instance of the deployment, its role, host and heartbeat age."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import inspect, select

from tvoxcc.cli._common import emit_json, emit_table, json_option, with_store
from tvoxcc.store.engine import Store


@click.group()
def cluster() -> None:
    """The deployment's service instances (voice, acd, support, web, insight) and who is active."""


def _rows(objs: Any) -> list[dict[str, Any]]:
    return [{a.key: getattr(o, a.key) for a in inspect(o).mapper.column_attrs} for o in objs]


@cluster.command("status")
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Every running (or stale) service instance: role (active/standby), host, pid, seconds since its heartbeat."""
    from tvoxcc.cluster import STALE_BEATS, cluster_report
    from tvoxcc.store import models as m

    async def go(store: Store) -> dict[str, Any]:
        async with store.session() as session:
            instances = _rows((await session.execute(select(m.ServiceInstance))).scalars())
            leases = _rows((await session.execute(select(m.AcdLease))).scalars())
        return cluster_report(instances, leases, datetime.now(UTC))

    report = with_store(ctx, go)
    if as_json:
        emit_json(report)
        return
    rows = [{**row, "state": "stale" if row["stale"] else "ok"} for row in report["instances"]]
    emit_table(rows, ["service", "role", "host", "pid", "heartbeat_age_s", "state", "started_at"])
    for lease in report["leases"]:
        who = f"{lease['host']} pid {lease['pid']} since {lease['since']}"
        click.echo(f"lease {lease['lease']}: {who}" + ("" if lease["held"] else " (expired)"))
    if any(row["stale"] for row in rows):
        click.echo(f"stale: no heartbeat for over {STALE_BEATS} intervals (killed, hung or cut off)")
