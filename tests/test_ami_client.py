"""AmiClient against a fake AMI server speaking the wire protocol: timeouts, login failure, reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from tvoxcc.ami import AmiActionError, AmiAuthError, AmiClient, AmiMessage, AmiTimeout, AmiUnavailable
from tvoxcc.config import AsteriskSettings, Settings

SECRET = "s3cr:et@#%"


class FakeAmi:
    def __init__(self) -> None:
        self.logins = 0
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", port)
        bound: int = self.server.sockets[0].getsockname()[1]
        return bound

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        await self.server.wait_closed()

    def kick(self) -> None:
        for w in self.writers:
            w.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                headers = dict(line.split(": ", 1) for line in block.decode().strip().split("\r\n") if ": " in line)
                headers = {k.lower(): v for k, v in headers.items()}
                if not await self.reply(headers, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def reply(self, h: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        aid = h.get("actionid", "")
        action = h.get("action", "").lower()

        def send(*lines: str) -> None:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

        if action == "login":
            if h.get("secret") != SECRET:
                send("Response: Error", f"ActionID: {aid}", "Message: Authentication failed")
                await writer.drain()
                return False  # Asterisk drops the session after a failed login
            self.logins += 1
            send("Response: Success", f"ActionID: {aid}", "Message: Authentication accepted")
            send("Event: FullyBooted", "Privilege: system,all", "Status: Fully Booted")
        elif action == "ping":
            send("Response: Success", f"ActionID: {aid}", "Ping: Pong")
        elif action == "command":
            send(
                "Response: Success",
                f"ActionID: {aid}",
                "Message: Command output follows",
                "Output: Asterisk 22.0.0 built by x",
                "Output: second line",
            )
        elif action == "silent":
            pass  # never answers
        elif action == "userevent":
            send("Response: Success", f"ActionID: {aid}")
            send("Event: UserEvent", "UserEvent: tvoxcc", f"Body: {h.get('body', '')}")
        elif action == "queuestatus":
            send("Response: Success", f"ActionID: {aid}", "EventList: start", "Message: Queue status will follow")
            send("Event: QueueParams", f"ActionID: {aid}", "Queue: sales")
            send("Event: QueueStatusComplete", f"ActionID: {aid}", "EventList: Complete", "ListItems: 1")
        else:
            send("Response: Error", f"ActionID: {aid}", "Message: Invalid/unknown command")
        await writer.drain()
        return True


def settings(port: int, secret: str = SECRET) -> Settings:
    return Settings(asterisk=AsteriskSettings(ami_port=port, ami_secret=SecretStr(secret)))


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAmi, int]]:
    f = FakeAmi()
    port = await f.start()
    yield f, port
    await f.stop()


@pytest.fixture
async def client(fake: tuple[FakeAmi, int]) -> AsyncIterator[AmiClient]:
    c = AmiClient(settings(fake[1]), action_timeout=1.0, reconnect_delay=0.1)
    await c.connect()
    yield c
    await c.close()


async def test_ping_command_and_eventlist(client: AmiClient) -> None:
    await client.ping()
    out = await client.command("core show version")
    assert out == "Asterisk 22.0.0 built by x\nsecond line"
    status = await client.action({"Action": "QueueStatus"})
    assert [e.name for e in status.events] == ["QueueParams", "QueueStatusComplete"]
    assert status.events[0]["queue"] == "sales" and status.events[0]["QUEUE"] == "sales"


async def test_error_response_raises(client: AmiClient) -> None:
    with pytest.raises(AmiActionError, match="Invalid/unknown command"):
        await client.action({"Action": "Bogus"})


async def test_action_timeout(client: AmiClient) -> None:
    # The action's own limit, not the client's 1 s default, is the one that fired.
    with pytest.raises(AmiTimeout, match=r"AMI Silent: no response in 0\.2s"):
        await client.action({"Action": "Silent"}, timeout=0.2)
    await client.ping()  # the link is still fine
    manager = client._manager
    assert manager is not None and not manager.protocol.responses  # the timed-out action is forgotten


async def test_wrong_secret_raises_and_does_not_retry(fake: tuple[FakeAmi, int]) -> None:
    f, port = fake
    c = AmiClient(settings(port, "wrong"), reconnect_delay=0.05)
    with pytest.raises(AmiAuthError) as info:  # the refusal itself, not a connect timeout
        await c.connect()
    assert "wrong" not in str(info.value)
    await asyncio.sleep(0.4)  # panoramisk alone would reconnect every 0.05 s here
    assert f.connections == 1
    with pytest.raises(AmiUnavailable):
        await c.ping()
    await c.close()


async def test_refused_raises_unavailable(unused_tcp_port: int) -> None:
    c = AmiClient(settings(unused_tcp_port), reconnect_delay=0.05)
    with pytest.raises(AmiUnavailable):
        await c.connect()
    await c.close()


async def test_events_typed_and_callback_errors_isolated(client: AmiClient) -> None:
    got: list[AmiMessage] = []
    done = asyncio.Event()

    def broken(_m: AmiMessage) -> None:
        raise RuntimeError("bug in callback")

    async def good(m: AmiMessage) -> None:
        got.append(m)
        done.set()

    client.on_event("UserEvent", broken)
    client.on_event("User*", good)
    await client.action({"Action": "UserEvent", "UserEvent": "tvoxcc", "Body": "hello"})
    await asyncio.wait_for(done.wait(), 2)
    assert got[0].name == "UserEvent" and got[0]["body"] == "hello"


async def test_reconnects_after_server_restart(fake: tuple[FakeAmi, int]) -> None:
    f, port = fake
    states: list[str] = []
    c = AmiClient(settings(port), reconnect_delay=0.1, action_timeout=1.0)
    c.on_state(states.append)
    await c.connect()
    await f.stop()  # Asterisk stops
    for _ in range(200):  # until the client has seen the link drop
        if not c.connected:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(AmiUnavailable):
        await c.ping()
    f2 = FakeAmi()
    await f2.start(port)  # ... and comes back on the same port
    try:
        for _ in range(50):
            if c.connected:
                break
            await asyncio.sleep(0.05)
        await c.ping()
        assert f2.logins == 1
        assert "disconnected" in states and states[-1] == "logged_in"
    finally:
        await c.close()
        await f2.stop()
