"""`tvoxcc agi run`: the FastAGI server alone, for admins who route calls with their own dialplan.

The voice service (`tvoxcc voice run`) already serves every route in its own process; run this instead of
it, not next to it (both listen on [agi] host:port).
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from tvoxcc.cli._common import open_store, settings_of
from tvoxcc.cli.voice import setup_logging
from tvoxcc.config import Settings

log = logging.getLogger(__name__)


async def serve(settings: Settings, started: asyncio.Event | None = None) -> None:
    from tvoxcc.agi.routes import all_routes
    from tvoxcc.agi.server import build_server

    async with open_store(settings) as store:
        server = build_server(settings, all_routes(store))
        await server.start(settings.agi.host, settings.agi.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            if started is not None:
                started.set()
            await stop.wait()
            log.info("FastAGI server stopping")
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await server.close()


@click.group()
def agi() -> None:
    """The FastAGI server (route, lookup, survey, callback, agent feature codes, ping)."""


@agi.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Serve FastAGI on [agi] host:port until SIGTERM, without the Stasis app.

    Agent feature codes answer "refused" here: the ACD runs only in `tvoxcc voice run`.
    """
    settings = settings_of(ctx)
    setup_logging(settings)
    asyncio.run(serve(settings))
