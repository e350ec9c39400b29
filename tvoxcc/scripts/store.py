"""Call scripts in the store: one per campaign or queue (``call_scripts``), and the answers agents give during an
interaction (``script_answers``, the latest save replacing the one before). Errors are one line (AdminError)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import find_tenant
from tvoxcc.scripts.checks import check_answers
from tvoxcc.scripts.model import Script
from tvoxcc.scripts.read import read_script
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


@dataclass(frozen=True)
class ScriptView:
    name: str
    title: str
    campaign: str | None
    queue: str | None
    steps: int
    spec: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "campaign": self.campaign, "queue": self.queue,
                "steps": self.steps}  # fmt: skip


class AnswersRefused(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {why}" for field, why in problems))
        self.problems = problems


def script_of(row: m.CallScript) -> Script:
    script, problems = read_script(row.spec)
    if script is None:  # stored only once checked: a row edited by hand
        raise AdminError(f"script {row.name!r} is stored damaged: {problems[0][0]}: {problems[0][1]}")
    return script


async def _view(session: AsyncSession, row: m.CallScript) -> ScriptView:
    campaign = await session.get(m.Campaign, row.campaign_id) if row.campaign_id else None
    queue = await session.get(m.Queue, row.queue_id) if row.queue_id else None
    return ScriptView(
        row.name,
        str(row.spec.get("title", "")),
        campaign.name if campaign else None,
        queue.name if queue else None,
        len(row.spec.get("steps", {})),
        row.spec,
    )


async def _named(session: AsyncSession, model: type[m.Campaign] | type[m.Queue], name: str, what: str) -> int:
    found = await session.scalar(select(model.id).where(model.name == name))
    if found is None:
        raise AdminError(f"unknown {what} {name!r}")
    return int(found)


async def save_script(
    store: Store, tenant: str, script: Script, source: str, *, campaign: str | None, queue: str | None, replace: bool
) -> ScriptView:
    """Store ``script`` for a campaign or a queue of ``tenant`` (``replace``: over the script of that name)."""
    if (campaign is None) == (queue is None):
        raise AdminError("a script is for one campaign (--campaign) or one queue (--queue)")
    async with store.session() as plain:
        tenant_id = (await find_tenant(plain, tenant)).id
    async with store.tenant(tenant_id) as session:
        campaign_id = await _named(session, m.Campaign, campaign, "campaign") if campaign else None
        queue_id = await _named(session, m.Queue, queue, "queue") if queue else None
        row = await session.scalar(select(m.CallScript).where(m.CallScript.name == script.name))
        if row is not None and not replace:
            raise AdminError(f"script {script.name!r} exists in tenant {tenant!r} (--replace to load it again)")
        target = m.CallScript.campaign_id == campaign_id if campaign_id else m.CallScript.queue_id == queue_id
        other = await session.scalar(select(m.CallScript.name).where(target, m.CallScript.name != script.name))
        if other is not None:
            what = f"campaign {campaign!r}" if campaign else f"queue {queue!r}"
            raise AdminError(f"{what} already has script {other!r} (remove it first)")
        if row is None:
            row = m.CallScript(name=script.name)
            session.add(row)
        row.campaign_id, row.queue_id, row.spec, row.source = campaign_id, queue_id, script.to_data(), source
        await session.commit()
        return await _view(session, row)


async def get_script(store: Store, tenant: str, name: str) -> ScriptView:
    async with store.session() as plain:
        tenant_id = (await find_tenant(plain, tenant)).id
    async with store.tenant(tenant_id) as session:
        row = await session.scalar(select(m.CallScript).where(m.CallScript.name == name))
        if row is None:
            raise AdminError(f"no script {name!r} in tenant {tenant!r}")
        return await _view(session, row)


async def list_scripts(store: Store, tenant: str) -> list[ScriptView]:
    async with store.session() as plain:
        tenant_id = (await find_tenant(plain, tenant)).id
    async with store.tenant(tenant_id) as session:
        rows = (await session.execute(select(m.CallScript).order_by(m.CallScript.name))).scalars().all()
        return [await _view(session, row) for row in rows]


async def remove_script(store: Store, tenant: str, name: str) -> int:
    """Remove the script and the answers stored with it; returns how many answers went."""
    async with store.session() as plain:
        tenant_id = (await find_tenant(plain, tenant)).id
    async with store.tenant(tenant_id) as session:
        row = await session.scalar(select(m.CallScript).where(m.CallScript.name == name))
        if row is None:
            raise AdminError(f"no script {name!r} in tenant {tenant!r}")
        answers = (await session.execute(select(m.ScriptAnswer).where(m.ScriptAnswer.script_id == row.id))).all()
        for (answer,) in answers:
            await session.delete(answer)
        await session.delete(row)
        await session.commit()
        return len(answers)


async def script_for(session: AsyncSession, *, campaign_id: int | None, queue_id: int | None) -> m.CallScript | None:
    """The script of a campaign (else of a queue), in a tenant-scoped session."""
    if campaign_id is not None:
        found = await session.scalar(select(m.CallScript).where(m.CallScript.campaign_id == campaign_id))
        if found is not None:
            return found
    if queue_id is None:
        return None
    return await session.scalar(select(m.CallScript).where(m.CallScript.queue_id == queue_id))


async def save_answers(
    session: AsyncSession,
    row: m.CallScript,
    interaction_id: int,
    answers: dict[str, Any],
    agent_id: int | None,
    now: datetime,
) -> tuple[list[str], dict[str, str]]:
    """Check ``answers`` along the script and store them with the interaction (not committed); AnswersRefused
    names every field that is wrong. Returns the steps taken and the answers kept."""
    path, kept, problems = check_answers(script_of(row), answers)
    if problems:
        raise AnswersRefused(problems)
    stored = await session.scalar(
        select(m.ScriptAnswer).where(
            m.ScriptAnswer.interaction_id == interaction_id, m.ScriptAnswer.script_id == row.id
        )
    )
    if stored is None:
        stored = m.ScriptAnswer(interaction_id=interaction_id, script_id=row.id)
        session.add(stored)
    stored.answers, stored.path, stored.agent_id, stored.answered_at = kept, path, agent_id, now
    return path, kept
