"""A SIP call reaches a minimal Stasis app of ours: answer, play a prompt, get RFC2833 DTMF, hang up.

The caller is the sipp UAC of tvoxcc/lab/sipp.py: INVITE to the lab's DID, after the answer it
plays sipp's ``dtmf_2833_1.pcap`` (RFC2833 digit 1) and waits for our BYE.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.components import require_program
from tvoxcc.ari import AriClient, Connected, StreamItem
from tvoxcc.ari.events import (
    ChannelDtmfReceived,
    ChannelHangupRequest,
    PlaybackStarted,
    StasisEnd,
    StasisStart,
)
from tvoxcc.lab.sipp import Sipp

pytestmark = pytest.mark.asterisk


def call_with_digit(sipp: Sipp, number: str) -> tuple[int | None, str]:
    """The caller of tvoxcc/lab/sipp.py: call, send RFC2833 '1', wait for our BYE; exit code and logs."""
    run = sipp.call(number, "1", hangup="them", wait_ms=1500)
    return run.returncode, run.errors


async def test_call_answer_play_dtmf_hangup(lab: Any, sipp: Sipp) -> None:
    require_program("sipp", "apt-get install sip-tester")
    did = lab.dids[0]
    number, tenant, service = did.number, did.tenant, did.service
    seen: list[StreamItem] = []
    done = asyncio.Event()
    connected = asyncio.Event()

    async with AriClient.from_settings(lab.settings) as ari:
        events = ari.events()

        async def app() -> None:
            """The minimal Stasis app: answer, play, hang up on the first DTMF digit."""
            async for ev in events:
                seen.append(ev)
                if isinstance(ev, Connected):
                    connected.set()
                elif isinstance(ev, StasisStart):
                    await ari.channels.answer(ev.channel.id)
                    await ari.channels.play(ev.channel.id, "sound:hello-world")
                elif isinstance(ev, ChannelDtmfReceived):
                    # sipp's scenario pauses after each digit and treats a BYE during that pause as
                    # unexpected: hang up once it is back waiting for our BYE.
                    await asyncio.sleep(1.0)
                    await ari.channels.hangup(ev.channel.id)
                elif isinstance(ev, StasisEnd):  # our last event for the channel (no ChannelDestroyed after it)
                    done.set()

        task = asyncio.create_task(app())
        try:
            await asyncio.wait_for(connected.wait(), 10)
            code, sipp_log = await asyncio.to_thread(call_with_digit, sipp, number)
            await asyncio.wait_for(done.wait(), 10)
        finally:
            await events.close()
            task.cancel()

    assert code == 0, sipp_log
    start = next(e for e in seen if isinstance(e, StasisStart))
    assert start.args == (tenant, service)
    assert start.channel.name.startswith("PJSIP/caller-")
    assert start.channel.state == "Ring"
    assert any(isinstance(e, PlaybackStarted) and e.playback.media_uri == "sound:hello-world" for e in seen)
    digits = [e.digit for e in seen if isinstance(e, ChannelDtmfReceived)]
    assert digits[:1] == ["1"], digits
    assert any(isinstance(e, ChannelHangupRequest) for e in seen)
    assert isinstance(seen[-1], StasisEnd)


async def test_asterisk_sends_only_the_event_types_asked_for(lab: Any) -> None:
    """``events(only=…)`` sets the app's event filter in Asterisk on every connect; without, it is cleared."""
    only = frozenset({"StasisStart", "StasisEnd"})
    async with AriClient.from_settings(lab.settings) as ari:
        for asked, allowed in ((only, [{"type": "StasisEnd"}, {"type": "StasisStart"}]), (None, [])):
            events = ari.events(only=asked)
            stream = aiter(events)
            try:
                assert isinstance(await asyncio.wait_for(anext(stream), 10), Connected)
                app = await ari.http.request("GET", f"/applications/{ari.app}")
                assert sorted(app["events_allowed"], key=str) == allowed
            finally:
                await events.close()
