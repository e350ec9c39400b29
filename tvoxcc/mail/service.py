"""The Support host's mail service: ingest every configured mailbox and drain the outbox until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from pathlib import Path

from tvoxcc.config import Settings
from tvoxcc.mail.ingest import IngestStats, MailboxIngester, resolve_mailbox
from tvoxcc.mail.outbox import DrainResult, MailSender, drain_outbox
from tvoxcc.mail.ratelimit import SenderLimit
from tvoxcc.mail.smtp import SmtpSender
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow

log = logging.getLogger(__name__)


def templates_for(settings: Settings) -> MailTemplates:
    """Packaged templates, overridden by <data_dir>/mail-templates/<tenant|default>/[<lang>/]<name>.txt.j2."""
    return MailTemplates([Path(settings.data_dir) / "mail-templates"])


async def ingesters_for(settings: Settings, store: Store, *, poll_interval: float = 30.0) -> list[MailboxIngester]:
    templates = templates_for(settings)
    mail = settings.mail
    limit = SenderLimit(mail.sender_limit, mail.sender_window_minutes) if mail.sender_limit else None
    return [
        MailboxIngester(
            store,
            account,
            dataclasses.replace(await resolve_mailbox(store, account), sender_limit=limit),
            templates,
            clock=utcnow,
            poll_interval=poll_interval,
        )
        for account in settings.mail.accounts
    ]


async def run_once(
    settings: Settings, store: Store, sender: MailSender | None = None
) -> tuple[IngestStats, DrainResult]:
    """One ingest pass over every mailbox, then one outbox pass."""
    total = IngestStats()
    for ingester in await ingesters_for(settings, store):
        await ingester.ingest_once()
        for name in ("new_tickets", "added", "duplicates", "rejected"):
            setattr(total, name, getattr(total, name) + getattr(ingester.stats, name))
    drained = await drain_outbox(store, sender or SmtpSender(settings.mail.smtp), now=utcnow)
    return total, drained


async def drain_forever(store: Store, sender: MailSender, stop: asyncio.Event, interval: float = 1.0) -> None:
    while not stop.is_set():
        try:
            await drain_outbox(store, sender, now=utcnow)
        except Exception as exc:  # the store may be briefly unreachable: keep the service up
            log.warning("outbox pass failed: %s: %s", type(exc).__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


async def run_service(settings: Settings, store: Store, stop: asyncio.Event, *, poll_interval: float = 30.0) -> None:
    ingesters = await ingesters_for(settings, store, poll_interval=poll_interval)
    for ingester in ingesters:
        log.info("ingesting %s for tenant %s", ingester.box.key, ingester.box.tenant_name)
    tasks = [asyncio.create_task(i.run(stop)) for i in ingesters]
    tasks.append(asyncio.create_task(drain_forever(store, SmtpSender(settings.mail.smtp), stop)))
    await asyncio.gather(*tasks)
