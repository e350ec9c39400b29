"""`tvoxcc prompts`: the text of a tenant's voice prompts, and rendering it to audio for Asterisk."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError
from sqlalchemy import select

from tvoxcc.admin.edit import edit_tenant, validation_problems
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import read_document
from tvoxcc.admin.spec import PromptSpec, TenantDoc
from tvoxcc.cli._common import emit_json, emit_table, json_option, settings_of, tenant_option, with_store
from tvoxcc.ivr.prompts import PromptRenderError, prompt_path, render_prompt
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


@click.group()
def prompts() -> None:
    """Manage voice prompts (text per language) and render them to audio."""


@prompts.command("set")
@tenant_option
@click.argument("name")
@click.option("--language", "-l", default="en", show_default=True)
@click.option("--text", required=True, help="What the prompt says.")
@click.pass_context
def set_(ctx: click.Context, tenant: str, name: str, language: str, text: str) -> None:
    """Add or change the text of prompt NAME in one language."""
    try:
        spec = PromptSpec(name=name, language=language, text=text)
    except ValidationError as exc:
        raise AdminError(*validation_problems(exc, prefix="prompt")) from exc

    def change(doc: TenantDoc) -> None:
        doc.prompts = [p for p in doc.prompts if (p.name, p.language) != (name, language)] + [spec]

    with_store(ctx, lambda store: edit_tenant(store, tenant, change))
    click.echo(f"prompt {name!r} ({language}) saved; run `tvoxcc prompts render` to make its audio")


@prompts.command("remove")
@tenant_option
@click.argument("name")
@click.option("--language", "-l", help="Only this language (default: all).")
@click.pass_context
def remove(ctx: click.Context, tenant: str, name: str, language: str | None) -> None:
    """Remove a prompt; refused while an IVR plays it."""

    def change(doc: TenantDoc) -> None:
        keep = [p for p in doc.prompts if not (p.name == name and language in (None, p.language))]
        if len(keep) == len(doc.prompts):
            raise AdminError(f"unknown prompt {name!r} in tenant {tenant!r}")
        doc.prompts = keep  # an IVR still playing it makes the document check refuse the change

    with_store(ctx, lambda store: edit_tenant(store, tenant, change))
    click.echo(f"prompt {name!r} removed")


async def _doc(store: Store, tenant: str) -> TenantDoc:
    async with store.session() as session:
        return await read_document(session, tenant)


@prompts.command("list")
@tenant_option
@json_option
@click.pass_context
def list_(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """List a tenant's prompts."""
    doc = with_store(ctx, lambda store: _doc(store, tenant))
    rows = [p.model_dump() for p in doc.prompts]
    emit_json(rows) if as_json else emit_table(rows, ["name", "language", "text"])


async def _all_prompts(store: Store, tenant: str | None) -> list[tuple[str, str, str, str]]:
    async with store.session() as session:
        if tenant is not None:
            await read_document(session, tenant)  # unknown tenant: a clear error
        stmt = (
            select(m.Tenant.name, m.Prompt.name, m.Prompt.language, m.Prompt.text)
            .join(m.Tenant, m.Tenant.id == m.Prompt.tenant_id)
            .order_by(m.Tenant.name, m.Prompt.name, m.Prompt.language)
        )
        if tenant is not None:
            stmt = stmt.where(m.Tenant.name == tenant)
        rows = await session.execute(stmt)
        return [(t, n, lang, text) for t, n, lang, text in rows.all()]


@prompts.command("render")
@click.option("--tenant", "-t", envvar="TVOXCC_TENANT", help="Only this tenant (default: all).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Sound folder (default: config).")
@click.pass_context
def render(ctx: click.Context, tenant: str | None, out: Path | None) -> None:
    """Turn prompt text into 8 kHz audio (espeak-ng + sox) in Asterisk's sound folder."""
    sounds = out or settings_of(ctx).asterisk.sounds_dir
    rows = with_store(ctx, lambda store: _all_prompts(store, tenant))
    for tenant_name, name, language, text in rows:
        target = prompt_path(sounds, tenant_name, language, name)
        try:
            render_prompt(text, language, target)
        except PromptRenderError as exc:
            raise AdminError(f"prompt {tenant_name}/{name} ({language}): {exc}") from exc
        click.echo(f"rendered {target}")
    click.echo(f"{len(rows)} prompt(s) rendered")
