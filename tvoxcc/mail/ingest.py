"""Mail in: every new mail of an IMAP folder becomes a ticket message (or a stored rejection) exactly once.

Mails are stored in the same transaction that advances the folder's ``last_uid``: a crash or a cut
connection resumes after the last stored mail, never skipping one and never storing one twice;
Message-ID dedup covers a renumbered folder (new UIDVALIDITY) and the same mail in two folders.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.backoff import Backoff, Retries
from tvoxcc.chunking import packed
from tvoxcc.config import MailAccount
from tvoxcc.mail.imap import ImapFolder, mailbox_key
from tvoxcc.mail.parse import ParsedMail, parse_mail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support.mail_in import ingest_mails
from tvoxcc.support.tickets import IngestOutcome, Mailbox, TicketError

log = logging.getLogger(__name__)

# Mails per FETCH and per store transaction (one round trip and a fixed handful of statements per batch),
# and bytes per batch: two batches are in memory at once (one stored while the next is fetched).
BATCH_MAILS = 500
BATCH_BYTES = 32 * 1024 * 1024


def batches(sizes: dict[int, int], *, mails: int = BATCH_MAILS, size: int = BATCH_BYTES) -> list[list[int]]:
    """The UIDs in order, cut into batches of at most ``mails`` mails and ``size`` bytes (a bigger mail alone)."""
    return packed(sizes, sizes.__getitem__, max_count=mails, max_cost=size)


@dataclass
class IngestStats:
    new_tickets: int = 0
    added: int = 0
    duplicates: int = 0
    rejected: int = 0
    reconnects: int = 0

    def count(self, outcome: IngestOutcome) -> None:
        field = {"new-ticket": "new_tickets", "added": "added", "duplicate": "duplicates", "rejected": "rejected"}[
            outcome.action
        ]
        setattr(self, field, getattr(self, field) + 1)

    @property
    def stored(self) -> int:
        return self.new_tickets + self.added + self.rejected


def fetch_parsed(folder: ImapFolder, uids: list[int]) -> list[tuple[int, ParsedMail]]:
    """One FETCH for the UIDs, parsed, in UID order; a UID missing from the answer was expunged meanwhile."""
    raws = folder.fetch(uids)
    return [(uid, parse_mail(raws[uid])) for uid in uids if uid in raws]


async def resolve_mailbox(store: Store, account: MailAccount) -> Mailbox:
    async with store.session() as session:
        tenant = (await session.execute(select(m.Tenant).where(m.Tenant.name == account.tenant))).scalar_one_or_none()
        if tenant is None:
            raise TicketError(f"mail account {mailbox_key(account)}: unknown tenant {account.tenant!r}")
        service_id = (
            await session.execute(
                select(m.Service.id).where(m.Service.tenant_id == tenant.id, m.Service.name == account.service)
            )
        ).scalar_one_or_none()
        if service_id is None:
            raise TicketError(
                f"mail account {mailbox_key(account)}: tenant {account.tenant!r} has no service {account.service!r}"
            )
    return Mailbox(
        tenant.id,
        tenant.name,
        tenant.display_name or tenant.name,
        tenant.language,
        service_id,
        account.address,
        mailbox_key(account),
    )


class MailboxIngester:
    def __init__(
        self,
        store: Store,
        account: MailAccount,
        box: Mailbox,
        templates: MailTemplates,
        *,
        clock: Callable[[], datetime],
        poll_interval: float = 30.0,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 60.0,
    ) -> None:
        self.store, self.account, self.box, self.templates = store, account, box, templates
        self.clock = clock
        self.poll_interval = poll_interval
        self._retries = Retries(Backoff(initial=reconnect_delay, factor=2.0, cap=max_reconnect_delay), box.key)
        self.stats = IngestStats()
        self._thread_stop = threading.Event()

    async def _state(self, session: AsyncSession) -> m.MailboxState:
        found = (
            await session.execute(select(m.MailboxState).where(m.MailboxState.mailbox == self.box.key))
        ).scalar_one_or_none()
        if found is None:
            found = m.MailboxState(mailbox=self.box.key, updated_at=self.clock())
            session.add(found)
        return found

    async def sync_uidvalidity(self, uidvalidity: int) -> int:
        """The UID to resume after; a renumbered folder starts over (Message-ID dedup prevents doubles)."""
        async with self.store.tenant(self.box.tenant_id) as session:
            state = await self._state(session)
            if state.uidvalidity != uidvalidity:
                if state.uidvalidity:
                    log.warning(
                        "%s: UIDVALIDITY changed %d -> %d, rescanning", self.box.key, state.uidvalidity, uidvalidity
                    )
                state.uidvalidity, state.last_uid, state.updated_at = uidvalidity, 0, self.clock()
            last_uid = state.last_uid
            await session.commit()
            return last_uid

    async def store_batch(self, uidvalidity: int, parsed: list[tuple[int, ParsedMail]]) -> None:
        """Store a batch of mails and advance ``last_uid`` past them in one transaction (one fsync per batch).

        If any mail of the batch collides with a concurrent writer (a Message-ID or a contact's address
        stored meanwhile), the batch is rolled back and stored again one mail per transaction, where a
        retry sees the other write. Ticket numbers never collide: they come from the tenant's counter.
        """
        try:
            await self._store_parsed(uidvalidity, parsed)
        except IntegrityError:
            for one in parsed:
                for attempt in range(3):
                    try:
                        await self._store_parsed(uidvalidity, [one])
                        break
                    except IntegrityError:
                        if attempt == 2:
                            raise

    async def _store_parsed(self, uidvalidity: int, parsed: list[tuple[int, ParsedMail]]) -> None:
        async with self.store.tenant(self.box.tenant_id) as session:
            state = await self._state(session)
            if state.uidvalidity != uidvalidity:
                return  # renumbered meanwhile: the next pass starts over
            todo = [(uid, mail) for uid, mail in parsed if uid > state.last_uid]  # the rest: stored by an earlier pass
            if not todo:
                return
            # Progress first: the UPDATE takes the write lock (SQLite) or the row lock (PostgreSQL) before the
            # batch's lookups, so a concurrent writer cannot slip in between what it read and what it writes.
            state.last_uid, state.updated_at = todo[-1][0], self.clock()
            await session.flush()
            results = await ingest_mails(session, self.box, todo, now=self.clock(), templates=self.templates)
            await session.commit()
        for (uid, _), outcome in zip(todo, results, strict=True):
            self.stats.count(outcome)
            if outcome.action == "rejected":
                log.info("%s uid %d: no ticket: %s", self.box.key, uid, outcome.reason)

    async def catch_up(self, folder: ImapFolder, uidvalidity: int) -> int:
        """Store every mail after the last stored UID; returns how many UIDs were handled."""
        last_uid = await self.sync_uidvalidity(uidvalidity)
        sizes = await asyncio.to_thread(folder.sizes_after, last_uid)
        chunks = batches(sizes)
        # The next batch is fetched and parsed in the worker thread while this one is stored.
        fetching: asyncio.Future[list[tuple[int, ParsedMail]]] | None = None
        try:
            for index, chunk in enumerate(chunks):
                parsed = await (fetching or asyncio.ensure_future(asyncio.to_thread(fetch_parsed, folder, chunk)))
                fetching = None
                if index + 1 < len(chunks):
                    fetching = asyncio.ensure_future(asyncio.to_thread(fetch_parsed, folder, chunks[index + 1]))
                await self.store_batch(uidvalidity, parsed)
        finally:
            if fetching is not None:  # the caller closes the folder next: never under a running FETCH
                await asyncio.wait([fetching])
                if not fetching.cancelled():
                    fetching.exception()  # retrieved: the failure that matters is the one already raised
        return len(sizes)

    async def ingest_once(self) -> int:
        """Connect, store what is new, disconnect. For the CLI, the demo and tests."""
        folder = ImapFolder(self.account)
        try:
            uidvalidity = await asyncio.to_thread(folder.open)
            return await self.catch_up(folder, uidvalidity)
        finally:
            await asyncio.to_thread(folder.close)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: catch up, then IDLE (or poll) for news; reconnect with backoff on any failure."""
        while not stop.is_set():
            folder = ImapFolder(self.account)
            try:
                uidvalidity = await asyncio.to_thread(folder.open)
                self._retries.reset()
                while not stop.is_set():
                    await self.catch_up(folder, uidvalidity)
                    self._thread_stop.clear()
                    waiter = asyncio.create_task(
                        asyncio.to_thread(folder.wait_for_news, self.poll_interval, self._thread_stop)
                    )
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
                    self._thread_stop.set()
                    stopper.cancel()
                    await waiter
            except Exception as exc:
                if stop.is_set():
                    break
                self.stats.reconnects += 1
                await self._retries.wait(f"{type(exc).__name__}: {exc}", stop)
            finally:
                await asyncio.to_thread(folder.close)
