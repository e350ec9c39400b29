"""AMI against the lab Asterisk: actions with timeouts, CLI commands, events, a wrong secret."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr

from tvoxcc.ami import AmiActionError, AmiAuthError, AmiClient, AmiMessage, AmiTimeout

pytestmark = pytest.mark.asterisk


async def test_action_command_and_events(lab: Any) -> None:
    ami = AmiClient(lab.settings, action_timeout=5.0)
    await ami.connect()
    try:
        await ami.ping(timeout=5.0)  # the same session still works once Asterisk has given up
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
    ami = AmiClient(lab.settings)
    await ami.connect()
    try:
        # A synchronous Originate answers only once the call is answered; *90 never answers (see the dialplan).
        # (WaitEvent was tried first: it returns as soon as any event reaches the session, so it raced.)
        # Ours fires first (0.5 s), well before Asterisk gives up (1.5 s) and answers.
        with pytest.raises(AmiTimeout, match=r"no response in 0\.5s"):
            await ami.action(
                {
                    "Action": "Originate",
                    "Channel": "Local/*90@tvoxcc-selftest",
                    "Application": "Wait",
                    "Data": "1",
                    "Async": "false",
                    "Timeout": "1500",  # Asterisk gives up after 1.5 s: the session is free again
                },
                timeout=0.5,
            )
        await ami.ping(timeout=5.0)  # the same session still works once Asterisk has given up
    finally:
        await ami.close()


async def test_wrong_secret_raises_an_auth_error_not_a_timeout(lab: Any) -> None:
    asterisk = lab.settings.asterisk.model_copy(update={"ami_secret": SecretStr("definitely-wrong")})
    settings = lab.settings.model_copy(update={"asterisk": asterisk})
    ami = AmiClient(settings, connect_timeout=10.0)
    with pytest.raises(AmiAuthError) as info:  # Asterisk's refusal, not the 10 s connect timeout running out
        await ami.connect()
    assert "definitely-wrong" not in str(info.value)
    await ami.close()
