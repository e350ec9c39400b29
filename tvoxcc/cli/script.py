"""`tvoxcc script`: call scripts (a form of fields and branches) for a campaign's or a queue's calls."""

from __future__ import annotations

from pathlib import Path

import click

from tvoxcc.admin.errors import AdminError
from tvoxcc.cli._common import emit_json, emit_table, json_option, tenant_option, with_store
from tvoxcc.scripts import store as ss
from tvoxcc.scripts.source import ScriptError, parse_script

COLUMNS = ["name", "title", "campaign", "queue", "steps"]


@click.group()
def script() -> None:
    """Call scripts agents follow on a campaign's or a queue's calls (shown on the agent desktop)."""


@script.command("add")
@tenant_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--campaign", help="The campaign whose calls it is for.")
@click.option("--queue", help="The queue whose calls it is for.")
@click.option("--replace", is_flag=True, help="Load it again over the script of the same name.")
@click.pass_context
def add(ctx: click.Context, tenant: str, file: Path, campaign: str | None, queue: str | None, replace: bool) -> None:
    """Load a script from a YAML FILE (checked first: every problem as FILE:LINE: what)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"{file}: cannot read: {exc}") from None
    try:
        parsed = parse_script(text, str(file))
    except ScriptError as exc:
        raise AdminError(*exc.lines) from None
    view = with_store(
        ctx, lambda store: ss.save_script(store, tenant, parsed, text, campaign=campaign, queue=queue, replace=replace)
    )
    target = f"campaign {view.campaign!r}" if view.campaign else f"queue {view.queue!r}"
    click.echo(f"script {view.name!r} saved for {target} ({view.steps} steps)")


@script.command("show")
@tenant_option
@click.argument("name")
@json_option
@click.pass_context
def show(ctx: click.Context, tenant: str, name: str, as_json: bool) -> None:
    """Show a script's steps, fields and branches."""
    view = with_store(ctx, lambda store: ss.get_script(store, tenant, name))
    if as_json:
        emit_json({**view.summary(), "spec": view.spec})
        return
    target = f"campaign {view.campaign}" if view.campaign else f"queue {view.queue}"
    click.echo(f"{view.name}: {view.title or '(no title)'} — for {target}, starts at {view.spec['start']}")
    for name_, step in view.spec["steps"].items():
        click.echo(f"  {name_}: {step['say']}" if step["say"] else f"  {name_}:")
        for f in step["fields"]:
            choices = f" ({'/'.join(f['options'])})" if f["options"] else ""
            required = " *" if f["required"] else ""
            click.echo(f"    - {f['name']} [{f['type']}{choices}]{required}: {f['label']}")
        for b in step["branches"]:
            click.echo(f"    {b['field']} = {b['equals']} → {b['goto']}")
        if step["next"]:
            click.echo(f"    → {step['next']}")


@script.command("list")
@tenant_option
@json_option
@click.pass_context
def list_(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """List the tenant's scripts."""
    rows = [view.summary() for view in with_store(ctx, lambda store: ss.list_scripts(store, tenant))]
    emit_json(rows) if as_json else emit_table(rows, COLUMNS)


@script.command("remove")
@tenant_option
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, tenant: str, name: str) -> None:
    """Remove a script and the answers stored with it."""
    gone = with_store(ctx, lambda store: ss.remove_script(store, tenant, name))
    click.echo(f"script {name!r} removed ({gone} answers with it)")
