"""Call scripts in the tenant document (``scripts:``): read for `export`, upserted by `import`.

A script's row keeps the YAML it was loaded from (``source``) besides its checked form (``spec``): the export
gives that text's data back, so a script written by hand comes out as it was written; one with no usable
source (or whose source names it otherwise) comes out of its checked form. Import never removes a script
(the answers agents gave to it would go too) and refuses a campaign or queue that would end with two.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.spec import ScriptSpec
from tvoxcc.scripts.read import read_script
from tvoxcc.store import models as m


def _written(row: m.CallScript) -> dict[str, Any]:
    """The script's data as loaded (its source), else as checked (its spec)."""
    try:
        data = yaml.safe_load(row.source) if row.source else None
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict) or data.get("name") != row.name or read_script(data)[1]:
        data = dict(row.spec)
    return {key: data[key] for key in ("name", "title", "start", "steps") if data.get(key)}


async def read_scripts(session: AsyncSession, tenant_id: int) -> list[ScriptSpec]:
    rows = (
        await session.execute(
            select(m.CallScript, m.Campaign.name, m.Queue.name)
            .outerjoin(m.Campaign, m.Campaign.id == m.CallScript.campaign_id)
            .outerjoin(m.Queue, m.Queue.id == m.CallScript.queue_id)
            .where(m.CallScript.tenant_id == tenant_id)
            .order_by(m.CallScript.name)
        )
    ).all()
    return [ScriptSpec.model_validate(_written(row) | {"campaign": c, "queue": q}) for row, c, q in rows]


async def write_scripts(session: AsyncSession, tenant_id: int, specs: list[ScriptSpec]) -> None:
    """Upsert each script of the document for its campaign or queue (names checked against the document)."""
    rows = {
        r.name: r
        for r in (await session.execute(select(m.CallScript).where(m.CallScript.tenant_id == tenant_id))).scalars()
    }
    campaigns = dict(
        (await session.execute(select(m.Campaign.name, m.Campaign.id).where(m.Campaign.tenant_id == tenant_id))).all()
    )
    queues = dict((await session.execute(select(m.Queue.name, m.Queue.id).where(m.Queue.tenant_id == tenant_id))).all())
    for spec in specs:
        script, _problems = read_script(spec.script_data())
        assert script is not None  # ScriptSpec checked it
        row = rows.get(spec.name) or m.CallScript(tenant_id=tenant_id, name=spec.name)
        row.campaign_id = campaigns[spec.campaign] if spec.campaign else None
        row.queue_id = queues[spec.queue] if spec.queue else None
        row.spec = script.to_data()
        row.source = yaml.safe_dump(spec.script_data(), sort_keys=False, allow_unicode=True)
        session.add(row)
        rows[spec.name] = row
    holders: dict[tuple[str, int], str] = {}
    for name, row in sorted(rows.items()):
        target = ("campaign", row.campaign_id) if row.campaign_id else ("queue", row.queue_id or 0)
        if target in holders:
            what = {v: k for k, v in (campaigns if target[0] == "campaign" else queues).items()}.get(target[1])
            raise AdminError(
                f"{target[0]} {what!r} would have two scripts, {holders[target]!r} and {name!r} "
                f"(`script remove` the one it no longer needs)"
            )
        holders[target] = name
    await session.flush()
