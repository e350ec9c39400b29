"""The keep-alive HTTP/1.1 client of ARI's REST calls, against real sockets: reuse, answers of every framing,
a server that closes idle connections, timeouts, and at most N requests at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvloop

from tvoxcc.ari.http1 import Http1Client

Handler = Callable[[bytes], Awaitable[bytes | None]]  # request head -> raw answer (None: close the connection)


class Server:
    """A raw HTTP server: each connection reads request heads and writes what ``handler`` returns."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), 0
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                answer = await self.handler(head)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def started(handler: Handler) -> tuple[Server, asyncio.Server, str]:
    server = Server(handler)
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    return server, listening, f"http://127.0.0.1:{port}/ari"


def ok(body: bytes = b'{"ok":true}', extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@pytest.fixture
async def plain() -> AsyncIterator[tuple[Server, Http1Client]]:
    async def answer(_: bytes) -> bytes:
        return ok()

    server, listening, url = await started(answer)
    client = Http1Client(url, {"Authorization": "Basic eDp5"}, timeout=5)
    yield server, client
    await client.close()
    listening.close()


async def test_requests_reuse_one_connection_and_carry_the_fixed_headers(plain: tuple[Server, Http1Client]) -> None:
    server, client = plain
    for _ in range(5):
        answer = await client.request("POST", "/channels/c1/answer")
        assert (answer.status, answer.reason, answer.body) == (200, "OK", b'{"ok":true}')
    body = await client.request("PUT", "/x?a=1", b'{"v":1}', "application/json")
    assert body.status == 200
    assert server.connections == 1
    first, last = server.requests[0], server.requests[-1]
    assert first.startswith(b"POST /ari/channels/c1/answer HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Basic eDp5\r\n" in first and b"\r\nHost: 127.0.0.1:" in first
    assert last.startswith(b"PUT /ari/x?a=1 HTTP/1.1\r\n") and last.endswith(b'\r\n\r\n{"v":1}')
    assert b"\r\nContent-Type: application/json\r\n" in last


async def test_many_at_once_use_at_most_the_pool_s_connections() -> None:
    gate = asyncio.Event()

    async def slow(_: bytes) -> bytes:
        await gate.wait()
        return ok()

    server, listening, url = await started(slow)
    client = Http1Client(url, {}, timeout=5, max_connections=3)
    requests = [asyncio.create_task(client.request("GET", f"/r{i}")) for i in range(10)]
    await asyncio.sleep(0.2)
    assert server.connections == 3  # the other seven wait for one of them
    gate.set()
    assert [a.status for a in await asyncio.gather(*requests)] == [200] * 10
    assert server.connections == 3
    await client.close()
    listening.close()


@pytest.mark.parametrize(
    ("raw", "body", "reused"),
    [
        (b"HTTP/1.1 204 No Content\r\n\r\n", b"", True),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nRIFF\r\n3;x=1\r\n-wa\r\n0\r\n\r\n",
            b"RIFF-wa",
            True,
        ),
        (ok(b"bye", "Connection: close\r\n"), b"bye", False),
    ],
)
async def test_every_framing_of_an_answer_is_read(raw: bytes, body: bytes, reused: bool) -> None:
    async def answer(_: bytes) -> bytes:
        return raw

    server, listening, url = await started(answer)
    client = Http1Client(url, {}, timeout=5)
    assert (await client.request("GET", "/x")).body == body
    assert (await client.request("GET", "/x")).body == body
    assert server.connections == (1 if reused else 2)
    await client.close()
    listening.close()


async def test_an_answer_until_the_server_closes() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 500 Internal Server Error\r\n\r\nboom")
        writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    client = Http1Client(f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}", {}, timeout=5)
    answer_ = await client.request("GET", "/x")
    assert (answer_.status, answer_.reason, answer_.body) == (500, "Internal Server Error", b"boom")
    await client.close()
    listening.close()


async def test_a_connection_the_server_closed_is_not_reused_and_only_idempotent_requests_are_sent_again() -> None:
    drops: list[bytes] = []  # the requests the server closed the connection on instead of answering

    async def answer(head: bytes) -> bytes | None:
        if b"/drop" in head and len(drops) % 2 == 0:  # every other one: a first try is dropped, a retry answered
            drops.append(head)
            return None
        if b"/drop" in head:
            drops.append(head)
        return ok()

    server, listening, url = await started(answer)
    client = Http1Client(url, {}, timeout=5)
    await client.request("GET", "/a")
    server.writers[-1].close()  # Asterisk's keep-alive ran out
    await asyncio.sleep(0.1)
    assert (await client.request("POST", "/b")).status == 200  # the close was seen: a new connection
    assert server.connections == 2
    # Closed while the request was on its way (nothing answered): an idempotent one goes again, on a new one.
    assert (await client.request("DELETE", "/drop")).status == 200
    assert len(drops) == 2 and server.connections == 3
    # ... a POST does not (it may have been carried out: the caller decides).
    with pytest.raises(ConnectionResetError):
        await client.request("POST", "/drop")
    assert len(drops) == 3
    # ... nor anything on a new connection: that server is really not answering.
    drops.clear()
    with pytest.raises(ConnectionResetError):
        await client.request("GET", "/drop")
    assert len(drops) == 1
    await client.close()
    listening.close()


async def test_a_server_that_does_not_answer_times_out() -> None:
    async def never(_: bytes) -> bytes:
        await asyncio.sleep(30)
        return ok()

    _, listening, url = await started(never)
    client = Http1Client(url, {}, timeout=0.3)
    with pytest.raises(TimeoutError):
        await client.request("GET", "/x")
    await client.close()
    listening.close()


async def test_a_garbled_answer_is_an_error_not_a_hang() -> None:
    async def garbled(_: bytes) -> bytes:
        return b"SSH-2.0-OpenSSH\r\n\r\n"

    _, listening, url = await started(garbled)
    client = Http1Client(url, {}, timeout=5)
    with pytest.raises(ValueError, match="not an HTTP"):
        await client.request("GET", "/x")
    await client.close()
    listening.close()


def test_on_uvloop_as_voice_run_uses_it() -> None:
    async def main() -> list[int]:
        async def answer(_: bytes) -> bytes:
            return ok()

        server, listening, url = await started(answer)
        client = Http1Client(url, {}, timeout=5)
        statuses = [(await client.request("GET", f"/r{i}")).status for i in range(3)]
        assert server.connections == 1
        await client.close()
        listening.close()
        return statuses

    assert uvloop.run(main()) == [200, 200, 200]


async def test_a_request_cancelled_while_waiting_for_a_busy_pool_is_never_sent_and_the_pool_still_serves() -> None:
    gate = asyncio.Event()

    async def slow(head: bytes) -> bytes:
        if b"/slow" in head:
            await gate.wait()
        return ok()

    server, listening, url = await started(slow)
    client = Http1Client(url, {}, timeout=5, max_connections=1)
    busy = asyncio.create_task(client.request("GET", "/slow"))
    await asyncio.sleep(0.1)
    waiting = asyncio.create_task(client.request("GET", "/waits"))
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.set()
    assert (await busy).status == 200
    assert (await client.request("GET", "/next")).status == 200  # the cancelled one's turn was not lost
    assert [r.split(b" ")[1] for r in server.requests] == [b"/ari/slow", b"/ari/next"]
    await client.close()
    listening.close()
