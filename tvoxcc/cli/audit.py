"""`tvoxcc audit`: read the audit log and check its hash chain."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from tvoxcc import audit as audit_log
from tvoxcc.cli._common import emit_json, emit_table, json_option, with_store
from tvoxcc.cli.when import Moment
from tvoxcc.store.engine import Store

COLUMNS = ["seq", "at", "actor", "action", "tenant", "subject"]


@click.group()
def audit() -> None:
    """The audit log: admin changes, logins, recordings played, exported, deleted."""


@audit.command("list")
@click.option("--tenant", "-t", help="Only rows about this tenant.")
@click.option("--since", type=Moment(), help="From this moment: 2026-12-01, 2026-12-01T08:00, 7d, 12h.")
@click.option("--actor", help="Only this actor (cli:root, web:alice, voice).")
@click.option("--action", help="Only this action (admin.change, web.login-failed, recording.play…).")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="The last N rows.")
@json_option
@click.pass_context
def list_(
    ctx: click.Context,
    tenant: str | None,
    since: datetime | None,
    actor: str | None,
    action: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List audit rows, oldest first."""

    async def go(store: Store) -> list[dict[str, Any]]:
        async with store.session() as session:
            return await audit_log.entries(session, tenant=tenant, since=since, actor=actor, action=action, limit=limit)

    rows = with_store(ctx, go)
    if as_json:
        emit_json([{**r, "at": r["at"].isoformat()} for r in rows])
    else:
        emit_table([{**r, "at": r["at"].isoformat(timespec="seconds")} for r in rows], COLUMNS)


@audit.command("verify")
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Check the hash chain: exit 1 with one line naming the first edited or deleted row."""

    async def go(store: Store) -> tuple[int, str | None]:
        async with store.session() as session:
            return await audit_log.verify(session)

    count, problem = with_store(ctx, go)
    if problem is not None:
        click.echo(f"error: audit log: {problem}", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {count} rows")
