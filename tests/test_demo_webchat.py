"""The demo's webchat step without the lab: the demo tenant, the ACD and the web app in process, a visitor and
Mario's desktop over real HTTP and websockets; the transcript and the journey printed beside it."""

from __future__ import annotations

from sqlalchemy import select

from tvoxcc.admin.edit import import_document
from tvoxcc.cli.tenant_io import parse_document
from tvoxcc.demo import DEMO_TENANT
from tvoxcc.demo_webchat import webchat_answered
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def test_the_demo_chat_is_answered_on_the_desktop_with_the_journey_beside_it(store: Store) -> None:
    await import_document(store, parse_document(DEMO_TENANT.read_text(), str(DEMO_TENANT)))
    async with store.session() as session:
        tenant_id = await session.scalar(select(m.Tenant.id))
        session.add(m.Contact(tenant_id=tenant_id, display_name="Carla Bianchi", company="Bianchi Srl"))
        await session.commit()
    lines: list[str] = []
    await webchat_answered(store, "acme", "mario", lines.append)
    out = "\n".join(lines)
    assert "with the screen pop of Carla Bianchi (VIP False, 0 open tickets)" in out, out
    assert "  2. customer Hi, can I change my delivery address?" in out
    assert "  3. agent    Of course Carla: I have updated it to Via Roma 1." in out
    assert "  4. system   closed by Mario Rossi" in out
    assert "  chat  answered" in out  # the journey lists the chat, answered
