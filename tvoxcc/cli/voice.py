"""`tvoxcc voice run`: the Stasis application serving every inbound call (main host)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

import click
import uvloop

from tvoxcc.cli._common import open_store, settings_of
from tvoxcc.config import Settings


def setup_logging(settings: Settings) -> None:
    handler: logging.Handler = (
        logging.FileHandler(settings.logging.file) if settings.logging.file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.logging.level, handlers=[handler], force=True)


async def serve(settings: Settings) -> None:
    from tvoxcc.cluster import ServiceKind, beating
    from tvoxcc.voice.service import main_host

    # The heartbeat first: a standby (waiting for the ACD's lease inside main_host) shows in `cluster status`.
    async with (
        open_store(settings) as store,
        beating(store, ServiceKind.VOICE, lease="acd"),
        main_host(settings, store),
    ):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        logging.getLogger(__name__).info("FastAGI on %s:%d", settings.agi.host, settings.agi.port)
        # What is loaded by now (modules, the store's metadata, the router and its configuration) lives as long
        # as the process: out of the collector's full passes, which walked it all again and again under load.
        gc.collect()
        gc.freeze()
        await stop.wait()
        logging.getLogger(__name__).info("voice service stopping; calls stay in Asterisk and resume on restart")


@click.group()
def voice() -> None:
    """The voice service (ARI Stasis application)."""


@voice.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Serve inbound calls (Stasis app) and agent feature codes (FastAGI) until SIGTERM.

    Calls survive a restart of this service: they are resumed when it connects again.
    """
    settings = settings_of(ctx)
    setup_logging(settings)
    # uvloop: the service is one event loop carrying every call's events and requests; uvloop's loop and
    # transports cost less CPU a call than asyncio's own (measured with bench/voice.py).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(settings))
