"""The main host's services in one process: the Stasis app (IVR + ACD) and the FastAGI server.

They share the ACD, so a feature code dialled by an agent (FastAGI) changes its state at once for the
calls the Stasis app is routing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from tvoxcc.agentcalls.store import AgentCallBook
from tvoxcc.agi.routes import all_routes
from tvoxcc.agi.server import build_server
from tvoxcc.campaigns.service import CampaignService
from tvoxcc.config import Settings
from tvoxcc.recordings.repository import Repository
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd import AcdQueue
from tvoxcc.voice.acd_config import AcdDirectory
from tvoxcc.voice.agent_calls import AgentCalls
from tvoxcc.voice.app import VoiceApp, utc_now
from tvoxcc.voice.directory import Directory
from tvoxcc.voice.lanes import Lanes
from tvoxcc.voice.live import LiveWriter
from tvoxcc.voice.nodes import connect_ari
from tvoxcc.voice.recorder import Recorder
from tvoxcc.voice.recording_requests import RecordingRequests
from tvoxcc.voice.sms import SmsGateway


@asynccontextmanager
async def main_host(
    settings: Settings, store: Store, *, clock: Callable[[], datetime] = utc_now, ready_within: float = 15.0
) -> AsyncIterator[VoiceApp]:
    """Run until the block exits; yields once connected to Asterisk and serving FastAGI."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with connect_ari(settings) as ari:  # one Asterisk, or one per [[kamailio.nodes]] entry
        voice = settings.voice
        recorder = Recorder(store)  # every call's facts, written in batches off the call path
        lanes = Lanes()  # each call's work in order, calls side by side
        acd = AcdQueue(
            ari,
            AcdDirectory(store, recorder),
            clock,
            queue_log=settings.data_dir / "queue_log",
            callback_attempts=voice.callback_attempts,
            callback_retry_s=voice.callback_retry_seconds,
            callback_poll_s=voice.callback_poll_seconds,
            config_poll_s=voice.config_poll_seconds,
            lanes=lanes,
            recordings=Repository.of(settings),
            acd_linger_s=voice.acd_linger_seconds,
            lease_ttl_s=voice.lease_seconds,
        )
        # The ACD's lease first: while another ACD routes this one waits as a standby (it says so), before
        # taking any call; then its router is restored from the store.
        await acd.start()
        proxy = settings.kamailio.sip_host if settings.kamailio.nodes else None  # the nodes' only SIP peer
        sms = SmsGateway(
            ari, store, clock, lanes, endpoints=voice.sms_endpoints, poll_s=voice.sms_poll_seconds, proxy_host=proxy
        )
        app = VoiceApp(ari, Directory(store, recorder), handoff=acd, clock=clock, lanes=lanes)
        # Campaigns are worked here, beside the ACD and ARI (tvoxcc.campaigns.service says why).
        campaigns = CampaignService(store, ari, acd.service)
        acd.foreign_items, app.campaigns = campaigns.take_command, campaigns
        # Agents' own calls (9 + number, click-to-call) hold the agent in this same ACD while they last.
        agent_calls = app.agent_calls = AgentCalls(
            ari, AgentCallBook(store), acd.service, clock, lanes,
            recordings=acd.call_recordings, recorded_queues=lambda: acd.acd.recorded,
        )  # fmt: skip
        # The desktop's "Pause recording" / "Resume recording", by the path of the agent's *78 / *79.
        recording_requests = RecordingRequests(store, acd.call_recordings, clock)
        live = LiveWriter(store, acd.service, clock)  # the wallboard's copy of the ACD's state
        agi = build_server(settings, all_routes(store, acd))
        try:
            await live.start()
            acd.on_change = live.changed
            acd.on_config = live.learn_owners
            await agi.start(settings.agi.host, settings.agi.port)
        except BaseException:
            await acd.close()  # the lease given up: a restart need not wait for it
            raise
        runner = asyncio.create_task(app.run(), name="voice-app")
        replies = asyncio.create_task(sms.run_sender(), name="voice-sms-replies")
        texts = asyncio.create_task(sms.run(), name="voice-sms-texts")
        try:
            ready = asyncio.create_task(app.ready.wait())
            done, _ = await asyncio.wait([runner, ready], timeout=ready_within, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()  # the app stopped before it was ready: raise why
            if ready not in done:
                ready.cancel()
                where = ari.http.base_url.replace("/ari", "")  # every node's, with [[kamailio.nodes]]
                raise TimeoutError(f"not connected to Asterisk ARI at {where} in {ready_within} s")
            with contextlib.suppress(TimeoutError):  # texts wait in the carrier meanwhile: calls need not wait
                await asyncio.wait_for(sms.ready.wait(), ready_within)
            await live.flush()  # every tenant's view, replacing what a previous run left
            campaigns.start()
            await agent_calls.take_over()
            agent_calls.start()
            recording_requests.start()
            yield app
        finally:
            await recording_requests.close()
            await agent_calls.close()
            await campaigns.close()
            with contextlib.suppress(Exception):  # Asterisk may be gone already: never hold the stop up for it
                await asyncio.wait_for(sms.unsubscribe(), 2.0)
            runner.cancel()
            replies.cancel()
            texts.cancel()
            await asyncio.gather(runner, replies, texts, return_exceptions=True)
            await live.close()
            await agi.close()
            await recorder.close_writer()
