"""A small HTTP/1.1 keep-alive client for ARI's REST calls (the events websocket stays on aiohttp).

A call costs the voice service several ARI requests (answer, add to a bridge, originate, hang up, ...).
Each is a one-line request with an empty or small JSON body, answered by Asterisk with a Content-Length.
aiohttp's general machinery around such a request (URL objects, cookie jar, tracing hooks, multidict
headers, a timer per request) cost about ten times the request itself: ~135 µs of CPU against ~15 µs
here, measured on the lab Asterisk. So REST goes through this client: connections kept open in a pool
(at most ``max_connections`` at once, the others wait), each request written in one ``write``, the
answer read with its Content-Length (or chunked, or until the server closes).

A pooled connection Asterisk closed meanwhile (its idle timeout, a restart) is found before it is reused
when the close has arrived; a connection idle longer than ``max_idle`` is not reused at all (Asterisk's
keep-alive lasts 15 s), and an idempotent request that finds its reused connection dead before any byte
of an answer is sent again once on a new one, as aiohttp does. Failures raise ``OSError``,
``TimeoutError``, ``asyncio.IncompleteReadError`` or ``ValueError`` (a malformed answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    body: bytes


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        self.writer.close()


class _Gone(Exception):
    """The connection was closed before any byte of the answer: safe to send an idempotent request again."""


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
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []

    async def request(self, method: str, target: str, body: bytes | None = None, content_type: str = "") -> Answer:
        """``target``: the path below the base URL with its encoded query string."""
        head = f"{method} {self.prefix}{target} HTTP/1.1\r\n{self._fixed}"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        data = (head + f"Content-Length: {len(body or b'')}\r\n\r\n").encode("latin-1") + (body or b"")
        async with self._slots, asyncio.timeout(self.timeout):
            connection, reused = await self._take()
            try:
                return await self._exchange(connection, data, method)
            except _Gone:
                connection.close()
                if not reused or method not in IDEMPOTENT:
                    raise ConnectionResetError("the server closed the connection") from None
            except BaseException:
                connection.close()  # in an unknown state (a timeout, a malformed answer): never reused
                raise
            connection = await self._open()
            try:
                return await self._exchange(connection, data, method)
            except BaseException:
                connection.close()
                raise

    async def _take(self) -> tuple[_Connection, bool]:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.last_used < self.max_idle and not connection.reader.at_eof():
                return connection, True
            connection.close()
        return await self._open(), False

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self._ssl, limit=MAX_HEAD)
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, data: bytes, method: str) -> Answer:
        connection.writer.write(data)
        try:
            head = await connection.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _Gone from exc
            raise
        except ConnectionError as exc:
            raise _Gone from exc
        status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
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
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _chunked(connection.reader)
        elif "content-length" in headers:
            body = await connection.reader.readexactly(int(headers["content-length"]))
        else:
            body, keep = await connection.reader.read(), False  # until the server closes
        if keep:
            connection.last_used = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return Answer(status, reason, body)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        for connection in idle:
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
