"""`tvoxcc voice run`: the Stasis application serving every inbound call (main host)."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from tvoxcc.cli._common import open_store, settings_of
from tvoxcc.config import Settings


def setup_logging(settings: Settings) -> None:
    handler: logging.Handler = (
        logging.FileHandler(settings.logging.file) if settings.logging.file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.logging.level, handlers=[handler], force=True)


async def serve(settings: Settings) -> None:
    from tvoxcc.ari import AriClient
    from tvoxcc.voice.app import VoiceApp
    from tvoxcc.voice.directory import Directory

    async with open_store(settings) as store, AriClient.from_settings(settings) as ari:
        app = VoiceApp(ari, Directory(store), queue_log=settings.data_dir / "queue_log")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        runner = asyncio.create_task(app.run())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        done, _ = await asyncio.wait([runner, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            runner.result()  # an auth error or a bug: surface it
        runner.cancel()
        logging.getLogger(__name__).info("voice service stopping; calls stay in Asterisk and resume on restart")


@click.group()
def voice() -> None:
    """The voice service (ARI Stasis application)."""


@voice.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Serve inbound calls until SIGTERM. Calls survive a restart of this service."""
    settings = settings_of(ctx)
    setup_logging(settings)
    asyncio.run(serve(settings))
