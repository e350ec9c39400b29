"""`tvoxcc db`: schema migrations of the shared store."""

from __future__ import annotations

import asyncio

import click

from tvoxcc.cli._common import database_url, emit_json, fail, json_option, settings_of
from tvoxcc.cli.db_replica import COMMANDS
from tvoxcc.store.migrate import current_revision, head_revision, upgrade


@click.group()
def db() -> None:
    """Database schema (upgrade, status) and the PostgreSQL standby (standby, synchronous, promote, replication)."""


@db.command("upgrade")
@click.pass_context
def upgrade_cmd(ctx: click.Context) -> None:
    """Bring the database to the latest schema (safe to run again)."""
    try:
        upgrade(database_url(settings_of(ctx)))
    except Exception as exc:
        fail(f"database upgrade failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    click.echo(f"database at revision {head_revision()}")


@db.command("status")
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the schema revision of the database and the latest one."""
    try:
        current = asyncio.run(current_revision(database_url(settings_of(ctx))))
    except Exception as exc:
        fail(f"cannot open the database: {type(exc).__name__}")
    head = head_revision()
    if as_json:
        emit_json({"current": current, "head": head, "up_to_date": current == head})
    else:
        click.echo(f"current: {current or '(empty)'}\nhead:    {head}")
    if current != head:
        raise SystemExit(1)


for _command in COMMANDS:
    db.add_command(_command)
