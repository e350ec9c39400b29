"""The FastAGI `ping` route answers Asterisk's dialplan (`*99` in tvoxcc-selftest).

A Local channel runs `*99`: Answer, AGI(agi://<settings.agi>/ping), Hangup. The route sets
TVOXCC_PING=pong on the channel, which we see as an AMI VarSet event and as AGISTATUS=SUCCESS.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tvoxcc.agi import build_server
from tvoxcc.ami import AmiClient, AmiMessage

pytestmark = pytest.mark.asterisk


async def test_ping_route_from_dialplan(lab: Any) -> None:
    settings = lab.settings
    agi = build_server(settings)
    await agi.start(settings.agi.host, settings.agi.port)
    ami = AmiClient(settings)
    await ami.connect()
    pong = asyncio.get_running_loop().create_future()
    statuses: list[str] = []

    def on_varset(message: AmiMessage) -> None:
        if message.get("variable") == "TVOXCC_PING" and not pong.done():
            pong.set_result((message["value"], message.get("channel")))
        if message.get("variable") == "AGISTATUS":
            statuses.append(message["value"])

    ami.on_event("VarSet", on_varset)
    try:
        await ami.action(
            {
                "Action": "Originate",
                "Channel": "Local/*99@tvoxcc-selftest",
                "Application": "Wait",
                "Data": "2",
                "Async": "true",
            }
        )
        value, channel = await asyncio.wait_for(pong, 10)
        assert value == "pong"
        assert channel.startswith("Local/*99@tvoxcc-selftest")
        for _ in range(50):
            if statuses:
                break
            await asyncio.sleep(0.1)
        assert statuses and statuses[0] == "SUCCESS"
    finally:
        await ami.close()
        await agi.close()
