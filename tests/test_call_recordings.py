"""Taking back a recording after a restart (tvoxcc.voice.call_recordings.take_back), against a stand-in for
Asterisk's ARI recordings (the aiohttp pattern of tests/test_voice_presence.py): what Asterisk says of a
recording between the service's two looks decides whether it stays ours, and a recording it stops watching
leaves nothing of it behind (its pause log, its agent's leg).

The store, recorder and repository are never reached on these paths (nothing is stored).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from tests.ari_stand_in import ari_stand_in
from tvoxcc.config import RecordingSettings
from tvoxcc.recordings.repository import Repository
from tvoxcc.store.engine import Store
from tvoxcc.voice.call_recordings import CallRecordings, PendingRecording, recording_name
from tvoxcc.voice.recorder import InteractionRef, Recorder

NAME = recording_name("1700000000.7")
AGENT_LEG = "1700000000.8"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PENDING = PendingRecording(
    tenant="acme",
    interaction=InteractionRef.stored(1, 41),
    queue_id=3,
    agent_id=5,
    contact_id=None,
    number="5551234",
    started_at=NOW,
    agent_channel=AGENT_LEG,
)


class Recordings:
    """Asterisk's /recordings: ``live_looks`` answers to GET live/{name} ("recording" while left, then 404, as
    once it finished); nothing stored."""

    def __init__(self, live_looks: int) -> None:
        self.live_looks = live_looks
        self.asked: list[str] = []

    async def live(self, request: web.Request) -> web.Response:
        self.asked.append(f"live {request.match_info['name']}")
        if self.live_looks <= 0:
            return web.json_response({"message": "Recording not found"}, status=404)
        self.live_looks -= 1
        return web.json_response({"name": request.match_info["name"], "format": "wav", "state": "recording"})

    async def stored(self, request: web.Request) -> web.Response:
        self.asked.append(f"stored {request.match_info['name']}")
        return web.json_response({"message": "Recording not found"}, status=404)


async def serving(fake: Recordings, tmp_path: Path) -> AsyncIterator[CallRecordings]:
    app = web.Application()
    app.router.add_get("/ari/recordings/live/{name}", fake.live)
    app.router.add_get("/ari/recordings/stored/{name}", fake.stored)
    store = Store.from_url(f"sqlite:///{tmp_path}/never-opened.db")
    async with ari_stand_in(app) as ari:
        yield CallRecordings(ari, store, Recorder(store), Repository(RecordingSettings(), tmp_path / "data"))
    await store.dispose()


@pytest.fixture
async def finishing_between_looks(tmp_path: Path) -> AsyncIterator[tuple[Recordings, CallRecordings]]:
    fake = Recordings(live_looks=1)  # live at the first look, gone at the second, and never stored
    async for recordings in serving(fake, tmp_path):
        yield fake, recordings


@pytest.fixture
async def still_live(tmp_path: Path) -> AsyncIterator[tuple[Recordings, CallRecordings]]:
    fake = Recordings(live_looks=2)
    async for recordings in serving(fake, tmp_path):
        yield fake, recordings


async def test_a_recording_gone_between_the_looks_and_not_stored_leaves_nothing_behind(
    finishing_between_looks: tuple[Recordings, CallRecordings],
) -> None:
    fake, recordings = finishing_between_looks
    assert not await recordings.take_back(NAME, PENDING, NOW)
    assert fake.asked == [f"live {NAME}", f"live {NAME}", f"stored {NAME}"]  # the path: live, gone, not stored
    assert not recordings.owns(NAME)
    assert not recordings.owns_leg(AGENT_LEG)  # the agent's leg no longer sent here (*78 / *79, hang-up)
    assert (recordings.pending, recordings.pauses, recordings.by_leg, recordings.codes) == ({}, {}, {}, {})


async def test_a_recording_still_live_after_a_restart_is_ours_again_with_its_agent_leg(
    still_live: tuple[Recordings, CallRecordings],
) -> None:
    fake, recordings = still_live
    assert await recordings.take_back(NAME, PENDING, NOW)
    assert fake.asked == [f"live {NAME}", f"live {NAME}"]
    assert recordings.owns(NAME) and recordings.owns_leg(AGENT_LEG)
    assert recordings.pauses[NAME].paused_at is None  # its *78 has a pause log to write to
