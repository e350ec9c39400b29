"""300 mails while the IMAP connection is cut at random points and the ingester crashes once: each mail once."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.servers.dovecot import SUPPORT_ADDRESS, LabDovecot, account_for, dovecot_or_missing, seed_acme
from tvoxcc.config import MailAccount
from tvoxcc.mail.ingest import MailboxIngester, resolve_mailbox
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.store.types import utcnow
from tvoxcc.support.tickets import Mailbox

TOTAL = 300


class CuttingProxy:
    """A TCP proxy to Dovecot that drops each connection after a random number of server bytes.

    After ``max_cuts`` it stops cutting, so the test always finishes; the cuts land anywhere: in
    LOGIN, SELECT, SEARCH, the middle of a FETCH literal, or IDLE.
    """

    def __init__(self, target_port: int, *, seed: int, max_cuts: int = 25) -> None:
        self.target_port = target_port
        self.random = random.Random(seed)
        self.max_cuts = max_cuts
        self.cuts = 0
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        budget = self.random.randint(100, 6_000) if self.cuts < self.max_cuts else None

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: bool) -> None:
            nonlocal budget
            while data := await reader.read(4096):
                if counted and budget is not None:
                    if len(data) >= budget:
                        writer.write(data[: self.random.randint(0, budget)])
                        self.cuts += 1
                        raise ConnectionAbortedError
                    budget -= len(data)
                writer.write(data)
                await writer.drain()

        tasks = [
            asyncio.create_task(pump(server_r, client_w, True)),
            asyncio.create_task(pump(client_r, server_w, False)),
        ]
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for writer in (client_w, server_w):
            writer.close()


@pytest.fixture
def dovecot() -> Iterator[LabDovecot]:
    server = dovecot_or_missing({"support": "pw-cut"})
    yield server
    server.stop()


def mail(i: int) -> bytes:
    return (
        f"From: customer{i % 37}@example.com\r\nTo: {SUPPORT_ADDRESS}\r\nSubject: question {i}\r\n"
        f"Message-ID: <q{i}@example.com>\r\n\r\nQuestion number {i}.\r\n"
    ).encode()


async def wait_until_stored(store: Store, tenant_id: int, count: int, within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        async with store.tenant(tenant_id) as session:
            if (await session.execute(select(func.count()).select_from(m.TicketMessage))).scalar_one() >= 2 * count:
                return  # every inbound mail plus its acknowledgement
        await asyncio.sleep(0.1)
    raise TimeoutError(f"fewer than {count} mails stored after {within}s")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # One backend is enough here: the property under test is the IMAP side; both stores run the flow tests.
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    upgrade(url)
    return url


async def test_cut_connections_and_a_crash_store_each_mail_once(sqlite_url: str, dovecot: LabDovecot) -> None:
    store = Store.from_url(sqlite_url)
    tenant_id = await seed_acme(store)
    proxy = CuttingProxy(dovecot.port, seed=7)
    await proxy.start()
    account = account_for(dovecot).model_copy(update={"imap_port": proxy.port})
    box = await resolve_mailbox(store, account)

    def ingester() -> MailboxIngester:
        return MailboxIngester(
            store,
            account,
            box,
            MailTemplates(),
            clock=utcnow,
            poll_interval=5,
            reconnect_delay=0.01,
            max_reconnect_delay=0.05,
        )

    dovecot.deliver("support", [mail(i) for i in range(TOTAL // 2)])
    stop = asyncio.Event()
    first = ingester()
    task = asyncio.create_task(first.run(stop))
    await wait_until_stored(store, tenant_id, 60, within=20)
    task.cancel()  # a crash: whatever was in flight is lost, the stored progress is not
    with contextlib.suppress(asyncio.CancelledError):
        await task

    second = ingester()
    task = asyncio.create_task(second.run(stop))
    for start in range(TOTAL // 2, TOTAL, 25):  # the rest arrives while it IDLEs
        await asyncio.to_thread(dovecot.deliver, "support", [mail(i) for i in range(start, start + 25)])
    await wait_until_stored(store, tenant_id, TOTAL, within=25)
    stop.set()
    await asyncio.wait_for(task, 10)
    await proxy.stop()

    async with store.tenant(tenant_id) as session:
        inbound = (
            (await session.execute(select(m.TicketMessage.message_id).where(m.TicketMessage.kind == "inbound")))
            .scalars()
            .all()
        )
        outbox = (await session.execute(select(func.count()).select_from(m.OutboxMail))).scalar_one()
        state = (await session.execute(select(m.MailboxState))).scalar_one()
    await store.dispose()
    assert sorted(inbound) == sorted(f"<q{i}@example.com>" for i in range(TOTAL))
    assert outbox == TOTAL and state.last_uid == TOTAL
    assert proxy.cuts >= 5 and first.stats.reconnects + second.stats.reconnects >= 5
    assert second.stats.duplicates == 0  # resumed after the last stored UID, never re-read a stored mail


async def test_stop_during_a_reconnect_delay_ends_the_ingester(sqlite_url: str, unused_tcp_port: int) -> None:
    """An IMAP server that refuses: the ingester waits an hour between tries, yet stops as soon as asked."""
    store = Store.from_url(sqlite_url)
    account = MailAccount(
        tenant="acme", service="support", imap_host="127.0.0.1", imap_port=unused_tcp_port, imap_user="u",
        imap_password="p", imap_tls="none", address=SUPPORT_ADDRESS,
    )  # fmt: skip
    box = Mailbox(1, "acme", "ACME", "en", None, SUPPORT_ADDRESS, "acme/support")
    ingester = MailboxIngester(store, account, box, MailTemplates(), clock=utcnow, reconnect_delay=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(ingester.run(stop))
    for _ in range(200):  # the first refusal (at most 10 s)
        if ingester.stats.reconnects:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 10)  # not an hour
    await store.dispose()
    assert ingester.stats.reconnects == 1
