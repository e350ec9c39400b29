"""`tvoxcc acd`: run the ACD alone (split deployment), see its state from any process, put an item in."""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import select

from tvoxcc.cli._common import emit_json, emit_table, fail, json_option, open_store, settings_of, with_store
from tvoxcc.queues.model import Channel
from tvoxcc.store.engine import Store

SUBMITTABLE = (Channel.CHAT, Channel.MAIL, Channel.SMS)  # voice and callbacks come from the voice service


@click.group()
def acd() -> None:
    """The ACD: one router for every channel, its state in the store (voice run embeds it; or run it alone)."""


@acd.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Route until SIGTERM: waits as a standby while another ACD holds the lease, then takes over."""
    from tvoxcc.cli.voice import setup_logging

    settings = settings_of(ctx)
    setup_logging(settings)

    async def serve() -> None:
        from tvoxcc.acd import AcdService, InStore, StoreConfig
        from tvoxcc.acd.lease import LEASE
        from tvoxcc.cluster import ServiceKind, beating

        async with open_store(settings) as store, beating(store, ServiceKind.ACD, lease=LEASE):
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            service = AcdService(store, StoreConfig(store), transports=[InStore()], freeze_heap=True)
            logging.getLogger(__name__).info("ACD starting (%s); standby until the lease is free", service.lease.holder)
            await service.run(stop)

    asyncio.run(serve())


@acd.command("status")
@click.option("--tenant", "-t", envvar="TVOXCC_TENANT", default=None, help="Only this tenant's items and agents.")
@json_option
@click.pass_context
def status(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """Who routes (host, pid, since), items waiting per queue and channel, agents and capacity in use."""
    from tvoxcc.acd.status import status_report
    from tvoxcc.acd.stored import load
    from tvoxcc.admin.repository import tenant_id_of

    async def go(store: Store) -> dict[str, Any]:
        tenant_id = None if tenant is None else await tenant_id_of(store, tenant)
        return status_report(await load(store), datetime.now(UTC), tenant_id)

    report = with_store(ctx, go)
    if as_json:
        emit_json(report)
        return
    who = report["acd"]
    if who["routing"]:
        click.echo(f"routing: {who['host']} pid {who['pid']} since {who['since']}")
    else:
        click.echo("routing: nobody (no ACD holds the lease)")
    click.echo("")
    emit_table(report["waiting"], ["queue", "channel", "waiting", "oldest_s", "top_priority"])
    click.echo("")
    emit_table(report["agents"], ["agent", "state", "pause_code", "in_use"])


@acd.command("submit")
@click.option("--tenant", "-t", envvar="TVOXCC_TENANT", required=True, help="Tenant name (or $TVOXCC_TENANT).")
@click.option("--queue", "queue", required=True, help="The tenant's queue.")
@click.option("--channel", "channel", required=True, help="chat, mail or sms.")
@click.option("--ref", "ref", required=True, help="Your reference for the item (carried on its offers).")
@click.option("--priority", type=int, default=0, show_default=True, help="Contact priority (higher first).")
@click.pass_context
def submit(ctx: click.Context, tenant: str, queue: str, channel: str, ref: str, priority: int) -> None:
    """Put a work item in a queue (the running ACD takes it); prints its id."""
    from tvoxcc.acd import InputKind, send_input
    from tvoxcc.admin.repository import tenant_id_of
    from tvoxcc.store import models as m

    if channel not in {str(c) for c in SUBMITTABLE}:
        fail(f"--channel {channel!r}: one of {', '.join(SUBMITTABLE)}")

    async def go(store: Store) -> str:
        tenant_id = await tenant_id_of(store, tenant)
        async with store.session() as session:
            found = await session.scalar(
                select(m.Queue.id).where(m.Queue.tenant_id == tenant_id, m.Queue.name == queue)
            )
        if found is None:
            fail(f"--queue {queue!r}: no such queue in tenant {tenant!r}")
        item_id = f"{channel}-{uuid.uuid4().hex[:16]}"
        await send_input(
            store,
            InputKind.SUBMIT,
            item_id=item_id,
            queue=f"{tenant}/{queue}",
            channel=channel,
            tenant_id=tenant_id,
            ref=ref,
            priority=priority,
        )
        return item_id

    click.echo(with_store(ctx, go))
