"""The demo's dial-out step: the agent's phone dials 9 + the customer's number; the voice service holds the agent
in the ACD, dials the customer (a sipp phone behind the tenant's trunk) and bridges them; the customer hangs up and
the agent is given back. The outbound interaction is printed as the journey and Insight see it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlalchemy import select

from tvoxcc.agentcalls.hold import OUTBOUND_PAUSE
from tvoxcc.lab.sipp import Sipp
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.app import VoiceApp

CUSTOMER = "0212345678"  # what the agent dials after the 9 (a number in the tenant's country)


async def agent_dials_out(
    app: VoiceApp, sipp: Sipp, store: Store, phone: tuple[str, str], customer_port: int, say: Callable[[str], None]
) -> None:
    calls, acd = app.agent_calls, getattr(app.handoff, "service", None)
    if calls is None or acd is None:
        raise RuntimeError("the voice service carries no agent calls")
    customer = sipp.answer("customer", port=customer_port, ring_ms=800, bye_timeout_ms=30000)
    await asyncio.sleep(0.3)
    dialling = sipp.dial_playing(phone[0], phone[1], f"9{CUSTOMER}", listen_ms=30000)
    deadline = time.monotonic() + 30
    while not any(live.answered for live in calls.live.values()):
        if time.monotonic() > deadline:
            raise RuntimeError("the agent's call out was never answered")
        await asyncio.sleep(0.2)
    live = next(live for live in calls.live.values() if live.answered)
    state = acd.agent_state(phone[0])
    held = state is not None and state[1] == OUTBOUND_PAUSE
    say(f"demo: mario dials 9{CUSTOMER} from his phone: the customer answered through trunk acme-pstn; "
        f"the ACD holds mario meanwhile ({'paused ' + OUTBOUND_PAUSE if held else state})")  # fmt: skip
    await asyncio.sleep(1.5)
    await app.ari.channels.hangup(live.customer_channel)  # the customer hangs up
    (await asyncio.to_thread(customer.wait, 15)).check()
    (await asyncio.to_thread(dialling.wait, 15)).check()
    async with store.session() as session:
        row = await session.scalar(select(m.AgentCall).order_by(m.AgentCall.id.desc()))
        interaction = await session.get(m.Interaction, row.interaction_id) if row and row.interaction_id else None
    if interaction is None or interaction.answered_at is None or interaction.ended_at is None:
        raise RuntimeError("the agent's call out was not stored")
    talk = (interaction.ended_at - interaction.answered_at).total_seconds()
    say(f"demo: stored as interaction {interaction.id}: {interaction.direction} voice to {interaction.to_address}, "
        f"{interaction.outcome}, {talk:.1f} s talk; mario is {acd.agent_state(phone[0])[0]} again")  # fmt: skip
