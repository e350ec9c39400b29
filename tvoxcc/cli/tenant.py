"""`tvoxcc tenant`: customers of the contact center; each sees only its own data."""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy import func, select

from tvoxcc import audit
from tvoxcc.admin.changes import audit_document_change
from tvoxcc.admin.document_writer import write_document
from tvoxcc.admin.edit import edit_tenant, validation_problems
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import find_tenant, read_document
from tvoxcc.admin.spec import TenantDoc, TenantSpec
from tvoxcc.cli._common import emit_json, emit_table, emit_yaml, json_option, with_store
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

OPTIONS = [
    click.option("--display-name"),
    click.option("--timezone", help="IANA time zone, e.g. Europe/Rome."),
    click.option("--country", help="ISO 3166 code used to normalise local phone numbers, e.g. IT."),
    click.option("--language", help="Default language, e.g. it or en."),
    click.option("--retention-days", help="Delete interactions and mails older than this (insight run); 0: keep."),
]
TENANT_COLUMNS = ["name", "display_name", "timezone", "country", "language", "retention_days"]


def _with_options(command: Any) -> Any:
    for option in reversed(OPTIONS):
        command = option(command)
    return command


def _spec(data: dict[str, Any]) -> TenantSpec:
    try:
        return TenantSpec.model_validate(data)
    except ValidationError as exc:
        raise AdminError(*validation_problems(exc, prefix="tenant")) from exc


@click.group()
def tenant() -> None:
    """Manage tenants (customers)."""


@tenant.command("add")
@click.argument("name")
@_with_options
@click.pass_context
def add(ctx: click.Context, /, name: str, **values: str | None) -> None:
    """Add a tenant."""
    spec = _spec({"name": name, **{k: v for k, v in values.items() if v is not None}})

    async def go(store: Store) -> None:
        async with store.session() as session:
            if (await session.execute(select(m.Tenant.id).where(m.Tenant.name == name))).first():
                raise AdminError(f"tenant {name!r} already exists")
            doc = TenantDoc(tenant=spec)
            await write_document(session, doc, prune=False)
            await audit_document_change(session, None, doc, actor=audit.cli_actor())
            await session.commit()

    with_store(ctx, go)
    click.echo(f"added tenant {name!r}")


@tenant.command("set")
@click.argument("name")
@_with_options
@click.pass_context
def set_(ctx: click.Context, /, name: str, **values: str | None) -> None:
    """Change a tenant; options not given keep their value."""

    def change(doc: TenantDoc) -> None:
        doc.tenant = _spec({**doc.tenant.model_dump(), **{k: v for k, v in values.items() if v is not None}})

    with_store(ctx, lambda store: edit_tenant(store, name, change))
    click.echo(f"updated tenant {name!r}")


async def _all(store: Store) -> list[dict[str, Any]]:
    async with store.session() as session:
        rows = (await session.execute(select(m.Tenant).order_by(m.Tenant.name))).scalars().all()
        return [{k: getattr(t, k) for k in TENANT_COLUMNS} for t in rows]


@tenant.command("list")
@json_option
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List tenants."""
    rows = with_store(ctx, _all)
    emit_json(rows) if as_json else emit_table(rows, TENANT_COLUMNS)


@tenant.command("show")
@click.argument("name")
@json_option
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show a tenant with everything it owns (secrets left out)."""

    async def go(store: Store) -> dict[str, Any]:
        async with store.session() as session:
            return (await read_document(session, name)).dump()

    data = with_store(ctx, go)
    emit_json(data) if as_json else emit_yaml(data)


# What a tenant may still own, in the words an admin uses.
OWNED: list[tuple[type[Any], str]] = [
    (m.Service, "services"),
    (m.Queue, "queues"),
    (m.Agent, "agents"),
    (m.Skill, "skills"),
    (m.AgentGroup, "groups"),
    (m.ActivityCode, "activity codes"),
    (m.User, "users"),
    (m.Contact, "contacts"),
    (m.Interaction, "interactions"),
    (m.Ticket, "tickets"),
    (m.KbArticle, "knowledge-base articles"),
]


@tenant.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove an empty tenant; refused while it still owns anything."""

    async def go(store: Store) -> None:
        async with store.session() as session:
            row = await find_tenant(session, name)
            owned = []
            for model, label in OWNED:
                count = (
                    await session.execute(select(func.count()).select_from(model).where(model.tenant_id == row.id))
                ).scalar_one()
                if count:
                    owned.append(f"{count} {label}")
            if owned:
                raise AdminError(f"cannot remove tenant {name!r}: it still has {', '.join(owned)}")
            await session.delete(row)
            await audit.record(
                session,
                actor=audit.cli_actor(),
                action=audit.AuditAction.ADMIN_CHANGE,
                tenant=name,
                subject=f"tenant -{name}",
                detail={"tenant": {"removed": [name]}},
            )
            await session.commit()

    with_store(ctx, go)
    click.echo(f"removed tenant {name!r}")
