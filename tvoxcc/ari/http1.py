"""A small HTTP/1.1 keep-alive client for ARI's REST calls (the events websocket stays on aiohttp).

A call costs the voice service several ARI requests (answer, add to a bridge, originate, hang up, ...).
Each is a one-line request with an empty or small JSON body, answered by Asterisk with a Content-Length.
aiohttp's general machinery around such a request (URL objects, cookie jar, tracing hooks, multidict
headers, a timer per request) cost about ten times the request itself: ~135 µs of CPU against ~15 µs
here, measured on the lab Asterisk. So REST goes through this client: connections kept open in a pool
(at most ``max_connections`` at once, the others wait), each request written in one ``write``, the
answer read with its Content-Length (or chunked, or until the server closes). Each connection is a plain
``asyncio.Protocol`` (no StreamReader: the answer is parsed from the bytes as they arrive, and the request
waits on one future, its timeout one timer of the loop).

A pooled connection Asterisk closed meanwhile (its idle timeout, a restart) is found before it is reused
when the close has arrived; a connection idle longer than ``max_idle`` is not reused at all (Asterisk's
keep-alive lasts 15 s), and an idempotent request that finds its reused connection dead before any byte
of an answer is sent again once on a new one, as aiohttp does. Failures raise ``OSError``,
``TimeoutError``, ``asyncio.IncompleteReadError`` or ``ValueError`` (a malformed answer).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    body: bytes


class _Gone(Exception):
    """The connection was closed before any byte of the answer: safe to send an idempotent request again."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight, its answer parsed as its bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[Answer, bool]] | None = None
        self.method = ""
        self.closed = False
        self.last_used = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            self._answer(ended=False)

    def eof_received(self) -> bool:
        self._end()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def send(self, data: bytes, method: str) -> asyncio.Future[tuple[Answer, bool]]:
        """Write a request; the future gets its answer and whether the connection may be used again."""
        assert self.transport is not None
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        self.method = method
        self.buffer.clear()
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _end(self) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if not self.buffer:
                self.waiter.set_exception(_Gone())
            else:
                self._answer(ended=True)

    def _answer(self, *, ended: bool) -> None:
        assert self.waiter is not None
        try:
            parsed = _parse(self.buffer, self.method, ended)
        except (ValueError, asyncio.IncompleteReadError) as exc:
            self.waiter.set_exception(exc)
            return
        if parsed is not None:
            self.waiter.set_result(parsed)


def _parse(data: bytearray, method: str, ended: bool) -> tuple[Answer, bool] | None:
    """The answer in ``data`` and whether the connection is kept; None: not complete yet (``ended``: the server
    closed the connection, no more bytes will come)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > MAX_HEAD:
            raise ValueError("the answer's head is too long")
        if ended:
            raise asyncio.IncompleteReadError(bytes(data), None)
        return None
    status_line, *lines = data[:end].decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ValueError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(code)
    keep = headers.get("connection", "").lower() != "close" and version != "HTTP/1.0"
    start = end + 4
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        body: bytes | None = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked(data, start)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        body = bytes(data[start : start + length]) if len(data) >= start + length else None
    elif ended:
        body, keep = bytes(data[start:]), False  # until the server closes
    else:
        return None
    if body is None:
        if ended:
            raise asyncio.IncompleteReadError(bytes(data), None)
        return None
    return Answer(status, reason, body), keep and not ended


def _chunked(data: bytearray, at: int) -> bytes | None:
    """The body of a chunked answer from ``at``; None: its last chunk has not come yet."""
    parts: list[bytes] = []
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(data[at:line_end]).split(b";")[0].strip(), 16)
        at = line_end + 2
        if size == 0:
            while True:  # trailers, up to an empty line
                line_end = data.find(b"\r\n", at)
                if line_end < 0:
                    return None
                if line_end == at:
                    return b"".join(parts)
                at = line_end + 2
        if len(data) < at + size + 2:
            return None
        parts.append(bytes(data[at : at + size]))
        at += size + 2


class Http1Client:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        timeout: float = 10.0,
        max_connections: int = 32,
        max_idle: float = 5.0,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.prefix = url.path.rstrip("/")
        self._ssl = ssl.create_default_context() if url.scheme == "https" else None
        host = url.netloc.rpartition("@")[2]
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **headers}.items())
        self.timeout = timeout
        self.max_idle = max_idle
        self._free = max_connections  # requests that may start now; the others wait in line
        self._line: deque[asyncio.Future[None]] = deque()
        self._idle: list[_Connection] = []

    async def request(self, method: str, target: str, body: bytes | None = None, content_type: str = "") -> Answer:
        """``target``: the path below the base URL with its encoded query string."""
        head = f"{method} {self.prefix}{target} HTTP/1.1\r\n{self._fixed}"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        data = (head + f"Content-Length: {len(body or b'')}\r\n\r\n").encode("latin-1") + (body or b"")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        if self._free > 0 and not self._line:
            self._free -= 1
        else:
            await self._wait_in_line(loop, deadline)
        try:
            connection, reused = await self._take(deadline)
            try:
                return await self._exchange(connection, data, method, deadline)
            except _Gone:
                connection.close()
                if not reused or method not in IDEMPOTENT:
                    raise ConnectionResetError("the server closed the connection") from None
            except BaseException:
                connection.close()  # in an unknown state (a timeout, a malformed answer): never reused
                raise
            connection = await self._open(deadline)
            try:
                return await self._exchange(connection, data, method, deadline)
            except _Gone:
                connection.close()
                raise ConnectionResetError("the server closed the connection") from None
            except BaseException:
                connection.close()
                raise
        finally:
            self._next()

    async def _wait_in_line(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """All connections busy: wait until a request ends (``_next`` hands its turn on), within the timeout."""
        turn: asyncio.Future[None] = loop.create_future()
        self._line.append(turn)
        timer = loop.call_at(deadline, _expire, turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._next()  # handed a turn just as it was cancelled: to the next one
            raise
        finally:
            timer.cancel()

    def _next(self) -> None:
        while self._line:
            turn = self._line.popleft()
            if not turn.done():  # not timed out or cancelled meanwhile
                turn.set_result(None)
                return
        self._free += 1

    async def _take(self, deadline: float) -> tuple[_Connection, bool]:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.last_used < self.max_idle and not connection.closed:
                return connection, True
            connection.close()
        return await self._open(deadline), False

    async def _open(self, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(_Connection, self.host, self.port, ssl=self._ssl)
        _, connection = await asyncio.wait_for(connecting, max(deadline - loop.time(), 0.0))
        return connection

    async def _exchange(self, connection: _Connection, data: bytes, method: str, deadline: float) -> Answer:
        waiter = connection.send(data, method)
        timer = asyncio.get_running_loop().call_at(deadline, _expire, waiter)
        try:
            answer, keep = await waiter
        finally:
            timer.cancel()
        if keep and not connection.closed:
            connection.waiter = None
            connection.last_used = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        await asyncio.sleep(0)  # the transports' close callbacks run


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no answer within the timeout"))
