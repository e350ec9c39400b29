"""`tvoxcc listen list`: supervisors' listen / whisper / barge sessions on agents' calls, refusals included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from tvoxcc.cli._common import emit_json, emit_table, json_option, tenant_option, with_store
from tvoxcc.store.engine import Store
from tvoxcc.supervision.store import list_sessions

COLUMNS = ["id", "requested_at", "origin", "supervisor", "agent", "modes", "duration_s", "outcome"]


@click.group()
def listen() -> None:
    """Listen sessions (dial *80/*81/*82 + extension, or POST …/agents/{agent}/listen)."""


@listen.command("list")
@tenant_option
@click.option("--since", type=click.DateTime(), help="Only sessions requested since then (UTC).")
@json_option
@click.pass_context
def list_(ctx: click.Context, tenant: str, since: datetime | None, as_json: bool) -> None:
    """The tenant's sessions, newest first: who listened to whom, the modes in order, how long, or why refused."""
    moment = since.replace(tzinfo=UTC) if since is not None else None

    async def go(store: Store) -> list[dict[str, Any]]:
        return await list_sessions(store, tenant, moment)

    rows = with_store(ctx, go)
    if as_json:
        emit_json(rows)
        return
    emit_table(
        [
            {
                **row,
                "requested_at": row["requested_at"][:19].replace("T", " "),
                "modes": ">".join(change["mode"] for change in row["modes"]) or "-",
                "duration_s": f"{row['duration_s']:.0f}" if row["duration_s"] is not None else "",
                "outcome": f"refused: {row['refused']}" if row["refused"] else row["end_reason"] or row["phase"],
            }
            for row in rows
        ],
        COLUMNS,
    )
