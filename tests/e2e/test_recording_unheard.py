"""A call recording whose RecordingFinished never reaches the voice service is stored anyway (issue 19).

Asterisk sends a bridge recording's RecordingFinished only to the Stasis apps subscribed to the bridge — through
their channels in it, till the bridge's BridgeDestroyed — and a recorder finishing after that (a loaded machine),
or while the events websocket reconnects, is never heard of: the call's recording stayed on Asterisk, silently,
and never reached `recording list`. Here the bridge holds no channel of the app at all, so Asterisk never tells,
every time: the call's end (``call_ended``, as the ACD says it when it destroys a call's bridge) has the service
look on Asterisk, store the recording with the call's row and say that the event was lost.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.test_voice_acd import (  # the acme tenant, as the queue's recording tests use it
    Clock,
    acme,  # noqa: F401
    repository_row,
)
from tests.e2e.voice import VOICE_LOG, running_voice
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.call_recordings import PendingRecording, recording_name
from tvoxcc.voice.recorder import InteractionRef

pytestmark = pytest.mark.asterisk


async def an_interaction(settings: Any, channel_id: str) -> tuple[int, int]:
    """A new, ended voice interaction row of acme on ``channel_id`` (the later modules' helpers read every
    interaction as a call's): (tenant id, interaction id)."""
    store = Store.from_url(settings.database.url.get_secret_value())
    async with store.session() as session:
        tenant_id = (await session.execute(select(m.Tenant.id).where(m.Tenant.name == "acme"))).scalar_one()
        now = datetime.now(UTC)
        row = m.Interaction(
            tenant_id=tenant_id, channel="voice", external_id=channel_id, from_address="5550100",
            outcome="answered", answered_at=now, ended_at=now,
        )  # fmt: skip
        session.add(row)
        await session.commit()
        ids = (tenant_id, row.id)
    await store.dispose()
    return ids


async def test_a_recording_whose_finished_event_never_comes_is_stored_from_asterisk(acme: Any) -> None:  # noqa: F811
    channel_id = f"unheard-{uuid.uuid4().hex[:12]}"
    tenant_id, interaction_id = await an_interaction(acme.settings, channel_id)
    name = recording_name(channel_id)
    clock = Clock(datetime.now(UTC))
    async with running_voice(acme.settings, clock) as app:
        acd = app.handoff
        assert isinstance(acd, AcdQueue)
        bridge = await app.ari.bridges.create(type="mixing", name=name)
        await app.ari.bridges.record(bridge.id, name, format="wav", if_exists="overwrite")
        pending = PendingRecording(
            "acme", InteractionRef.stored(tenant_id, interaction_id), None, None, None, "5550100", clock()
        )
        acd.call_recordings.started(name, pending)
        # A tone played into the bridge gives the recorder audio (an empty bridge records nothing); the player, as
        # the recorder, is no channel of the app: the app is still not subscribed to the bridge.
        await app.ari.bridges.play(bridge.id, "tone:440")
        await asyncio.sleep(2.0)
        await app.ari.bridges.destroy(bridge.id)
        acd.call_recordings.call_ended(name, clock)
        stored = await repository_row(acme, interaction_id)
        said = VOICE_LOG.about(name)
    assert "no RecordingFinished from Asterisk" in said, said  # stored by the watch, not by an event
    assert f"{name} finished (ours)" not in said, said
    assert 1.0 < stored["duration_s"] < 4.0, stored
    assert stored["format"] == "wav"
    assert not any(r["name"] == name for r in acme.ari("recordings/stored"))  # one copy: gone from Asterisk
