"""`tvoxcc callback`: a tenant's callbacks (who waits to be called back, what became of each) and cancelling one."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from tvoxcc.cli._common import emit_json, emit_table, json_option, tenant_option, with_store
from tvoxcc.store.engine import Store
from tvoxcc.voice.callback_admin import CallbackRow, cancel_callback, list_callbacks
from tvoxcc.voice.callback_status import CallbackStatus

COLUMNS = ["id", "number", "contact", "queue", "status", "attempts", "requested_at"]
STATUSES = [s.value for s in CallbackStatus]  # in their order of life
OPEN = [s.value for s in CallbackStatus if s in CallbackStatus.OPEN]


@click.group()
def callback() -> None:
    """Callbacks: requested by callers in the IVR or a queue, placed by the voice service in turn."""


@callback.command("list")
@tenant_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help=f"Only these (repeatable); default the open ones: {', '.join(OPEN)}.",
)
@click.option("--all", "every", is_flag=True, help="Every status, finished ones too.")
@json_option
@click.pass_context
def list_(ctx: click.Context, tenant: str, statuses: tuple[str, ...], every: bool, as_json: bool) -> None:
    """The tenant's callbacks, oldest request first."""
    wanted = STATUSES if every else statuses or OPEN

    async def go(store: Store) -> list[CallbackRow]:
        return await list_callbacks(store, tenant, wanted)

    rows = with_store(ctx, go)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    emit_table([{**r.to_json(), "requested_at": f"{r.requested_at:%Y-%m-%d %H:%M}"} for r in rows], COLUMNS)


@callback.command("cancel")
@tenant_option
@click.argument("callback_id", type=int)
@click.pass_context
def cancel(ctx: click.Context, tenant: str, callback_id: int) -> None:
    """Cancel callback CALLBACK_ID if it has not been dialled yet (pending or queued)."""

    async def go(store: Store) -> CallbackRow:
        return await cancel_callback(store, tenant, callback_id, datetime.now(UTC))

    row = with_store(ctx, go)
    click.echo(f"callback {row.id} to {row.number} cancelled (it was requested {row.requested_at:%Y-%m-%d %H:%M})")
