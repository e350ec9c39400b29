"""`contact erase` of a person with a chat going on, on SQLite and PostgreSQL, with the one ACD running as `acd run`
would: refused in one line naming each open chat (nothing erased); with --close-open each chat ends as an agent's
close ends it (the ACD's item goes, the agent is free again, their desktop's list no longer has it), then the erase."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select

from tests import chat_world
from tests.chat_world import imported_tenant, routing_acd
from tests.cli import make_tvox
from tvoxcc import audit
from tvoxcc.acd import InputKind, send_input
from tvoxcc.chat import routing_store as routing
from tvoxcc.chat.core import ChatStatus
from tvoxcc.chat.store import open_chat
from tvoxcc.config import RecordingSettings
from tvoxcc.journey.privacy_api import erase_person
from tvoxcc.journey.privacy_chats import OpenChats, end_ongoing, ongoing
from tvoxcc.journey.privacy_store import person_of
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = "carla@example.com"
DOC = {
    "tenant": {"name": "acme"},
    "services": [{"name": "web", "channels": ["chat"]}],
    "queues": [{"name": "chat", "service": "web"}],
    "agents": [{"name": "ann", "extension": "201", "queues": ["chat"], "capacity": {"chat": 1}}],
}


async def _count(store: Store, what: object) -> int:
    async with store.session() as session:
        return int(await session.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


async def test_an_open_chat_stops_the_erase_and_close_open_ends_it_first(
    store: Store, migrated_url: str, tmp_path: Path
) -> None:
    tenant = await imported_tenant(store, DOC)
    tvox = await asyncio.to_thread(make_tvox, tmp_path, migrated_url)
    await asyncio.to_thread(tvox.ok, "contact", "add", "-t", "acme", "--name", "Carla Bianchi", "--email", EMAIL)

    async def cli(*args: str) -> Result:
        return await asyncio.to_thread(tvox, "contact", "erase", "-t", "acme", EMAIL, "--yes", *args)

    async with routing_acd(store) as acd:
        await send_input(store, InputKind.LOGIN, agent_id="acme-ann")
        talking, _ = await open_chat(store, tenant, "web", name="Carla", email=EMAIL, now=NOW)
        waiting, _ = await open_chat(store, tenant, "web", name="Carla", email=EMAIL, now=NOW)
        await chat_world.settled(store, acd, tenant, NOW)
        async with store.tenant(tenant) as session:
            ann = (await session.execute(select(m.Agent.id).where(m.Agent.name == "ann"))).scalar_one()
        await routing.accept(store, tenant, talking.chat_id, ann, NOW)
        await chat_world.settled(store, acd, tenant, NOW)
        assert [c.status for c in await routing.agent_chats(store, tenant, ann)] == [ChatStatus.CONNECTED]

        refused = await cli()
        assert refused.exit_code != 0
        assert refused.output.strip() == (
            f"error: chat {talking.chat_id} (connected with agent ann), chat {waiting.chat_id} (queued) still open: "
            "nothing erased; end them first, or erase with --close-open (closes each as an agent would, then erases)"
        )
        assert await _count(store, m.Chat) == 2 and await _count(store, m.Contact) == 1
        assert await _count(store, m.AcdItem) == 2

        done = await cli("--close-open")
        assert done.exit_code == 0, done.output
        assert "2 chats" in done.output
        await acd.flush()
        assert await _count(store, m.Chat) == 0 and await _count(store, m.Contact) == 0
        assert await _count(store, m.AcdItem) == 0  # both items ended in the ACD, none left routing
        async with store.session() as session:
            agent = await session.get(m.AcdAgent, "acme-ann")
            assert agent is not None and agent.status == "wrap-up"  # as after her own close
            wrapup = select(m.AcdCommand.agent_id).where(m.AcdCommand.kind == "start-wrapup")
            # the command the web app's hub follows: it makes ann's desktop look again and show the chat closed
            assert (await session.execute(wrapup)).scalars().all() == ["acme-ann"]
            kinds = (await session.execute(select(m.AcdInput.kind, m.AcdInput.error).order_by(m.AcdInput.seq))).all()
            assert [tuple(k) for k in kinds[-2:]] == [("complete", None), ("abandon", None)]
            assert (await audit.verify(session))[1] is None
        assert await routing.agent_chats(store, tenant, ann) == []  # what the desktop lists on its refresh
        # the ACD took the ends: once her wrap-up ends, ann gets the next chat
        await send_input(store, InputKind.END_WRAPUP, agent_id="acme-ann")
        other, _ = await open_chat(store, tenant, "web", name="Dan", email="dan@example.com", now=NOW)
        await chat_world.settled(store, acd, tenant, NOW)
        assert [c.chat_id for c in await routing.agent_chats(store, tenant, ann)] == [other.chat_id]


async def test_with_no_acd_to_end_the_chat_nothing_is_erased(store: Store) -> None:
    """--close-open with no ACD running: the chat is closed but its item's end is not taken, so the erase gives up
    in one line, erasing nothing; once an ACD takes the end, the erase goes through."""
    tenant = await imported_tenant(store, DOC)
    chat, _ = await open_chat(store, tenant, "web", name="Carla", email=EMAIL, now=NOW)
    async with store.tenant(tenant) as session:
        going = await ongoing(session, await person_of(session, EMAIL))
    assert [str(c) for c in going] == [f"chat {chat.chat_id} (queued)"]
    with pytest.raises(OpenChats, match=rf"^chat {chat.chat_id} \(queued\) closed, but the ACD did not end its item"):
        await end_ongoing(store, tenant, going, NOW, wait_s=0.3)
    async with store.tenant(tenant) as session:
        stored = await session.get(m.Chat, chat.chat_id)
        assert stored is not None and stored.status == ChatStatus.CLOSED  # closed, kept
        still = await ongoing(session, await person_of(session, EMAIL))
    assert [c.chat_id for c in still] == [chat.chat_id]  # its end is not taken: an erase is still refused
    with pytest.raises(OpenChats):
        await erase_person(
            store, tenant, EMAIL, recordings_dir=None, repository=Repository(RecordingSettings(), Path("/nonexistent")),
            data_dir=None, actor="cli:test",
        )  # fmt: skip
    assert await _count(store, m.Chat) == 1
    async with routing_acd(store):
        erased = await erase_person(
            store, tenant, EMAIL, recordings_dir=None, repository=Repository(RecordingSettings(), Path("/nonexistent")),
            data_dir=None, actor="cli:test", close_open=True,
        )  # fmt: skip
    assert erased.counts["chats"] == 1 and await _count(store, m.Chat) == 0
