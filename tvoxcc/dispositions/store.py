"""Setting a disposition in the store: the one entry point of the phone (*76) and the desktop.

In one transaction: the code is checked (a disposition of the tenant), the agent's last contact found
(tvoxcc.dispositions.core.last_contact), the code stored on it; a campaign call's record goes through the
campaign's retry rule for that disposition (tvoxcc.campaigns.talks.give_disposition: given before the talk's end
was written, the talk's end applies it), and the running campaign picks a record called again back up
(tvoxcc.campaigns.runner.CampaignRunner.pick_up_disposed). A campaign call is an interaction too: found as the
agent's last interaction, its attempt is the contact, and the interaction gets the code as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.campaigns import talks
from tvoxcc.dispositions.core import Contact, DispositionError, Refused, Target, last_contact
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd_config import agent_id as router_agent_id


@dataclass(frozen=True, slots=True)
class Disposed:
    code: str
    name: str
    target: Target
    row_id: int  # the interaction's or the campaign attempt's
    record_state: str | None = None  # a campaign call: its record's state after the retry rule


async def dispositions(store: Store, tenant: str) -> list[dict[str, str]]:
    """The tenant's disposition codes (for the desktop's picker)."""
    async with store.session() as session:
        rows = await session.execute(
            select(m.ActivityCode.code, m.ActivityCode.name)
            .join(m.Tenant, m.Tenant.id == m.ActivityCode.tenant_id)
            .where(m.Tenant.name == tenant, m.ActivityCode.kind == "disposition")
            .order_by(m.ActivityCode.code)
        )
        return [{"code": code, "name": name} for code, name in rows.all()]


async def set_disposition(store: Store, tenant: str, agent: str, code: str, now: datetime) -> Disposed:
    """Give ``agent``'s last contact the disposition dialled (or picked) as ``code``; DispositionError if not."""
    async with store.session() as session:
        found = (
            await session.execute(
                select(m.Agent.id, m.Tenant.id)
                .join(m.Tenant, m.Tenant.id == m.Agent.tenant_id)
                .where(m.Tenant.name == tenant, m.Agent.name == agent)
            )
        ).first()
        if found is None:
            raise DispositionError(Refused.UNKNOWN_AGENT, f"no agent {agent!r} in tenant {tenant!r}")
        agent_id, tenant_id = found
        activity = (
            await session.execute(
                select(m.ActivityCode).where(
                    m.ActivityCode.tenant_id == tenant_id,
                    m.ActivityCode.code == code,
                    m.ActivityCode.kind == "disposition",
                )
            )
        ).scalar_one_or_none()
        if activity is None:
            raise DispositionError(Refused.UNKNOWN_CODE, f"no disposition with code {code!r} in tenant {tenant!r}")
        contact = last_contact(
            await _last_interaction(session, tenant_id, agent_id),
            await _last_attempt(session, tenant_id, router_agent_id(tenant, agent)),
        )
        contact = await _campaign_call_of(session, contact)
        if contact.target is Target.INTERACTION:
            interaction = await session.get(m.Interaction, contact.row_id)
            assert interaction is not None
            interaction.activity_code_id = activity.id
            await session.commit()
            return Disposed(activity.code, activity.name, contact.target, contact.row_id)
        state = await talks.give_disposition(session, contact.row_id, activity.name, now)
        interaction_id = await session.scalar(
            select(m.CampaignAttempt.interaction_id).where(m.CampaignAttempt.id == contact.row_id)
        )
        interaction = await session.get(m.Interaction, interaction_id) if interaction_id else None
        if interaction is not None:  # the call is an interaction too: its reports count the disposition
            interaction.activity_code_id = activity.id
        await session.commit()
        return Disposed(activity.code, activity.name, contact.target, contact.row_id, state)


async def _last_interaction(session: AsyncSession, tenant_id: int, agent_id: int) -> Contact | None:
    row = (
        await session.execute(
            select(m.Interaction.id, m.Interaction.answered_at)
            .where(
                m.Interaction.tenant_id == tenant_id,
                m.Interaction.agent_id == agent_id,
                m.Interaction.answered_at.is_not(None),
            )
            .order_by(m.Interaction.answered_at.desc(), m.Interaction.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None or row[1] is None else Contact(Target.INTERACTION, row[0], row[1])


async def _last_attempt(session: AsyncSession, tenant_id: int, agent: str) -> Contact | None:
    """``agent``: as the campaign's lines name it, the ACD's agent id (tenant-name)."""
    row = (
        await session.execute(
            select(m.CampaignAttempt.id, m.CampaignAttempt.answered_at)
            .where(
                m.CampaignAttempt.tenant_id == tenant_id,
                m.CampaignAttempt.agent == agent,
                m.CampaignAttempt.answered_at.is_not(None),
            )
            .order_by(m.CampaignAttempt.answered_at.desc(), m.CampaignAttempt.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None or row[1] is None else Contact(Target.CAMPAIGN, row[0], row[1])


async def _campaign_call_of(session: AsyncSession, contact: Contact) -> Contact:
    """A campaign call is an interaction too, answered by the agent when its line was given to them (later than
    the person's answer on the attempt, when the ACD routed it): found as the interaction, it is the attempt."""
    if contact.target is not Target.INTERACTION:
        return contact
    attempt = await session.scalar(
        select(m.CampaignAttempt.id).where(m.CampaignAttempt.interaction_id == contact.row_id).limit(1)
    )
    return contact if attempt is None else Contact(Target.CAMPAIGN, attempt, contact.answered_at)
