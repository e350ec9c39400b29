"""Mail in: mails/s from a real Dovecot into tickets, against a raw imapclient FETCH of the same mails.

    .venv/bin/python bench/mail.py [--count 1000] [--database URL]

The baseline is the cheapest possible read of the folder (one UID FETCH of every body); the ratio
says how much of the ingest time is our parsing, threading and store writes. Last line: the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from tvoxcc.mail.ingest import MailboxIngester, resolve_mailbox
from tvoxcc.mail.lab_dovecot import LabDovecot, start_dovecot
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.store.types import utcnow

ADDRESS = "support@bench.test"


def mail(i: int) -> bytes:
    return (
        f"From: Customer {i % 97} <c{i % 97}@example.com>\r\nTo: {ADDRESS}\r\nSubject: question {i}\r\n"
        f"Message-ID: <bench{i}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Hello, I have a question about my order.\r\n"
        * 10
    ).encode()


def raw_fetch(server: LabDovecot) -> int:
    client = server.client("support")
    try:
        client.select_folder("INBOX", readonly=True)
        return len(client.fetch(client.search(), ["BODY.PEEK[]"]))  # SEARCH ALL + one FETCH
    finally:
        client.logout()


async def ingest(server: LabDovecot, url: str) -> int:
    store = Store.from_url(url)
    try:
        async with store.session() as session:
            tenant = m.Tenant(name="bench")
            session.add(tenant)
            await session.flush()
            session.add(m.Service(tenant_id=tenant.id, name="support", channels=["mail"]))
            await session.commit()
        account = server.account("support", tenant="bench", service="support", address=ADDRESS)
        ingester = MailboxIngester(store, account, await resolve_mailbox(store, account), MailTemplates(), clock=utcnow)
        return await ingester.ingest_once()
    finally:
        await store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--db", "--database", dest="database", help="an empty database URL (default: a fresh SQLite file)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tvoxcc-bench-"))
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    server = start_dovecot({"support": "bench-pw"})
    try:
        print(f"seeding {args.count} mails into Dovecot (MULTIAPPEND)…", flush=True)
        for start in range(0, args.count, 500):
            server.deliver("support", [mail(i) for i in range(start, min(start + 500, args.count))])
        t0 = time.perf_counter()
        fetched = raw_fetch(server)
        raw_s = time.perf_counter() - t0
        print(f"raw imapclient FETCH: {fetched} mails in {raw_s:.3f} s = {fetched / raw_s:,.0f} mails/s", flush=True)
        t0 = time.perf_counter()
        stored = asyncio.run(ingest(server, url))
        ingest_s = time.perf_counter() - t0
        backend = url.split(":", 1)[0]
        print(f"ingest into tickets ({backend}): {stored} mails in {ingest_s:.3f} s = {stored / ingest_s:,.0f} mails/s")
        print(f"ratio ingest/raw-fetch throughput: {(stored / ingest_s) / (fetched / raw_s):.4f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
