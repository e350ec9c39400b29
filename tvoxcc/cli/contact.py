"""`tvoxcc contact`: the address book (add, set, show, list, remove, import and export as CSV), and one person's
data exported or erased (``tvoxcc.cli.contact_privacy``). Timelines, merges and duplicates: `tvoxcc journey`.

Changes go through ``journey.book_audited``, as the web API's do: each leaves its ``contact.*`` audit row."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.cli._common import emit_json, emit_table, fail, json_option, tenant_option, with_store
from tvoxcc.cli.contact_privacy import erase, erasures, export_person
from tvoxcc.journey import book, book_audited, book_store
from tvoxcc.journey.book_audited import Editor
from tvoxcc.journey.rows import ContactRow
from tvoxcc.store.engine import Store

T = TypeVar("T")

COLUMNS = ["id", "name", "phones", "emails", "company", "language", "vip"]
contact_argument = click.argument("contact", metavar="CONTACT")


def in_tenant(ctx: click.Context, tenant: str, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``action`` on the tenant's scoped session and commit what it did."""

    async def go(store: Store) -> T:
        async with store.tenant(await tenant_id_of(store, tenant)) as session:
            result = await action(session)
            await session.commit()
            return result

    return with_store(ctx, go)


def _editor(tenant: str) -> Editor:
    return Editor(audit.cli_actor(), tenant)


def _row(contact: ContactRow) -> dict[str, Any]:
    data = book.contact_json(contact)
    data["name"] = contact.display_name or "-"
    return data


def _emit(contact: ContactRow, as_json: bool) -> None:
    if as_json:
        emit_json(book.contact_json(contact))
        return
    data = book.contact_json(contact)
    for key, value in data.items():
        if key == "notes":
            continue
        shown = ", ".join(value) if isinstance(value, list) else ("yes" if value else "no") if key == "vip" else value
        click.echo(f"{key}: {shown if shown not in (None, '') else '-'}")
    if contact.notes:
        click.echo("notes:")
        click.echo("  " + contact.notes.replace("\n", "\n  "))


@click.group()
def contact() -> None:
    """The address book: customers with their phones (E.164) and e-mails, matched on every channel.

    CONTACT is a contact id, a phone number in any format or an e-mail address.
    """


@contact.command("add")
@tenant_option
@click.option("--name", default="", help="Full name.")
@click.option("--phone", "phones", multiple=True, help="Phone number, any format (repeatable).")
@click.option("--email", "emails", multiple=True, help="E-mail address (repeatable).")
@click.option("--company", default="")
@click.option("--language", help="Language code (it, en, pt-BR…): prompts and mails in it.")
@click.option("--vip/--no-vip", default=False, help="A VIP (routed first where queues say so).")
@click.option("--notes", default="", help="Free text for agents.")
@json_option
@click.pass_context
def add(
    ctx: click.Context,
    tenant: str,
    name: str,
    phones: tuple[str, ...],
    emails: tuple[str, ...],
    company: str,
    language: str | None,
    vip: bool,
    notes: str,
    as_json: bool,
) -> None:
    """Add a contact; refused when one of its phones or e-mails already belongs to another contact."""

    def go(session: AsyncSession) -> Awaitable[ContactRow]:
        return book_audited.add(
            session, _editor(tenant), name=name, phones=phones, emails=emails, company=company, language=language,
            vip=vip, notes=notes,
        )  # fmt: skip

    added = in_tenant(ctx, tenant, go)
    emit_json(book.contact_json(added)) if as_json else click.echo(f"contact {added.id} added")


@contact.command("set")
@tenant_option
@contact_argument
@click.option("--name")
@click.option("--phone", "add_phones", multiple=True, help="Add a phone number (repeatable).")
@click.option("--drop-phone", "drop_phones", multiple=True, help="Remove a phone number (repeatable).")
@click.option("--email", "add_emails", multiple=True, help="Add an e-mail address (repeatable).")
@click.option("--drop-email", "drop_emails", multiple=True, help="Remove an e-mail address (repeatable).")
@click.option("--company")
@click.option("--language", help="Language code; an empty string clears it.")
@click.option("--vip/--no-vip", default=None)
@click.option("--notes")
@json_option
@click.pass_context
def set_contact(ctx: click.Context, /, tenant: str, contact: str, as_json: bool, **options: Any) -> None:
    """Change a contact: only the options given change."""
    for key in ("add_phones", "drop_phones", "add_emails", "drop_emails"):
        options[key] = tuple(options[key])
    changes = book.ContactChanges(**options)

    changed = in_tenant(ctx, tenant, lambda session: book_audited.change(session, _editor(tenant), contact, changes))
    emit_json(book.contact_json(changed)) if as_json else click.echo(f"contact {changed.id} changed")


@contact.command("show")
@tenant_option
@contact_argument
@json_option
@click.pass_context
def show(ctx: click.Context, tenant: str, contact: str, as_json: bool) -> None:
    """A contact's card (a merged duplicate's id shows its survivor)."""
    _emit(in_tenant(ctx, tenant, lambda session: book_store.find_contact(session, contact)), as_json)


@contact.command("list")
@tenant_option
@json_option
@click.pass_context
def list_contacts(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """Every contact (merged duplicates left out), by id."""
    contacts = in_tenant(ctx, tenant, book_store.list_contacts)
    if as_json:
        emit_json([book.contact_json(c) for c in contacts])
    else:
        emit_table([_row(c) for c in contacts], COLUMNS)


@contact.command("remove")
@tenant_option
@contact_argument
@click.pass_context
def remove(ctx: click.Context, tenant: str, contact: str) -> None:
    """Delete a contact from the address book; its calls, mails and tickets stay, as an unknown person's.

    To delete everything about a person (GDPR), use `contact erase`.
    """

    counts = in_tenant(ctx, tenant, lambda session: book_audited.remove(session, _editor(tenant), contact))
    click.echo(
        f"contact {counts['id']} removed ({counts['interactions']} interactions, {counts['tickets']} tickets, "
        f"{counts['callbacks']} callbacks kept without it)"
    )


@contact.command("import")
@tenant_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Check everything, store nothing.")
@click.pass_context
def import_contacts(ctx: click.Context, tenant: str, file: Path, dry_run: bool) -> None:
    """Add the contacts of a CSV file (columns: name, phone, email, company, language, vip, notes).

    All or nothing: on any error nothing is stored and every bad row is listed as FILE:LINE: what.
    Several phones or e-mails in one cell are separated by ';'.
    """
    source = "<stdin>" if str(file) == "-" else str(file)
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{source}: cannot read: {exc}")

    async def go(session: AsyncSession) -> int:
        ids = await book_audited.import_csv(session, _editor(tenant), text, source)
        if dry_run:  # the contacts and their audit row go back together
            await session.rollback()
        return len(ids)

    count = in_tenant(ctx, tenant, go)
    click.echo(f"{source}: {count} contacts {'would be added (dry run)' if dry_run else 'added'}")


@contact.command("export")
@tenant_option
@click.argument("contact", metavar="[CONTACT]", required=False)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead.")
@click.pass_context
def export(ctx: click.Context, tenant: str, contact: str | None, out: Path | None) -> None:
    """The address book as CSV (stdout, or --out); with CONTACT, everything about that person as a zip.

    The zip (data protection: the right of access) holds the contact, their interactions, mails with
    attachments, tickets with their messages, callbacks, survey answers and recording files; its path is printed.
    """
    if contact is not None:
        export_person(ctx, tenant, contact, out)
        return
    contacts = in_tenant(ctx, tenant, book_store.list_contacts)
    text = book.write_csv(contacts)
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"{out}: {len(contacts)} contacts")


contact.add_command(erase)
contact.add_command(erasures)
