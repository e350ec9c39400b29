"""FastAGI server over raw sockets: the happy path and every way a peer can misbehave."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from tvoxcc.agi import AgiCommandError, AgiHangup, AgiRequest, AgiServer, AgiTimeout, ping


def headers(script: str, **extra: str) -> bytes:
    lines = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1/{script}",
        "agi_channel": "PJSIP/caller-00000001",
        "agi_uniqueid": "1700000000.1",
        "agi_callerid": "0612345678",
        "agi_context": "tvoxcc-test",
        "agi_extension": "ping",
        **extra,
    }
    return "".join(f"{k}: {v}\n" for k, v in lines.items()).encode() + b"\n"


class Recorder:
    def __init__(self) -> None:
        self.outcomes: list[object] = []
        self.done = asyncio.Event()

    async def __call__(self, request: AgiRequest) -> None:
        try:
            out: list[object] = [request.path, request.args, request.query]
            await request.set_variable("A", 'v "1"')
            out.append(await request.get_variable("B"))
            out.append(await request.get_variable("C"))
            out.append(await request.stream_file("hello-world", "0123456789#"))
            out.append(await request.get_data("enter-number", 3000, 4))
            self.outcomes.append(out)
        except Exception as exc:
            self.outcomes.append(exc)
            raise
        finally:
            self.done.set()


@pytest.fixture
async def server() -> AsyncIterator[tuple[AgiServer, Recorder]]:
    rec = Recorder()
    srv = AgiServer(header_timeout=0.3, command_timeout=0.5)
    srv.add_route("ping", ping)
    srv.add_route("rec", rec)
    await srv.start("127.0.0.1", 0)
    yield srv, rec
    await srv.close()


async def connect(srv: AgiServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", srv.port)


async def expect_closed(reader: asyncio.StreamReader) -> None:
    async with asyncio.timeout(10):  # a hang guard only: the server closes within its header timeout
        assert await reader.read() == b""


async def run_ping(srv: AgiServer) -> None:
    reader, writer = await connect(srv)
    writer.write(headers("ping"))
    async with asyncio.timeout(2):
        assert await reader.readline() == b'SET VARIABLE TVOXCC_PING "pong"\n'
        writer.write(b"200 result=1\n")
        assert (await reader.readline()).startswith(b'VERBOSE "tvoxcc AGI ping ok for PJSIP/caller-00000001" 1')
        writer.write(b"200 result=1\n")
    await expect_closed(reader)
    writer.close()


async def test_ping_route(server: tuple[AgiServer, Recorder]) -> None:
    await run_ping(server[0])


async def test_full_conversation(server: tuple[AgiServer, Recorder]) -> None:
    srv, rec = server
    reader, writer = await connect(srv)
    writer.write(headers("rec?tenant=acme", agi_arg_1="acme", agi_arg_2="sales"))
    replies = {
        b'SET VARIABLE A "v \\"1\\""\n': b"100 result=0 Trying...\n200 result=1\n",
        b"GET VARIABLE B\n": b"200 result=1 (hello world)\n",
        b"GET VARIABLE C\n": b"200 result=0\n",
        b'STREAM FILE hello-world "0123456789#"\n': b"200 result=53 endpos=1234\n",
        b"GET DATA enter-number 3000 4\n": b"200 result=12 (timeout)\n",
    }
    async with asyncio.timeout(3):
        for expected, reply in replies.items():
            assert await reader.readline() == expected
            writer.write(reply)
    await expect_closed(reader)
    writer.close()
    assert rec.outcomes == [["rec", ("acme", "sales"), {"tenant": "acme"}, "hello world", None, "5", "12"]]


def test_plain_function_route_is_rejected() -> None:
    def sync_route(request: AgiRequest) -> None:
        pass

    srv = AgiServer()
    with pytest.raises(TypeError, match="async"):
        srv.add_route("sync", sync_route)  # type: ignore[arg-type]
    srv.add_route("ok", ping)
    with pytest.raises(ValueError):
        srv.add_route("/ok/", ping)


@pytest.mark.parametrize(
    ("payload", "log_part"),
    [
        (b"agi_network: yes\nagi_channel: X\n\n", "no agi_network_script"),
        (b"\n\n\n\n", "empty header block"),
        (b"\x00\xff\xfeGET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an agi_ header"),
        (b"agi_network: yes\n" + b"x" * 20000 + b"\n\n", "too long"),
        (headers("nowhere"), "unknown route 'nowhere'"),
    ],
)
async def test_bad_requests_close_with_one_log_line(
    server: tuple[AgiServer, Recorder], caplog: pytest.LogCaptureFixture, payload: bytes, log_part: str
) -> None:
    srv, _ = server
    caplog.set_level(logging.INFO, logger="tvoxcc.agi")
    reader, writer = await connect(srv)
    writer.write(payload)
    await expect_closed(reader)
    writer.close()
    await asyncio.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("tvoxcc.agi")]
    assert len(lines) == 1 and log_part in lines[0], lines
    await run_ping(srv)  # still serving


async def test_slow_client_header_timeout(server: tuple[AgiServer, Recorder], caplog: pytest.LogCaptureFixture) -> None:
    srv, _ = server
    caplog.set_level(logging.WARNING, logger="tvoxcc.agi")
    reader, writer = await connect(srv)
    writer.write(b"agi_network: yes\n")  # ... and never the rest
    await expect_closed(reader)
    writer.close()
    # Closed by the server's header timeout (its own 0.3 s), not by anything else.
    assert any("no complete header block within 0.3s" in r.getMessage() for r in caplog.records)


async def test_thousand_abrupt_closes_do_not_spin(server: tuple[AgiServer, Recorder]) -> None:
    """panoramisk spins at 100 % CPU per socket closed before the blank line: its handler re-reads EOF forever
    and never ends. Ours must all end, leaving no task behind."""
    srv, _ = server
    tasks_before = len(asyncio.all_tasks())

    async def abrupt(i: int) -> None:
        _, writer = await connect(srv)
        writer.write(b"agi_network: yes\nagi_network_script: pi" if i % 2 else b"")
        await writer.drain()
        writer.transport.abort()  # RST-style close, no blank line

    for batch in range(10):
        await asyncio.gather(*(abrupt(batch * 100 + i) for i in range(100)))
    for _ in range(1000):  # every handler must end (not be stuck re-reading EOF)
        if not srv.active:
            break
        await asyncio.sleep(0.01)
    assert srv.active == 0
    assert len(asyncio.all_tasks()) == tasks_before  # no stray task left looping either
    await run_ping(srv)


async def test_drop_mid_command_is_a_hangup(server: tuple[AgiServer, Recorder]) -> None:
    srv, rec = server
    reader, writer = await connect(srv)
    writer.write(headers("rec"))
    assert (await reader.readline()).startswith(b"SET VARIABLE A")
    writer.transport.abort()  # Asterisk gone with the command unanswered: panoramisk's int('')
    await asyncio.wait_for(rec.done.wait(), 2)
    assert isinstance(rec.outcomes[0], AgiHangup)
    await run_ping(srv)


@pytest.mark.parametrize(
    ("reply", "exc"),
    [
        (b"HANGUP\n", AgiHangup),
        (b"511 Command Not Permitted on a dead channel or intercept routine\n", AgiHangup),
        (b"510 Invalid or unknown command\n", AgiCommandError),
        (
            b"520-Invalid command syntax.  Proper usage follows:\nUsage: SET VARIABLE\n520 End of proper usage.\n",
            AgiCommandError,
        ),
        (b"", AgiTimeout),  # silence: the per-command timeout fires
        (b"200 result=1", AgiHangup),  # half a line then EOF
    ],
)
async def test_error_replies(server: tuple[AgiServer, Recorder], reply: bytes, exc: type[Exception]) -> None:
    srv, rec = server
    reader, writer = await connect(srv)
    writer.write(headers("rec"))
    assert (await reader.readline()).startswith(b"SET VARIABLE A")
    writer.write(reply)
    if reply == b"200 result=1":
        writer.write_eof()
    await asyncio.wait_for(rec.done.wait(), 3)
    assert isinstance(rec.outcomes[0], exc), rec.outcomes
    await expect_closed(reader)
    writer.close()


async def test_route_crash_is_logged_and_server_survives(caplog: pytest.LogCaptureFixture) -> None:
    async def boom(request: AgiRequest) -> None:
        raise RuntimeError("bug in route")

    srv = AgiServer()
    srv.add_route("boom", boom)
    srv.add_route("ping", ping)
    await srv.start("127.0.0.1", 0)
    try:
        caplog.set_level(logging.ERROR, logger="tvoxcc.agi")
        reader, writer = await connect(srv)
        writer.write(headers("boom"))
        await expect_closed(reader)
        writer.close()
        assert any("route failed" in r.getMessage() for r in caplog.records)
        await run_ping(srv)
    finally:
        await srv.close()
