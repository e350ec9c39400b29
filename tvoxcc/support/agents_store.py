"""Support agents and the ACD: `support login/pause/logout` as ACD requests, and `support next`.

An agent's availability is one fact in the ACD, for every channel: `support pause` pauses them in the ACD
(code ``support``: no call and no ticket is offered), `support logout` logs them out (refused while they hold
tickets from it), `support login` logs them in and unpauses them. The desk keeps what was last said
(support_agent_states) so the support service logs mail staff without a phone back in after an ACD restart
and never logs in one who logged out (tvoxcc.support.dispatch).

`support next` asks the ACD to offer the agent their next ticket even while paused (InputKind.PULL: the item
their queues' order, strategy and skills give them first, within their mail capacity), waits until the ACD
took the request and applies the offer like the support service would (``by``: next).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.acd import CommandKind, CommandReader, InputKind, Request, queue_inputs, send_input
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.dispatch import PAUSE_CODE, DeskPresence, ticket_number
from tvoxcc.support.dispatch_store import Assigned, _assign, acd_routing, names_of
from tvoxcc.support.tickets import TicketError

NO_ACD = "no ACD is routing: tickets wait (run `tvoxcc acd run`, `tvoxcc voice run` or `tvoxcc support run --acd`)"


async def _agent(session: AsyncSession, name: str) -> m.Agent:
    agent = (await session.execute(select(m.Agent).where(m.Agent.name == name))).scalar_one_or_none()
    if agent is None:
        raise TicketError(f"unknown agent {name!r}")
    return agent


async def set_presence(session: AsyncSession, agent_name: str, state: DeskPresence, now: datetime) -> None:
    """What the desk says about the agent, and the ACD requests it makes, in the caller's transaction."""
    agent = await _agent(session, agent_name)
    rid = (await names_of(session)).agents[agent.id]
    if state is DeskPresence.LOGGED_OUT:
        load = await session.scalar(select(m.AcdAgent.load).where(m.AcdAgent.agent_id == rid))
        in_hand = sum((load or {}).values())
        if in_hand:
            raise TicketError(
                f"{agent_name} holds {in_hand} items from the ACD: `support pause` stops new ones; log out once done"
            )
    requests = {
        DeskPresence.AVAILABLE: [Request(InputKind.LOGIN, agent_id=rid), Request(InputKind.UNPAUSE, agent_id=rid)],
        DeskPresence.PAUSED: [
            Request(InputKind.LOGIN, agent_id=rid),
            Request(InputKind.PAUSE, agent_id=rid, payload={"code": PAUSE_CODE}),
        ],
        DeskPresence.LOGGED_OUT: [Request(InputKind.LOGOUT, agent_id=rid)],
    }[state]
    await queue_inputs(session, requests)
    row = (
        await session.execute(select(m.SupportAgentState).where(m.SupportAgentState.agent_id == agent.id))
    ).scalar_one_or_none()
    if row is None:
        row = m.SupportAgentState(agent_id=agent.id)
        session.add(row)
    row.state, row.updated_at = str(state), now


async def next_for(
    store: Store, tenant_id: int, agent_name: str, now: datetime, *, timeout_s: float = 15.0
) -> Assigned | None:
    """The ticket the ACD gives ``agent_name`` next, assigned to them (even while paused); None: nothing waits."""
    async with store.tenant(tenant_id) as session:
        agent = await _agent(session, agent_name)
        names = await names_of(session)
    if agent.capacity.get("mail", 0) <= 0:
        raise TicketError(f"agent {agent_name!r} has no mail capacity (set it with `tvoxcc agent set --capacity`)")
    if not await acd_routing(store, now):
        raise TicketError(NO_ACD)
    rid = names.agents[agent.id]
    reader = CommandReader(store, channels=[Channel.MAIL])
    await reader.read()  # from now on
    seq = await send_input(store, InputKind.PULL, agent_id=rid, channel=str(Channel.MAIL))
    error = await _taken(store, seq, timeout_s)
    if error:
        raise TicketError(f"the ACD refused: {error}")
    offers = [c for c in await reader.read() if c.kind is CommandKind.OFFER and c.agent_id == rid]
    for offer in offers:
        number = ticket_number(tenant_id, offer.item_id or "")
        if number is None or offer.queue is None:
            continue
        async with store.tenant(tenant_id) as session:
            ticket = (await session.execute(select(m.Ticket).where(m.Ticket.number == number))).scalar_one()
            if await _assign(session, ticket.id, agent.id, names, offer.queue, now, "next"):
                await session.commit()
            elif ticket.assignee_agent_id != agent.id:  # assigned by hand meanwhile: the support service frees it
                continue
        return Assigned(number, agent_name, names.short(offer.queue))
    return None


async def _taken(store: Store, seq: int, timeout_s: float) -> str | None:
    """Wait until the ACD took request ``seq``; its refusal, if any."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with store.session() as session:
            row = await session.get(m.AcdInput, seq)
        if row is not None and row.taken_at is not None:
            return row.error
        if time.monotonic() > deadline:
            raise TicketError(f"the ACD did not answer within {timeout_s:g}s: is it running? ({NO_ACD})")
        await asyncio.sleep(0.05)
