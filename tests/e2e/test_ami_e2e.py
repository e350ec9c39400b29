"""AMI against the lab Asterisk: actions with timeouts, CLI commands, events, a wrong secret."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import SecretStr

from tvoxcc.ami import AmiActionError, AmiAuthError, AmiClient, AmiMessage, AmiTimeout

pytestmark = pytest.mark.asterisk


async def test_action_command_and_events(lab: Any) -> None:
    ami = AmiClient(lab.settings, action_timeout=5.0)
    await ami.connect()
    try:
        await ami.ping(timeout=2.0)
        version = await ami.command("core show version")
        assert version.startswith("Asterisk 22")
        got: list[AmiMessage] = []
        seen = asyncio.Event()

        def on_user_event(message: AmiMessage) -> None:
            if message.get("userevent") == "tvoxcc-e2e":
                got.append(message)
                seen.set()

        ami.on_event("UserEvent", on_user_event)
        await ami.action({"Action": "UserEvent", "UserEvent": "tvoxcc-e2e", "Body": "hello"})
        await asyncio.wait_for(seen.wait(), 5)
        assert got[0]["body"] == "hello"
        # An EventList action: the response and its events, *Complete last.
        listing = await ami.action({"Action": "CoreShowChannels"})
        assert listing.events and listing.events[-1].name == "CoreShowChannelsComplete"
        with pytest.raises(AmiActionError):
            await ami.action({"Action": "Getvar", "Channel": "PJSIP/no-such-channel", "Variable": "X"})
    finally:
        await ami.close()


async def test_action_timeout_is_enforced(lab: Any) -> None:
    # Events off: WaitEvent returns as soon as any event is queued for the session (a phone's qualify,
    # another test's call), which would make this test depend on what else happens in the lab.
    ami = AmiClient(lab.settings, events="off")
    await ami.connect()
    try:
        # A WaitEvent with a long Timeout does not answer before our 0.5 s action timeout.
        start = time.monotonic()
        with pytest.raises(AmiTimeout):
            await ami.action({"Action": "WaitEvent", "Timeout": "30"}, timeout=0.5)
        assert time.monotonic() - start < 2.0
        await ami.ping(timeout=2.0)
    finally:
        await ami.close()


async def test_wrong_secret_raises_quickly(lab: Any) -> None:
    asterisk = lab.settings.asterisk.model_copy(update={"ami_secret": SecretStr("definitely-wrong")})
    settings = lab.settings.model_copy(update={"asterisk": asterisk})
    ami = AmiClient(settings, connect_timeout=10.0)
    start = time.monotonic()
    with pytest.raises(AmiAuthError) as info:
        await ami.connect()
    assert time.monotonic() - start < 10.0
    assert "definitely-wrong" not in str(info.value)
    await ami.close()
