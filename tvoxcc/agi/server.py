"""FastAGI server: our own asyncio loop, panoramisk's faults fixed by construction.

panoramisk 1.4's ``fast_agi.Application`` has three faults this module avoids:

(a) ``handler`` loops ``buffer += await reader.read(100)`` until ``b"\\n\\n"``; a client that closes
    before the blank line makes ``read`` return ``b""`` forever: 100 % CPU per dead socket.
    Here ``read_headers`` treats EOF as the end of the request, under a header timeout.
(b) ``add_route`` wraps plain functions with ``asyncio.coroutine``, removed in Python 3.11: an
    ``AttributeError`` at startup. Here routes must be ``async def``; anything else is a
    ``TypeError`` at ``add_route`` time (a blocking function would stall every call anyway).
(c) ``Request.send_command`` parses an empty reply (Asterisk dropped mid-command) with
    ``int('')``: ``ValueError``. Here EOF, ``HANGUP`` and ``511`` raise ``AgiHangup``, which ends
    the request quietly.

Every request ends with the socket closed and at most one log line for anything abnormal
(unknown route, junk, timeout, hangup, handler crash); the server keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping

from tvoxcc.agi.errors import AgiCommandError, AgiError, AgiHangup, AgiProtocolError, AgiTimeout
from tvoxcc.agi.protocol import read_headers, split_script
from tvoxcc.agi.request import AgiRequest
from tvoxcc.config import Settings

log = logging.getLogger(__name__)

Handler = Callable[[AgiRequest], Awaitable[None]]

# Asterisk header lines are < 1 KiB; a bigger line is junk, not a reason to buffer megabytes.
STREAM_LIMIT = 16 * 1024


def _is_async(handler: object) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(type(handler).__call__)


class AgiServer:
    def __init__(
        self,
        *,
        header_timeout: float = 5.0,
        command_timeout: float = 30.0,
    ) -> None:
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self._routes: dict[str, Handler] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def add_route(self, path: str, handler: Handler) -> None:
        """Route ``agi://host:port/<path>`` to ``async def handler(request) -> None``."""
        if not _is_async(handler):
            raise TypeError(f"AGI route {path!r}: handler must be an async function, got {handler!r}")
        key = path.strip("/")
        if key in self._routes:
            raise ValueError(f"AGI route {key!r} already exists")
        self._routes[key] = handler

    @property
    def active(self) -> int:
        """Connections being served right now (tests and health checks)."""
        return len(self._tasks)

    @property
    def routes(self) -> Mapping[str, Handler]:
        return dict(self._routes)

    async def start(self, host: str = "127.0.0.1", port: int = 4573) -> None:
        self._server = await asyncio.start_server(self._accept, host, port, limit=STREAM_LIMIT)
        log.info("FastAGI listening on %s:%d (%d routes)", host, self.port, len(self._routes))

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("AGI server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def serve_forever(self) -> None:
        if self._server is None:
            raise RuntimeError("AGI server is not started")
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            async with asyncio.timeout(self.header_timeout):
                headers = await read_headers(reader)
        except TimeoutError:
            log.warning("AGI %s: no complete header block within %gs, closing", peer, self.header_timeout)
            return
        except AgiProtocolError as exc:
            log.warning("AGI %s: %s, closing", peer, exc)
            return
        except (ConnectionError, OSError) as exc:
            log.warning("AGI %s: connection error while reading headers: %s", peer, type(exc).__name__)
            return
        script = headers.get("agi_network_script")
        if script is None:
            log.warning("AGI %s: no agi_network_script header (not a FastAGI request), closing", peer)
            return
        path, _ = split_script(script)
        handler = self._routes.get(path)
        if handler is None:
            log.warning("AGI %s: unknown route %r (channel %s), closing", peer, path, headers.get("agi_channel", "?"))
            return
        request = AgiRequest(headers, reader, writer, command_timeout=self.command_timeout)
        try:
            await handler(request)
        except AgiHangup as exc:
            log.info("AGI %s %s: hangup (%s)", path, request.channel, exc)
        except AgiTimeout as exc:
            log.warning("AGI %s %s: %s", path, request.channel, exc)
        except (AgiCommandError, AgiProtocolError, AgiError) as exc:
            log.warning("AGI %s %s: %s: %s", path, request.channel, type(exc).__name__, exc)
        except Exception:
            log.exception("AGI %s %s: route failed", path, request.channel)


async def ping(request: AgiRequest) -> None:
    """Built-in route proving the dialplan -> FastAGI link: sets TVOXCC_PING=pong on the channel."""
    await request.set_variable("TVOXCC_PING", "pong")
    await request.verbose(f"tvoxcc AGI ping ok for {request.channel}", 1)


def build_server(settings: Settings, routes: Mapping[str, Handler] | None = None) -> AgiServer:
    server = AgiServer(command_timeout=settings.agi.request_timeout)
    server.add_route("ping", ping)
    for path, handler in (routes or {}).items():
        server.add_route(path, handler)
    return server


async def serve(settings: Settings, routes: Mapping[str, Handler] | None = None) -> None:
    """Run the FastAGI server on ``settings.agi.host:port`` until cancelled (routes + built-in ``ping``)."""
    server = build_server(settings, routes)
    await server.start(settings.agi.host, settings.agi.port)
    try:
        await server.serve_forever()
    finally:
        await server.close()
