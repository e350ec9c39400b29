"""Campaigns in the tenant document (`tvoxcc export` / `import`): their settings and queues, read from and
written to the store. Status and records stay with the `campaign` commands; an import only adds and changes
campaigns, it never removes one (its records would go with it). Groups are written from the group side
(tvoxcc.admin.hierarchy)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.spec import CampaignSpec
from tvoxcc.campaigns.model import MachineAction, RetryRules
from tvoxcc.campaigns.spec import RETRY_OUTCOMES, CampaignSettings, SpecError, format_window, parse_window
from tvoxcc.store import models as m


def _retries(rules: RetryRules) -> dict[str, float | None]:
    """The rules that differ from the defaults, and every disposition's, as the document writes them."""
    default = RetryRules()
    outcomes = {name: name.replace("-", "_") + "_s" for name in RETRY_OUTCOMES}
    changed = {k: getattr(rules, a) for k, a in outcomes.items() if getattr(rules, a) != getattr(default, a)}
    return {**changed, **rules.dispositions}


def spec_of(row: m.Campaign, queues: list[str]) -> CampaignSpec:
    settings = CampaignSettings.from_json(row.settings)
    return CampaignSpec(
        name=row.name,
        mode=row.mode,
        rule=row.rule,
        caller_id=row.caller_id,
        window=format_window(settings.window),
        max_attempts=settings.retry.max_attempts,
        retry=_retries(settings.retry),
        ring_seconds=settings.ring_s,
        machine=settings.machine_action,
        amd_false_positives=settings.amd_false_positive_rate,
        queues=queues,
    )


def settings_of(spec: CampaignSpec, current: CampaignSettings) -> CampaignSettings:
    """The document's settings over the stored ones (the knobs the document has no field for are kept)."""
    try:
        settings = replace(
            current,
            window=parse_window(spec.window),
            retry=RetryRules(),
            ring_s=spec.ring_seconds,
            machine_action=MachineAction(spec.machine),  # the document keeps plain values
            amd_false_positive_rate=spec.amd_false_positives,
        ).with_retries(list(spec.retry.items()), spec.max_attempts)
        settings.check()
    except SpecError as exc:
        raise AdminError(f"campaign {spec.name!r}: {exc}") from None
    return settings


async def read_campaigns(session: AsyncSession, tenant_id: int) -> list[CampaignSpec]:
    rows = (
        (await session.execute(select(m.Campaign).where(m.Campaign.tenant_id == tenant_id).order_by(m.Campaign.name)))
        .scalars()
        .all()
    )
    links = await session.execute(
        select(m.CampaignQueue.campaign_id, m.Queue.name)
        .join(m.Queue, m.Queue.id == m.CampaignQueue.queue_id)
        .where(m.CampaignQueue.tenant_id == tenant_id)
        .order_by(m.Queue.name)
    )
    queues: dict[int, list[str]] = {}
    for campaign_id, queue in links.all():
        queues.setdefault(campaign_id, []).append(queue)
    return [spec_of(row, queues.get(row.id, [])) for row in rows]


async def write_campaigns(session: AsyncSession, tenant_id: int, specs: list[CampaignSpec]) -> None:
    """Upsert each campaign of the document with its queues (names checked against the document already)."""
    rows = {
        r.name: r
        for r in (await session.execute(select(m.Campaign).where(m.Campaign.tenant_id == tenant_id))).scalars()
    }
    queue_ids = dict(
        (await session.execute(select(m.Queue.name, m.Queue.id).where(m.Queue.tenant_id == tenant_id))).all()
    )
    for spec in specs:
        row = rows.get(spec.name) or m.Campaign(tenant_id=tenant_id, name=spec.name, settings={})
        current = CampaignSettings.from_json(row.settings or {})
        row.mode, row.rule, row.caller_id = spec.mode, spec.rule, spec.caller_id
        row.settings = settings_of(spec, current).to_json()
        session.add(row)
        await session.flush()
        await session.execute(delete(m.CampaignQueue).where(m.CampaignQueue.campaign_id == row.id))
        session.add_all(
            m.CampaignQueue(tenant_id=tenant_id, campaign_id=row.id, queue_id=queue_ids[q]) for q in spec.queues
        )
    await session.flush()
