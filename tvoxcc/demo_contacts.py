"""The demo's address-book part: contacts imported from demo/contacts.csv (before the calls and the mail, so the
mail channel finds its sender among them), then one customer's data exported and erased (data protection),
with Insight's figures of the day the same before and after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tvoxcc.insight.api import day_summary
from tvoxcc.journey.book_audited import Editor, import_csv
from tvoxcc.journey.book_store import list_contacts
from tvoxcc.journey.privacy_api import erase_person, export_person
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

DEMO_CONTACTS = Path(__file__).resolve().parents[1] / "demo" / "contacts.csv"
ERASED_CUSTOMER = "giulia.verdi@example.test"  # the demo mail's sender (tvoxcc.demo_mail)
ACTOR = "system:demo"  # the import's, the export's and the erase's audit rows


async def _tenant_id(store: Store, tenant: str) -> int:
    async with store.session() as session:
        return (await session.execute(select(m.Tenant.id).where(m.Tenant.name == tenant))).scalar_one()


async def contacts_imported(store: Store, say: Callable[[str], None], *, tenant: str = "acme") -> None:
    """`tvoxcc contact import -t acme demo/contacts.csv`, then `contact list`."""
    async with store.tenant(await _tenant_id(store, tenant)) as session:
        text = DEMO_CONTACTS.read_text(encoding="utf-8")
        added = await import_csv(session, Editor(ACTOR, tenant), text, DEMO_CONTACTS.name)  # audited as the CLI's
        await session.commit()
        contacts = await list_contacts(session)
    say(f"demo: {len(added)} contacts imported from {DEMO_CONTACTS.name} (tvoxcc contact import -t {tenant} FILE)")
    for c in contacts:
        vip = " VIP" if c.vip else ""
        say(f"  #{c.id} {c.display_name or '-'}  {' '.join(c.phones) or '-'}  {' '.join(c.emails) or '-'}{vip}")


async def customer_exported_and_erased(
    store: Store, say: Callable[[str], None], *, out: Path, recordings_dir: Path | None, repository: Repository,
    data_dir: Path | None, tenant: str = "acme", zone: str = "Europe/Rome",
) -> None:  # fmt: skip
    """`tvoxcc contact export -t acme giulia.verdi@example.test`, then `contact erase … --yes`."""
    tenant_id = await _tenant_id(store, tenant)
    today = datetime.now(ZoneInfo(zone)).date()
    before = await day_summary(store, tenant, today)
    exported = await export_person(
        store, tenant_id, ERASED_CUSTOMER, recordings_dir=recordings_dir, repository=repository, out=out, actor=ACTOR
    )
    held = ", ".join(f"{n} {name}" for name, n in exported.counts.items() if n)
    say("")
    say(f"Data protection: tvoxcc contact export -t {tenant} {ERASED_CUSTOMER} -> {exported.path}")
    say(f"  {held}")
    erased = await erase_person(
        store, tenant_id, ERASED_CUSTOMER, recordings_dir=recordings_dir, repository=repository, data_dir=data_dir,
        actor=ACTOR,
    )  # fmt: skip
    gone = ", ".join(f"{n} {name}" for name, n in erased.counts.items() if n)
    say(f"tvoxcc contact erase -t {tenant} {ERASED_CUSTOMER} --yes: contact {erased.contact_ids[0]} erased ({gone})")
    same = await day_summary(store, tenant, today) == before
    say(f"  Insight's figures for today after the erase: {'unchanged' if same else 'CHANGED'}")
    if not same:
        raise RuntimeError("the erase changed Insight's figures")
