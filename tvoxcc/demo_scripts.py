"""The demo's call-script step: the campaign's script from demo/winback-script.yaml put in the tenant's YAML
(`scripts:`, as `tvoxcc tenant edit` or `tvoxcc import` of a document carrying it does; `tvoxcc script add …
--campaign spring` stores the same) and answered on the demo's last call, as the agent desktop posts it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from tvoxcc.admin.edit import edit_tenant
from tvoxcc.admin.spec import ScriptSpec, TenantDoc
from tvoxcc.scripts import store as ss
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DEMO_SCRIPT = Path(__file__).resolve().parents[1] / "demo" / "winback-script.yaml"


async def script_guides_the_call(store: Store, say: Callable[[str], None], campaign: str = "spring") -> None:
    spec = ScriptSpec(campaign=campaign, **yaml.safe_load(DEMO_SCRIPT.read_text(encoding="utf-8")))

    def with_script(doc: TenantDoc) -> None:
        doc.scripts = [*(s for s in doc.scripts if s.name != spec.name), spec]

    await edit_tenant(store, "acme", with_script, actor="system:demo")
    say("")
    say(f"script {spec.name} ({spec.title}) for campaign {campaign} in acme's YAML: {len(spec.steps)} steps")
    async with store.session() as plain:
        tenant = await plain.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
    assert tenant is not None
    async with store.tenant(tenant) as session:
        call = await session.scalar(select(m.Interaction).where(m.Interaction.channel == "voice").order_by(
            m.Interaction.id.desc()))  # fmt: skip
        row = await session.scalar(select(m.CallScript).where(m.CallScript.name == spec.name))
        if call is None or row is None:
            say("  (no call to answer it on)")
            return
        answers = {"interested": "yes", "plan": "plus", "seats": "2"}
        path, kept = await ss.save_answers(session, row, call.id, answers, call.agent_id, datetime.now(UTC))
        await session.commit()
    say(f"  answered on interaction {call.id}: {' -> '.join(path)}; {kept}")
