"""`tvoxcc web run`: the wallboard, the JSON API and /metrics (support host, or any host with the store)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

import click
from aiohttp import web

from tvoxcc.admin.errors import AdminError
from tvoxcc.cli._common import open_store, settings_of
from tvoxcc.cli.voice import setup_logging
from tvoxcc.config import Settings

# After SIGTERM, requests still running get this long before they are cancelled (aiohttp's default is 60 s).
# Event streams do not count: the app ends them at once (tvoxcc.web.live.LiveHub.end_streams).
SHUTDOWN_TIMEOUT_S = 3.0


async def serve(settings: Settings, host: str, port: int) -> None:
    from tvoxcc.cluster import ServiceKind, beating
    from tvoxcc.mail.service import templates_for
    from tvoxcc.recordings.repository import Repository
    from tvoxcc.web.app import build_app

    async with open_store(settings) as store, beating(store, ServiceKind.WEB):
        runner = web.AppRunner(
            build_app(store, settings.web, recordings=Repository.of(settings), mail_templates=templates_for(settings)),
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                raise AdminError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
            if settings.web.secret is None:
                logging.getLogger(__name__).warning("[web] secret not set: a random one is used until restart")
            logging.getLogger(__name__).info("web: wallboard on http://%s:%d/", host, port)
            # What is loaded by now (modules, the app) lives as long as the process: out of every collection,
            # and out of the final one at exit, which alone took ~0.6 s of a stop on a busy 2-core host.
            gc.freeze()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
        finally:
            await runner.cleanup()


@click.group("web")
def web_group() -> None:
    """The web app: live wallboard, JSON API, Prometheus /metrics."""


@web_group.command("run")
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: [web] port, 8080).")
@click.pass_context
def run(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the wallboard and the API until SIGTERM."""
    settings = settings_of(ctx)
    setup_logging(settings)
    asyncio.run(serve(settings, host or settings.web.host, port or settings.web.port))
