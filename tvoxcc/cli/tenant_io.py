"""`tvoxcc export TENANT` and `tvoxcc import FILE`: a whole tenant as a YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError

from tvoxcc.admin.edit import import_document, validation_problems
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import read_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.cli._common import emit_yaml, fail, with_store
from tvoxcc.store.engine import Store


@click.command("export")
@click.argument("tenant")
@click.option("--with-secrets", is_flag=True, help="Include SIP passwords and password hashes.")
@click.pass_context
def export_tenant(ctx: click.Context, tenant: str, with_secrets: bool) -> None:
    """Print TENANT as YAML (services, queues, agents, skills, codes, groups, users)."""

    async def go(store: Store) -> dict[str, Any]:
        async with store.session() as session:
            return (await read_document(session, tenant)).dump(with_secrets=with_secrets)

    emit_yaml(with_store(ctx, go))


def parse_document(text: str, source: str) -> TenantDoc:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise AdminError(f"{source}: not valid YAML{where}") from exc
    if not isinstance(data, dict):
        raise AdminError(f"{source}: expected a mapping with a 'tenant' key at the top")
    try:
        return TenantDoc.model_validate(data)
    except ValidationError as exc:
        raise AdminError(*(f"{source}: {p}" for p in validation_problems(exc))) from exc


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Check everything, change nothing.")
@click.pass_context
def import_tenant(ctx: click.Context, file: Path, dry_run: bool) -> None:
    """Create or update a tenant from a YAML file: items in the file are added or replaced, the rest is kept.

    All or nothing: on any error nothing changes and every problem is listed with its path in the file.
    """
    try:
        text = click.get_text_stream("stdin").read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read: {exc}")

    async def go(store: Store) -> None:
        await import_document(store, parse_document(text, str(file)), dry_run=dry_run)

    with_store(ctx, go)
    click.echo(f"{file}: {'valid, nothing changed (dry run)' if dry_run else 'imported'}")
