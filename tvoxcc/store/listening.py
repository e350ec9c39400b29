"""One asyncpg connection kept LISTENing: made again after a loss, every channel listened to again.

A loss is seen two ways: asyncpg's termination listener (the server closed the socket: a restart, a failover,
``pg_terminate_backend``) and a cheap query every ``check_every_s`` with a short timeout, its first channel's
LISTEN again (a silent peer: a network cut closes nothing). NOTIFYs sent while it is down are gone, so
``on_back`` runs once it listens again (tvoxcc.store.notify.Wake: its poller reads at once; the chat hub has
its sockets replay by number). Reconnects wait out tvoxcc.backoff with jitter: the processes a restart cut
off do not all come back at once. Its retries are quiet: one warning when it is lost, one info line when back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.engine import URL

from tvoxcc.backoff import Backoff, Retries

log = logging.getLogger(__name__)

CHECK_EVERY_S = 10.0  # a silent peer is noticed within about this plus CHECK_TIMEOUT_S
CHECK_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 10.0
BACKOFF = Backoff(initial=0.25, factor=2.0, cap=15.0, jitter=0.5)


def asyncpg_dsn(url: URL) -> str:
    """The URL as asyncpg.connect takes it. SQLAlchemy's multi-host form (``?host=a:5432&host=b:5432``, a
    primary and its standby) becomes libpq's host list (``a:5432,b:5432``): asyncpg would keep only the last
    of repeated query parameters, and LISTEN on a standby fails."""
    hosts = url.query.get("host")
    if not hosts:
        return url.set(drivername="postgresql").render_as_string(False)
    rest = {key: value for key, value in url.query.items() if key != "host"}
    auth = ""
    if url.username:
        auth = quote(url.username, safe="") + (f":{quote(url.password, safe='')}" if url.password else "") + "@"
    listed = ",".join((hosts,) if isinstance(hosts, str) else hosts)
    query = urlencode(rest, doseq=True)
    return f"postgresql://{auth}{listed}/{quote(url.database or '')}" + (f"?{query}" if query else "")


class Listening:
    """``channels``: each channel's asyncpg listener callback. ``name`` says which in the log (never the DSN)."""

    def __init__(
        self,
        dsn: str,
        channels: Mapping[str, Callable[..., None]],
        name: str,
        on_back: Callable[[], None],
        check_every_s: float = CHECK_EVERY_S,
    ) -> None:
        self._dsn = dsn
        self._channels = dict(channels)
        self._name = name
        self._on_back = on_back
        self._check_every_s = check_every_s
        self._check = 'LISTEN "{}"'.format(next(iter(self._channels)).replace('"', '""'))
        self._conn: Any = None
        self._lost = asyncio.Event()  # set by the termination listener of the current connection
        self._task: asyncio.Task[None] | None = None
        self._down = ""  # why the first connection failed (said by the first retry)

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def start(self) -> None:
        """Connect now, then keep it connected in the background (also when this first try failed)."""
        try:
            await self._connect()
        except Exception as exc:
            self._down = f"cannot connect ({type(exc).__name__}), polling until it can"
        self._task = asyncio.create_task(self._keep(), name=f"listen-{self._name}")

    async def close(self) -> None:
        """Stop reconnecting and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a silent peer: asyncpg aborts it after the timeout
                await conn.close(timeout=CHECK_TIMEOUT_S)

    async def _connect(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S)
        try:
            for channel, callback in self._channels.items():
                await conn.add_listener(channel, callback)
        except BaseException:  # a standby refuses LISTEN: this try failed, the next may find the primary
            conn.terminate()
            raise
        lost = self._lost = asyncio.Event()  # one per connection: an old one's late call sets only its own
        conn.add_termination_listener(lambda _conn: lost.set())
        self._conn = conn

    async def _keep(self) -> None:
        # Quiet: the first retry of a loss says why (a warning), the next ones only at debug, and once it listens
        # again one info line says after how many tries.
        retries = Retries(BACKOFF, f"LISTEN on {self._name}", quiet=True)
        reason = self._down
        while True:
            if self._conn is not None:
                reason = f"lost ({await self._watch()}), polling until it is back"
                conn, self._conn = self._conn, None
                conn.terminate()
            while self._conn is None:
                await retries.wait(reason)
                try:
                    await self._connect()
                except Exception as exc:
                    reason = f"still cannot connect ({type(exc).__name__})"
            retries.reset()
            try:
                self._on_back()
            except Exception as exc:  # a failing catch-up must not stop the listening
                log.warning("catching up after LISTEN on %s failed: %s: %s", self._name, type(exc).__name__, exc)

    async def _watch(self) -> str:
        """Wait until the connection is lost; why."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_every_s):
                    await self._lost.wait()
                    return "connection closed"
            try:  # a LISTEN it made already: a round trip that changes nothing, and pg_stat_activity keeps
                # showing the connection's last query as a LISTEN (how an operator finds the listeners)
                await self._conn.execute(self._check, timeout=min(CHECK_TIMEOUT_S, self._check_every_s))
            except Exception as exc:
                return f"no answer: {type(exc).__name__}"
