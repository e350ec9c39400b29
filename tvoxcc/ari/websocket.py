"""The ARI events websocket: typed events out, automatic reconnect in.

Auth is an ``Authorization: Basic`` header on the upgrade request (Asterisk's res_ari checks it
exactly like ``api_key``), so passwords with ``@ : % & #`` or non-ASCII work and never sit in a URL.
``only`` (the event types the consumer handles) is also set as the app's event filter in Asterisk after
every connect (a new websocket resets it): Asterisk then never sends the ~60 other events of a call
(variable sets, dial progress, bridge moves), which cost both sides more than the handling of the rest.
On any drop we yield ``Disconnected``, wait an exponential backoff with jitter (capped), reconnect
and yield ``Connected(reconnect=True)`` so the application can resync channels and bridges it may
have missed. A 401/403 is not retried: a wrong password never heals by itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

import aiohttp
import orjson

from tvoxcc.ari.errors import AriAuthError
from tvoxcc.ari.events import Connected, Disconnected, StreamItem, parse_event
from tvoxcc.backoff import Backoff, Retries

log = logging.getLogger(__name__)


def ws_url(ari_url: str) -> str:
    base = ari_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + "/ari/events"
    return "ws://" + base.removeprefix("http://") + "/ari/events"


DEFAULT_BACKOFF = Backoff(initial=0.5, factor=2.0, cap=30.0, jitter=0.25)


class AriEvents:
    """``async for item in AriEvents(...)`` yields ``Connected``, typed events and ``Disconnected``, forever."""

    def __init__(
        self,
        ari_url: str,
        user: str,
        password: str,
        app: str,
        *,
        subscribe_all: bool = False,
        only: frozenset[str] | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        heartbeat: float = 15.0,
        connect_timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.url = ws_url(ari_url)
        self.filter_url = f"{ari_url.rstrip('/')}/ari/applications/{quote(app, safe='')}/eventFilter"
        self.app = app
        self.subscribe_all = subscribe_all
        # Event types the consumer handles (None: all). Asterisk sends a dozen others per call (variable
        # sets, state changes, bridge moves); building typed events of them cost more than the handling.
        self.only = only
        self.backoff = backoff
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        # Heartbeat pings detect a silently dead peer (Asterisk killed -9, cable pulled).
        self._heartbeat = heartbeat
        self._connect_timeout = connect_timeout
        self._session = session
        self._retries = Retries(backoff, "ARI events", sleep=sleep, rng=rng)
        self._stop = asyncio.Event()  # cuts a backoff wait short on close()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False
        self.connects = 0

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def close(self) -> None:
        """Stop: the iterator ends after the current item."""
        self._closed = True
        self._stop.set()
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        return self._run()

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        params = {"app": self.app, "subscribeAll": "true" if self.subscribe_all else "false"}
        ws = await self._session.ws_connect(
            self.url,
            params=params,
            headers=self._headers,
            heartbeat=self._heartbeat,
            timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            max_msg_size=16 * 1024 * 1024,
        )
        try:
            await self._filter(self._session)
        except BaseException:
            await ws.close()  # cut short (the connect timeout): never left open behind us
            raise
        return ws

    async def _filter(self, session: aiohttp.ClientSession) -> None:
        """Ask Asterisk to send only the types in ``only`` (all of them when None: it may have been set before).

        A refusal (an Asterisk without event filters) costs nothing but speed: ``_read`` filters too.
        """
        allowed = [{"type": kind} for kind in sorted(self.only or ())]
        try:
            async with session.put(self.filter_url, json={"allowed": allowed}, headers=self._headers) as resp:
                if resp.status >= 300:
                    log.info("ARI events: the event filter was refused (%d); filtering here", resp.status)
        except (aiohttp.ClientError, OSError) as exc:
            log.info("ARI events: cannot set the event filter (%s); filtering here", exc)

    async def _run(self) -> AsyncIterator[StreamItem]:
        while not self._closed:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    ws = await self._connect()
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    raise AriAuthError("events websocket refused the ARI credentials", status=exc.status) from exc
                reason = f"handshake {exc.status}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                self._ws = ws
                self.connects += 1
                self._retries.reset()
                log.info("ARI events connected to %s app=%s", self.url, self.app)
                try:
                    yield Connected(application=self.app, reconnect=self.connects > 1)
                    reason = ""
                    async for item in self._read(ws):
                        yield item
                    reason = f"closed (code {ws.close_code})"
                    if ws.exception() is not None:
                        reason = f"{type(ws.exception()).__name__}: {ws.exception()}"
                finally:
                    self._ws = None
                    await ws.close()
                if self._closed:
                    return
                yield Disconnected(application=self.app, reason=reason)
            if self._closed:
                return
            await self._retries.wait(reason, self._stop)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncIterator[StreamItem]:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue  # BINARY never comes from Asterisk; CLOSE/ERROR end the loop themselves
            try:
                data = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                log.warning("ARI events: dropped a non-JSON message (%d bytes)", len(msg.data))
                continue
            if isinstance(data, dict) and (self.only is None or data.get("type") in self.only):
                yield parse_event(data)
