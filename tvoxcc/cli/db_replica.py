"""`tvoxcc db standby|synchronous|promote|replication`: the PostgreSQL replica of the redundant pair."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from tvoxcc.cli._common import database_url, emit_json, fail, json_option, settings_of
from tvoxcc.store.replication import (
    DEFAULT_NAME,
    Endpoint,
    ReplicationError,
    basebackup_argv,
    check_fresh,
    check_primary,
    pg_tool,
    promote,
    replication_report,
    set_synchronous,
    take_base_backup,
    valid_name,
)

NAME_HELP = "The standby's name: its replication slot and application_name."


def _run(step: Any) -> Any:
    try:
        return asyncio.run(step)
    except ReplicationError as exc:
        fail(str(exc))


@click.command("standby")
@click.option("--primary", "primary_url", required=True, help="The primary: postgresql://user[:password]@host:port/db.")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help="New data directory.")
@click.option("--name", default=DEFAULT_NAME, show_default=True, help=NAME_HELP)
@click.option(
    "--os-user",
    default=None,
    help="Owner of the data directory (default: postgres when run as root, else yourself).",
)
def standby(primary_url: str, data: Path, name: str, os_user: str | None) -> None:
    """Copy the primary into a new standby data directory that streams from it (pg_basebackup -R).

    Start the standby with PostgreSQL as usual on that directory (`pg_ctl -D DIR start`, or the
    distribution's service); then `tvoxcc db synchronous on --url PRIMARY` if commits must wait for it.
    """
    try:
        primary = Endpoint.from_url(primary_url)
        valid_name(name)
        check_fresh(data)
        create_slot = asyncio.run(check_primary(primary_url, name))
        owner = os_user or ("postgres" if os.geteuid() == 0 else None)
        argv = basebackup_argv(pg_tool("pg_basebackup"), primary, data, name, create_slot=create_slot)
        click.echo(f"copying {primary.host}:{primary.port} into {data} (slot {name}) ...", err=True)
        take_base_backup(argv, data, primary.password, owner)
    except ReplicationError as exc:
        fail(str(exc))
    click.echo(f"standby {name} ready in {data}: start PostgreSQL on it, e.g. pg_ctl -D {data} -o '-p 5433' start")


@click.command("synchronous")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--url", "url", default=None, help="The primary (default: the configured database).")
@click.option("--name", default=DEFAULT_NAME, show_default=True, help=NAME_HELP)
@click.pass_context
def synchronous(ctx: click.Context, state: str, url: str | None, name: str) -> None:
    """Make commits on the primary wait until standby NAME has them (on), or not (off)."""
    target = url or database_url(settings_of(ctx))
    _run(set_synchronous(target, valid_name(name) if state == "on" else None))
    click.echo(f"synchronous replication {state}" + (f": commits wait for {name}" if state == "on" else ""))


@click.command("promote")
@click.option("--url", "url", required=True, help="The standby to promote: postgresql://user@host:port/db.")
def promote_cmd(url: str) -> None:
    """Turn the standby into the primary (after the old primary is gone). Services on a multi-host URL
    find it by themselves."""
    _run(promote(url))
    click.echo("promoted: this server is now the primary")


@click.command("replication")
@click.option("--url", "url", default=None, help="The server to ask (default: the configured database).")
@json_option
@click.pass_context
def replication(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """Whether the server is a primary or a standby, and how its replication stands."""
    report = _run(replication_report(url or database_url(settings_of(ctx))))
    if as_json:
        emit_json(report)
        return
    click.echo(f"role: {report['role']}")
    if report["role"] == "primary":
        click.echo(f"synchronous_standby_names: {report['synchronous_standby_names'] or '(none: asynchronous)'}")
        for s in report["standbys"] or [{"name": "(no standby connected)"}]:
            detail = f" {s['state']} {s['sync_state']} lag {s['lag_bytes']} bytes" if "state" in s else ""
            click.echo(f"standby {s['name']}{detail}")
    else:
        click.echo(f"receiving from {report['primary'] or '(nobody)'}: {report['receiving'] or 'not streaming'}")


COMMANDS = (standby, synchronous, promote_cmd, replication)
