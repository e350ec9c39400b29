"""Mail in: mails/s from a real Dovecot into tickets, against a raw imapclient FETCH of the same mails.

    .venv/bin/python bench/mail.py [--count 1000] [--db URL] [--phases]

The baseline is the cheapest possible read of the folder (one UID FETCH of every body); the ratio
says how much of the ingest time is our parsing, threading and store writes. Last line: the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from tvoxcc.mail.imap import ImapFolder
from tvoxcc.mail.ingest import FETCH_BATCH, MailboxIngester, resolve_mailbox
from tvoxcc.mail.lab_dovecot import LabDovecot, start_dovecot
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import upgrade
from tvoxcc.store.types import utcnow
from tvoxcc.support.mail_in import ingest_mails
from tvoxcc.support.tickets import Mailbox

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


async def phases(server: LabDovecot, url: str) -> dict[str, float]:
    """Where the time goes, one phase after the other (no overlap), into a second tenant of the same store."""
    spent = dict.fromkeys(("IMAP FETCH", "parse", "plan+lookups+INSERTs", "commit"), 0.0)
    store = Store.from_url(url)
    try:
        async with store.session() as session:
            tenant = m.Tenant(name="phases")
            session.add(tenant)
            await session.commit()
        box = Mailbox(tenant.id, "phases", "phases", "en", None, ADDRESS, "phases")
        templates = MailTemplates()
        folder = ImapFolder(server.account("support", tenant="phases", service="support", address=ADDRESS))
        folder.open()
        uids = folder.uids_after(0)
        for start in range(0, len(uids), FETCH_BATCH):
            t0 = time.perf_counter()
            raws = folder.fetch(uids[start : start + FETCH_BATCH])
            t1 = time.perf_counter()
            parsed = [(uid, parse_mail(raw)) for uid, raw in sorted(raws.items())]
            t2 = time.perf_counter()
            async with store.tenant(tenant.id) as session:
                await ingest_mails(session, box, parsed, now=utcnow(), templates=templates)
                t3 = time.perf_counter()
                await session.commit()
            t4 = time.perf_counter()
            for name, seconds in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[name] += seconds
        folder.close()
    finally:
        await store.dispose()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--phases", action="store_true", help="also time fetch, parse, store and commit one by one")
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
        if args.phases:
            for name, seconds in asyncio.run(phases(server, url)).items():
                print(f"  phase {name}: {seconds:.3f} s = {seconds / fetched * 1e6:,.0f} us/mail")
        print(f"ratio ingest/raw-fetch throughput: {(stored / ingest_s) / (fetched / raw_s):.4f}")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
