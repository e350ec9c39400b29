"""Campaign lines on the real lab: originated through the tenant's trunk to sipp customers, AMD() on answer.

A person ("hello?" 0.7 s, then silence) comes back as HUMAN, an answering machine (a 6 s greeting) as MACHINE,
a busy line as BUSY, a line that rings unanswered past the ring time (15 s) as NO_ANSWER; an abandoned person
hears the message and is hung up on. Bridging a person to an agent: test_campaign_run.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tvoxcc.ari import AriClient, Connected
from tvoxcc.asterisk.inputs import RenderInput, Trunk
from tvoxcc.campaigns.events import Abandon, CallEnded, Connect, ConnectFailed, Dial, HangUp, LineResult
from tvoxcc.campaigns.lines import CampaignLines
from tvoxcc.campaigns.model import LineOutcome
from tvoxcc.lab.greeting import greeting_pcap
from tvoxcc.lab.sipp import Sipp, SippAgent, SippRun, free_udp_port
from tvoxcc.voice.callbacks import OutboundRoute

pytestmark = pytest.mark.asterisk

CUSTOMER_PORT = free_udp_port()
ROUTE = OutboundRoute("PJSIP/{number}@acme-pstn", caller_id="5551000", ring_seconds=15)


@pytest.fixture(scope="module")
def trunk(lab: Any) -> Iterator[Any]:
    default = lab.render_input()
    lab.reload(
        RenderInput.from_settings(
            lab.settings, lab.agents, lab.dids, trunks=(Trunk("acme", "acme-pstn", "127.0.0.1", CUSTOMER_PORT),)
        )
    )
    try:
        yield lab
    finally:
        lab.reload(default)


class Harness:
    def __init__(self, ari: AriClient) -> None:
        self.results: asyncio.Queue[LineResult | CallEnded | ConnectFailed] = asyncio.Queue()
        self.lines = CampaignLines(ari, ROUTE, self.results.put, message="hello-world")
        self.next_line = 1

    async def dial(self) -> int:
        line, self.next_line = self.next_line, self.next_line + 1
        await self.lines.dial(Dial(line, line, "5550001", 15.0, None))
        return line

    async def result(self, within: float) -> LineResult | CallEnded | ConnectFailed:
        return await asyncio.wait_for(self.results.get(), within)


async def run_lines(lab: Any, cases: Any) -> None:
    async with AriClient.from_settings(lab.settings) as ari:
        events = ari.events()
        harness = Harness(ari)
        connected = asyncio.Event()

        async def app() -> None:
            async for event in events:
                if isinstance(event, Connected):
                    connected.set()
                await harness.lines.on_event(event)

        task = asyncio.create_task(app())
        try:
            await asyncio.wait_for(connected.wait(), 10)
            await cases(harness)
        finally:
            await events.close()
            task.cancel()


def finished(run: SippRun) -> SippRun:
    return run.wait(60).check()


async def test_amd_tells_a_person_from_a_machine(trunk: Any, sipp: Sipp, tmp_path: Path) -> None:
    person = greeting_pcap(tmp_path / "person.pcap", lead_ms=200, tone_ms=700, silence_ms=4000)
    machine = greeting_pcap(tmp_path / "machine.pcap", lead_ms=200, tone_ms=6000, silence_ms=2000)

    async def cases(h: Harness) -> None:
        for pcap, expected in ((person, LineOutcome.HUMAN), (machine, LineOutcome.MACHINE)):
            customer = sipp.customer_answers(port=CUSTOMER_PORT, pcap=pcap, ring_ms=300)
            await asyncio.sleep(0.3)
            line = await h.dial()
            assert await h.result(20) == LineResult(line, expected)
            await h.lines.carry_out(HangUp(line))
            await asyncio.to_thread(finished, customer)

    await run_lines(trunk, cases)


async def test_busy_and_unanswered_lines(trunk: Any, sipp: Sipp) -> None:
    async def cases(h: Harness) -> None:
        customer = sipp.customer_busy(port=CUSTOMER_PORT)
        await asyncio.sleep(0.3)
        line = await h.dial()
        assert await h.result(10) == LineResult(line, LineOutcome.BUSY)
        await asyncio.to_thread(finished, customer)
        customer = sipp.customer_no_answer(port=CUSTOMER_PORT)
        await asyncio.sleep(0.3)
        line = await h.dial()
        assert await h.result(30) == LineResult(line, LineOutcome.NO_ANSWER)
        await asyncio.to_thread(finished, customer)

    await run_lines(trunk, cases)


async def test_an_abandoned_person_hears_the_message_then_the_line_hangs_up(
    trunk: Any, sipp: Sipp, tmp_path: Path
) -> None:
    person = greeting_pcap(tmp_path / "person.pcap", lead_ms=200, tone_ms=700, silence_ms=8000)

    async def cases(h: Harness) -> None:
        customer = sipp.customer_answers(port=CUSTOMER_PORT, pcap=person, ring_ms=300)
        await asyncio.sleep(0.3)
        line = await h.dial()
        assert await h.result(20) == LineResult(line, LineOutcome.HUMAN)
        await h.lines.carry_out(Abandon(line))
        await asyncio.to_thread(finished, customer)  # the BYE came after the message (hello-world, ~1.5 s)
        assert line not in h.lines.by_line

    await run_lines(trunk, cases)


async def test_an_agent_who_never_answers_makes_the_person_an_abandon(trunk: Any, sipp: Sipp, tmp_path: Path) -> None:
    """acme-bob's phone is not registered: its leg fails, the dialer is told (ConnectFailed) and abandons."""
    person = greeting_pcap(tmp_path / "person.pcap", lead_ms=200, tone_ms=700, silence_ms=8000)

    async def cases(h: Harness) -> None:
        customer = sipp.customer_answers(port=CUSTOMER_PORT, pcap=person, ring_ms=300)
        await asyncio.sleep(0.3)
        line = await h.dial()
        assert await h.result(20) == LineResult(line, LineOutcome.HUMAN)
        await h.lines.carry_out(Connect(line, "acme-bob"))
        assert await h.result(20) == ConnectFailed(line)
        await h.lines.carry_out(Abandon(line))
        await asyncio.to_thread(finished, customer)

    await run_lines(trunk, cases)


async def test_a_line_one_agents_phone_refused_is_bridged_to_the_next_agent(
    trunk: Any, sipp: Sipp, tmp_path: Path
) -> None:
    """acme-bob's phone is not registered: Asterisk refuses its leg at once (ARI's 500 Allocation failed), the
    dialer gives the person to acme-alice, whose phone answers: the two are bridged, and a hang-up ends the call."""
    person = greeting_pcap(tmp_path / "person.pcap", lead_ms=200, tone_ms=700, silence_ms=15000)
    password = next(a.password for a in trunk.agents if a.endpoint == "acme-alice")
    alice = SippAgent(sipp, "acme-alice", password)

    async def cases(h: Harness) -> None:
        await asyncio.to_thread(lambda: alice.register().check())
        phone = alice.answer(ring_ms=200)
        customer = sipp.customer_answers(port=CUSTOMER_PORT, pcap=person, ring_ms=300)
        try:
            await asyncio.sleep(0.3)
            line = await h.dial()
            assert await h.result(20) == LineResult(line, LineOutcome.HUMAN)
            await h.lines.carry_out(Connect(line, "acme-bob"))
            assert await h.result(5) == ConnectFailed(line)
            await h.lines.carry_out(Connect(line, "acme-alice"))
            for _ in range(100):  # alice answers (200 ms ring): the agent leg joins the line's bridge
                if h.lines.by_line[line].bridge_id is not None:
                    break
                await asyncio.sleep(0.1)
            assert h.lines.by_line[line].bridge_id is not None
            await h.lines.carry_out(HangUp(line))
            assert await h.result(10) == CallEnded(line)
            await asyncio.to_thread(finished, customer)
            await asyncio.to_thread(finished, phone)
        finally:
            await asyncio.to_thread(lambda: alice.unregister().check())

    await run_lines(trunk, cases)


async def test_a_number_the_route_cannot_dial_fails_at_once(trunk: Any) -> None:
    async def cases(h: Harness) -> None:
        await h.lines.dial(Dial(99, 99, "not a number", 15.0, None))
        assert await h.result(5) == LineResult(99, LineOutcome.FAILED)
        assert not h.lines.by_line

    await run_lines(trunk, cases)
