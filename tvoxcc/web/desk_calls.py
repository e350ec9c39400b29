"""Voice offers on the agent desktop: the calls the ACD offers to (rings on the phone of) or connected with an
agent, read from its acd_items rows, each with the screen pop of the caller's journey.

The voice service carries out its calls' commands in process and writes no acd_commands rows for them, but
every decision is committed with its item rows: the web app reads those (one query per interval for the whole
app, only while a desktop is open) and tells the desktops of the agents whose calls changed to look again.
So the desktop shows the ACD's offer — the same row the voice service rang the phone from — and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tvoxcc.acd import InputKind, send_input
from tvoxcc.chat.core import ChatError
from tvoxcc.chat.routing_store import answered
from tvoxcc.journey.contacts import ContactNotFound, JourneyError
from tvoxcc.journey.identify import contact_by_phone
from tvoxcc.queues.model import Channel, ItemStatus
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.chat_hub import ChatHub
from tvoxcc.web.journey import screen_pop_json
from tvoxcc.web.views import TenantConfig

log = logging.getLogger(__name__)
SHOWN = (ItemStatus.OFFERED, ItemStatus.CONNECTED)


@dataclass(frozen=True, slots=True)
class DeskCall:
    item_id: str
    status: ItemStatus  # offered (the phone rings) or connected
    caller: str  # the caller's number as the voice service queued it
    queue: str  # the queue's name in the tenant

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item_id, "status": str(self.status), "caller": self.caller, "queue": self.queue}

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> DeskCall:
        return cls(str(data["item"]), ItemStatus(data["status"]), str(data["caller"]), str(data["queue"]))


def _concerns(row: m.AcdItem, rid: str) -> bool:
    if row.status == ItemStatus.OFFERED:
        return rid in (row.offered_to or [])
    return row.agent == rid


async def _voice_rows(store: Store, tenant_id: int | None = None) -> list[m.AcdItem]:
    query = select(m.AcdItem).where(m.AcdItem.channel == Channel.VOICE, m.AcdItem.status.in_([str(s) for s in SHOWN]))
    if tenant_id is not None:
        query = query.where(m.AcdItem.tenant_id == tenant_id)
    async with store.session() as session:
        return list((await session.execute(query.order_by(m.AcdItem.arrived_at))).scalars().all())


async def agent_calls(store: Store, tenant_id: int, rid: str) -> list[DeskCall]:
    """The voice items offered to or connected with router agent ``rid``, oldest first."""
    return [
        DeskCall(row.item_id, ItemStatus(row.status), row.caller_id, row.queue.split("/", 1)[-1])
        for row in await _voice_rows(store, tenant_id)
        if _concerns(row, rid)
    ]


async def decline_call(store: Store, tenant_id: int, rid: str, item_id: str) -> None:
    """The agent declines the call ringing their phone: ring-no-answer for the ACD, which stops the ringing (the
    voice service carries out its CancelOffer) and offers the call elsewhere. ChatError when it does not ring
    for them (any more), or with the ACD's refusal."""
    if not any(
        c.item_id == item_id and c.status is ItemStatus.OFFERED for c in await agent_calls(store, tenant_id, rid)
    ):
        raise ChatError("that call is not ringing for you")
    await answered(store, await send_input(store, InputKind.DECLINE, item_id=item_id, agent_id=rid))


async def call_pop(store: Store, config: TenantConfig, call: DeskCall) -> dict[str, Any]:
    """The journey summary of the caller — the contact their number belongs to, found as the voice service and
    the SMS adapter find it (tvoxcc.journey.identify), else the calls from that number — or just the number."""
    pop: dict[str, Any] = {"contact": None}
    if call.caller:
        async with store.tenant(config.tenant_id) as session:
            match = await contact_by_phone(session, call.caller)
        with contextlib.suppress(ContactNotFound, JourneyError):  # nobody known and no earlier call: the number
            pop = await screen_pop_json(store, config, f"#{match.contact_id}" if match else call.caller)
    return {**pop, "caller": call.caller}


class CallWatch:
    """Looks at the voice items every ``poll_s`` while a desktop is open; the agents whose offered or connected
    calls changed get a "refresh" (their desktops read agent_calls again)."""

    def __init__(self, store: Store, chats: ChatHub, poll_s: float) -> None:
        self.store, self.chats, self.poll_s = store, chats, poll_s
        self._seen: dict[str, frozenset[tuple[str, str]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def look(self) -> list[str]:
        """One look: the router agent ids told to refresh."""
        now: dict[str, set[tuple[str, str]]] = {}
        for row in await _voice_rows(self.store):
            for rid in row.offered_to if row.status == ItemStatus.OFFERED else [row.agent]:
                if rid:
                    now.setdefault(str(rid), set()).add((row.item_id, row.status))
        current = {rid: frozenset(items) for rid, items in now.items()}
        changed = [rid for rid in current.keys() | self._seen.keys() if current.get(rid) != self._seen.get(rid)]
        self._seen = current
        for rid in changed:
            row_id = await self.chats.agent_row(rid)
            if row_id is not None:
                self.chats.to_agent(row_id, {"type": "refresh"})
        return changed

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                if self.chats.desktops_open():
                    await self.look()
            except Exception as exc:  # the store may be briefly unreachable: keep watching
                log.warning("watching the voice offers failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.poll_s)
