"""The demo's call-script step: the campaign's script loaded from demo/winback-script.yaml (as `tvoxcc script add
… --campaign spring` does) and answered on the demo's last call, as the agent desktop posts it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from tvoxcc.scripts import store as ss
from tvoxcc.scripts.source import parse_script
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DEMO_SCRIPT = Path(__file__).resolve().parents[1] / "demo" / "winback-script.yaml"


async def script_guides_the_call(store: Store, say: Callable[[str], None], campaign: str = "spring") -> None:
    text = DEMO_SCRIPT.read_text(encoding="utf-8")
    view = await ss.save_script(store, "acme", parse_script(text, str(DEMO_SCRIPT)), text, campaign=campaign,
                                queue=None, replace=True)  # fmt: skip
    say("")
    say(f"script {view.name} ({view.title}) for campaign {campaign}: {view.steps} steps")
    async with store.session() as plain:
        tenant = await plain.scalar(select(m.Tenant.id).where(m.Tenant.name == "acme"))
    assert tenant is not None
    async with store.tenant(tenant) as session:
        call = await session.scalar(select(m.Interaction).where(m.Interaction.channel == "voice").order_by(
            m.Interaction.id.desc()))  # fmt: skip
        row = await session.scalar(select(m.CallScript).where(m.CallScript.name == view.name))
        if call is None or row is None:
            say("  (no call to answer it on)")
            return
        answers = {"interested": "yes", "plan": "plus", "seats": "2"}
        path, kept = await ss.save_answers(session, row, call.id, answers, call.agent_id, datetime.now(UTC))
        await session.commit()
    say(f"  answered on interaction {call.id}: {' -> '.join(path)}; {kept}")
