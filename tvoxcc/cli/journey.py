"""`tvoxcc journey`: one timeline per contact across every channel, the screen pop, merges, reliability."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.cli._common import emit_json, emit_table, json_option, tenant_option, with_store
from tvoxcc.journey import api
from tvoxcc.journey.contacts import DuplicateGroup, Reliability
from tvoxcc.journey.merge import MergeResult
from tvoxcc.journey.render import pop_text, timeline_text
from tvoxcc.journey.screen_pop import screen_pop
from tvoxcc.journey.timeline import CHANNELS
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

T = TypeVar("T")

contact_argument = click.argument("contact", metavar="CONTACT")


def _in_tenant(ctx: click.Context, tenant: str, action: Callable[[AsyncSession, ZoneInfo], Awaitable[T]]) -> T:
    """Run ``action(session, tz)`` on the tenant's scoped session."""

    async def go(store: Store) -> T:
        tenant_id = await tenant_id_of(store, tenant)
        async with store.tenant(tenant_id) as session:
            zone = (await session.execute(select(m.Tenant.timezone))).scalar_one()
            return await action(session, ZoneInfo(zone or "UTC"))

    return with_store(ctx, go)


@click.group()
def journey() -> None:
    """Customer Journey: a contact's calls, mails, tickets and callbacks, newest first."""


@journey.command("show")
@tenant_option
@contact_argument
@click.option("--channel", "channels", multiple=True, type=click.Choice(CHANNELS), help="Only these (repeatable).")
@click.option("--from", "first", help="First local day, YYYY-MM-DD.")
@click.option("--to", "last", help="Last local day, YYYY-MM-DD.")
@json_option
@click.pass_context
def show(
    ctx: click.Context,
    tenant: str,
    contact: str,
    channels: tuple[str, ...],
    first: str | None,
    last: str | None,
    as_json: bool,
) -> None:
    """The timeline of CONTACT: a contact id, a phone number in any format, or an e-mail address."""
    start, end = api.parse_period(first, last)

    async def go(session: AsyncSession, tz: ZoneInfo) -> str | dict[str, Any]:
        since, until = api.day_bounds(start, end, tz)
        timeline = await api.journey_for(session, contact, channels=channels, since=since, until=until)
        return timeline.to_json() if as_json else timeline_text(timeline, tz)

    out = _in_tenant(ctx, tenant, go)
    emit_json(out) if as_json else click.echo(out)


@journey.command("summary")
@tenant_option
@contact_argument
@json_option
@click.pass_context
def summary(ctx: click.Context, tenant: str, contact: str, as_json: bool) -> None:
    """The screen pop of CONTACT: who, VIP, open tickets, last agent, NPS, the latest contacts."""

    async def go(session: AsyncSession, tz: ZoneInfo) -> str | dict[str, Any]:
        pop = screen_pop(await api.journey_for(session, contact))
        return pop.to_json() if as_json else pop_text(pop, tz)

    out = _in_tenant(ctx, tenant, go)
    emit_json(out) if as_json else click.echo(out)


@journey.command("merge")
@tenant_option
@click.argument("survivor")
@click.argument("duplicate")
@json_option
@click.pass_context
def merge(ctx: click.Context, tenant: str, survivor: str, duplicate: str, as_json: bool) -> None:
    """Merge DUPLICATE into SURVIVOR (ids, phones or e-mails): history moves, nothing is deleted."""

    async def go(store: Store) -> MergeResult:
        return await api.merge_contacts(store, tenant, survivor, duplicate, datetime.now(UTC))

    result = with_store(ctx, go)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(
        f"merged contact {result.duplicate_id} into contact {result.survivor_id}: "
        f"{result.interactions} interactions, {result.tickets} tickets, {result.callbacks} callbacks, "
        f"{result.phones} phones, {result.emails} e-mails moved"
    )


@journey.command("duplicates")
@tenant_option
@json_option
@click.pass_context
def duplicates(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """Contacts that share a phone number or e-mail once normalised (candidates for `journey merge`)."""

    async def go(session: AsyncSession, _tz: ZoneInfo) -> list[DuplicateGroup]:
        return await api.duplicates(session)

    groups = _in_tenant(ctx, tenant, go)
    if as_json:
        emit_json([g.to_json() for g in groups])
        return
    emit_table([{"key": g.key, "contacts": " ".join(map(str, g.contact_ids))} for g in groups], ["key", "contacts"])


@journey.command("reliability")
@tenant_option
@click.option("--from", "first", required=True, help="First local day, YYYY-MM-DD.")
@click.option("--to", "last", help="Last local day, YYYY-MM-DD (default: --from).")
@json_option
@click.pass_context
def reliability(ctx: click.Context, tenant: str, first: str, last: str | None, as_json: bool) -> None:
    """Address-book reliability: the share of interactions matched to a known contact."""
    start = api.parse_day(first, "--from")
    assert start is not None
    end = api.parse_day(last, "--to") or start

    async def go(store: Store) -> Reliability:
        return await api.reliability_of_days(store, tenant, start, end)

    result = with_store(ctx, go)
    emit_json(result.to_json()) if as_json else click.echo(result.line())
