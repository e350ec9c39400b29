"""`tvoxcc contact export -t T CONTACT` and `tvoxcc contact erase -t T CONTACT`: one person's data (GDPR
access and erasure). The erase asks first on a terminal, needs ``--yes`` otherwise, and is logged to stderr,
in the ``erasures`` table and in the audit log (by former contact id and counts: nothing that names the
person). Recordings on legal hold are kept, and the erase says how many."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from tvoxcc import audit
from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.cli._common import emit_json, emit_table, fail, json_option, settings_of, with_store
from tvoxcc.journey.privacy_api import Erased, Exported, erase_person
from tvoxcc.journey.privacy_api import export_person as write_export
from tvoxcc.journey.privacy_store import person_of
from tvoxcc.recordings.repository import Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


def export_person(ctx: click.Context, tenant: str, ref: str, out: Path | None) -> None:
    settings = settings_of(ctx)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = out or Path.cwd() / f"contact-export-{tenant}-{stamp}.zip"

    async def go(store: Store) -> Exported:
        return await write_export(
            store, await tenant_id_of(store, tenant), ref, recordings_dir=settings.asterisk.recordings_dir,
            repository=Repository.of(settings), out=target, actor=audit.cli_actor(),
        )  # fmt: skip

    done = with_store(ctx, go)
    summary = ", ".join(f"{n} {name}" for name, n in done.counts.items() if n)
    click.echo(f"{done.path}  ({summary or 'nothing stored about them'})")


@click.command("erase")
@click.option("--tenant", "-t", envvar="TVOXCC_TENANT", required=True, help="Tenant name (or $TVOXCC_TENANT).")
@click.argument("contact", metavar="CONTACT")
@click.option("--yes", is_flag=True, help="Do not ask (needed when there is no terminal to ask on).")
@click.option(
    "--close-open", is_flag=True, help="End their open chats and SMS conversations first (as an agent's close)."
)
@click.pass_context
def erase(ctx: click.Context, tenant: str, contact: str, yes: bool, close_open: bool) -> None:
    """Erase everything about a person (CONTACT: id, phone or e-mail): their contact, recordings, attachments and
    the text of their calls, mails, tickets and chats. Statistics keep their counts. Cannot be undone. Recordings
    on legal hold are kept (without their number), and counted.

    Refused, naming it, while one of their chats or SMS conversations is open (queued, ringing, with an agent);
    --close-open ends each as an agent's close would (its ACD item goes, the agent's desktop shows it closed),
    waits for the ACD to take that, then erases.

    Export first (`contact export -t T CONTACT`) when the person asked for their data too.
    """
    settings = settings_of(ctx)
    if not yes:
        if not sys.stdin.isatty():
            fail("contact erase cannot be undone: confirm with --yes (there is no terminal to ask on)")

        async def who(store: Store) -> str:
            async with store.tenant(await tenant_id_of(store, tenant)) as session:
                person = await person_of(session, contact)
            ids = ", ".join(map(str, sorted(person.contact_ids)))
            return f"contact {ids}" if ids else f"the interactions of {contact.strip()}"

        if not click.confirm(
            f"Erase everything about {with_store(ctx, who)} in tenant {tenant!r}? This cannot be undone"
        ):
            fail("contact erase: nothing erased")

    actor = audit.cli_actor()

    async def go(store: Store) -> Erased:
        return await erase_person(
            store, await tenant_id_of(store, tenant), contact, recordings_dir=settings.asterisk.recordings_dir,
            repository=Repository.of(settings), data_dir=settings.data_dir, actor=actor, close_open=close_open,
        )  # fmt: skip

    done = with_store(ctx, go)
    who_line = "contact " + ", ".join(map(str, done.contact_ids)) if done.contact_ids else "an address without contact"
    held = done.counts.get("recordings_held", 0)
    summary = ", ".join(f"{n} {name}" for name, n in done.counts.items() if n and name != "recordings_held")
    kept = f"; kept {held} recordings under legal hold" if held else ""
    click.echo(f"erased {who_line} in tenant {tenant!r} by {actor}: {summary or 'nothing found'}{kept}", err=True)


@click.command("erasures")
@click.option("--tenant", "-t", envvar="TVOXCC_TENANT", required=True, help="Tenant name (or $TVOXCC_TENANT).")
@json_option
@click.pass_context
def erasures(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """The tenant's erasures, oldest first: when, by whom, the former contact id and what went."""

    async def go(store: Store) -> list[dict[str, Any]]:
        async with store.tenant(await tenant_id_of(store, tenant)) as session:
            rows = (await session.execute(select(m.Erasure).order_by(m.Erasure.id))).scalars().all()
        return [{"erased_at": r.erased_at.isoformat(), "actor": r.actor, "contact": r.contact_id, "counts": r.counts}
                for r in rows]  # fmt: skip

    rows = with_store(ctx, go)
    emit_json(rows) if as_json else emit_table(rows, ["erased_at", "actor", "contact", "counts"])
