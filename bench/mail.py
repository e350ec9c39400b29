"""Mail in: mails/s from a real Dovecot into tickets, against a raw imapclient FETCH of the same mails.

    .venv/bin/python bench/mail.py [--count 1000] [--db URL] [--phases]

The baseline is the cheapest possible read of the folder (one UID FETCH of every body); the ratio
says how much of the ingest time is our parsing, threading and store writes. Last line: the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from tvoxcc.mail.imap import ImapFolder
from tvoxcc.mail.ingest import MailboxIngester, batches, resolve_mailbox
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


async def ingest(server: LabDovecot, url: str) -> tuple[int, float]:
    """(mails stored, seconds): timed from the IMAP connection on, like the baseline; the store is set up before."""
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
        started = time.perf_counter()
        stored = await ingester.ingest_once()
        return stored, time.perf_counter() - started
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
        for chunk in batches(folder.sizes_after(0)):
            t0 = time.perf_counter()
            raws = folder.fetch(chunk)
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


# What one ingest writes, parents first (the order the foreign keys need).
WRITTEN = (
    "tenants",
    "services",
    "ticket_counters",
    "contacts",
    "contact_emails",
    "tickets",
    "ticket_events",
    "interactions",
    "interaction_events",
    "ticket_messages",
    "outbox_mails",
    "mail_rejections",
    "mailbox_states",
)


def store_floor(source: Path, workdir: Path) -> float:
    """Seconds to write the rows the ingest stored, again, into an empty store with the bare sqlite3 driver.

    One executemany per table in one transaction, foreign keys on as in the store, no parsing, no
    SQLAlchemy, no asyncio: the least any ingest writing these rows could spend on the database.
    """
    target = workdir / "floor.db"
    upgrade(f"sqlite:///{target}")
    with sqlite3.connect(source) as read:
        rows = {table: read.execute(f"SELECT * FROM {table}").fetchall() for table in WRITTEN}
    write = sqlite3.connect(target, isolation_level=None)
    try:
        write.execute("PRAGMA foreign_keys=ON")
        write.execute("PRAGMA journal_mode=WAL")
        started = time.perf_counter()
        write.execute("BEGIN")
        for table, values in rows.items():
            if values:
                marks = ",".join("?" * len(values[0]))
                write.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        write.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        write.close()


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
        stored, ingest_s = asyncio.run(ingest(server, url))
        backend = url.split(":", 1)[0]
        print(f"ingest into tickets ({backend}): {stored} mails in {ingest_s:.3f} s = {stored / ingest_s:,.0f} mails/s")
        if backend == "sqlite":
            floor_s = store_floor(workdir / "bench.db", workdir) if not args.database else None
            if floor_s is not None:
                print(
                    f"  store floor (the same rows, bare sqlite3 executemany, one transaction): {floor_s:.3f} s = "
                    f"{floor_s / stored * 1e6:,.0f} us/mail; raw FETCH + floor alone would be a ratio of "
                    f"{raw_s / (raw_s + floor_s):.4f}"
                )
        if args.phases:
            for name, seconds in asyncio.run(phases(server, url)).items():
                print(f"  phase {name}: {seconds:.3f} s = {seconds / fetched * 1e6:,.0f} us/mail")
        print(f"ratio ingest/raw-fetch throughput: {(stored / ingest_s) / (fetched / raw_s):.4f}")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
