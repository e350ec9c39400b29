"""`tvoxcc ivr`: a service's voice menu. `set` loads a flow file, `show` prints it, `check` validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError

from tvoxcc.admin.checks import check_document
from tvoxcc.admin.edit import edit_tenant, validation_problems
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import read_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.cli._common import emit_json, emit_table, emit_yaml, json_option, with_store
from tvoxcc.ivr.nodes import Flow, targets
from tvoxcc.store.engine import Store


@click.group()
def ivr() -> None:
    """Manage IVR flows (one per service)."""


async def _doc(store: Store, tenant: str) -> TenantDoc:
    async with store.session() as session:
        return await read_document(session, tenant)


def _flow_of(doc: TenantDoc, service: str) -> Flow:
    for flow in doc.ivrs:
        if flow.service == service:
            return flow
    raise AdminError(f"service {service!r} of tenant {doc.tenant.name!r} has no IVR")


@ivr.command("set")
@click.argument("tenant")
@click.argument("service")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def set_(ctx: click.Context, tenant: str, service: str, file: Path) -> None:
    """Load SERVICE's flow from a YAML FILE (validated before it is saved)."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AdminError(f"{file}: not valid YAML") from exc
    if not isinstance(data, dict):
        raise AdminError(f"{file}: expected a mapping with 'start' and 'nodes'")
    try:
        flow = Flow.model_validate({**data, "service": service})
    except ValidationError as exc:
        raise AdminError(*(f"{file}: {p}" for p in validation_problems(exc))) from exc

    def change(doc: TenantDoc) -> None:
        doc.ivrs = [f for f in doc.ivrs if f.service != service] + [flow]

    with_store(ctx, lambda store: edit_tenant(store, tenant, change))
    click.echo(f"IVR of service {service!r} saved ({len(flow.nodes)} nodes)")


@ivr.command("remove")
@click.argument("tenant")
@click.argument("service")
@click.pass_context
def remove(ctx: click.Context, tenant: str, service: str) -> None:
    """Remove SERVICE's flow (its calls then take the dialplan fallback)."""

    def change(doc: TenantDoc) -> None:
        _flow_of(doc, service)
        doc.ivrs = [f for f in doc.ivrs if f.service != service]

    with_store(ctx, lambda store: edit_tenant(store, tenant, change))
    click.echo(f"IVR of service {service!r} removed")


@ivr.command("list")
@click.argument("tenant")
@json_option
@click.pass_context
def list_(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """List the services of TENANT that have an IVR."""
    doc = with_store(ctx, lambda store: _doc(store, tenant))
    rows = [{"service": f.service, "start": f.start, "nodes": len(f.nodes)} for f in doc.ivrs]
    emit_json(rows) if as_json else emit_table(rows, ["service", "start", "nodes"])


def describe(flow: Flow) -> list[str]:
    """One readable line per node, in the order a caller meets them."""
    order, todo = [], [flow.start]
    while todo:
        node_id = todo.pop(0)
        if node_id in order or node_id not in flow.nodes:
            continue
        order.append(node_id)
        todo += [t for _f, t in targets(flow.nodes[node_id])]
    order += [n for n in flow.nodes if n not in order]
    width = max(len(n) for n in order)
    lines = []
    for node_id in order:
        node = flow.nodes[node_id]
        data: dict[str, Any] = node.model_dump(by_alias=True, exclude={"type"})
        prompts = data.pop("prompts", None)
        parts = [f'"{", ".join(prompts)}"'] if prompts else []
        for key, value in data.items():
            if isinstance(value, dict) and value:
                parts.append(f"{key}: " + " ".join(f"{k}→{v}" for k, v in value.items()))
            elif value not in (None, [], {}):
                parts.append(f"{key}: {value}" if key not in ("next",) else f"→ {value}")
        marker = "▶" if node_id == flow.start else " "
        lines.append(f"{marker} {node_id.ljust(width)}  {node.type:<9} {'  '.join(parts)}")
    return lines


@ivr.command("show")
@click.argument("tenant")
@click.argument("service")
@click.option("--format", "fmt", type=click.Choice(["text", "yaml", "json"]), default="text")
@click.pass_context
def show(ctx: click.Context, tenant: str, service: str, fmt: str) -> None:
    """Print SERVICE's flow readably (or as YAML/JSON to edit and `set` again)."""
    flow = _flow_of(with_store(ctx, lambda store: _doc(store, tenant)), service)
    data = flow.model_dump(mode="json", by_alias=True, exclude={"service"})
    if fmt == "json":
        emit_json(data)
    elif fmt == "yaml":
        emit_yaml(data)
    else:
        click.echo(f"IVR of {tenant}/{service}, start at {flow.start!r}")
        for line in describe(flow):
            click.echo(line)


@ivr.command("check")
@click.argument("tenant")
@click.argument("service", required=False)
@click.pass_context
def check(ctx: click.Context, tenant: str, service: str | None) -> None:
    """Validate the stored flows of TENANT (or one SERVICE) against its queues and prompts."""
    doc = with_store(ctx, lambda store: _doc(store, tenant))
    if service is not None:
        _flow_of(doc, service)
    problems = [p for p in check_document(doc) if p.startswith("ivrs")]
    index = {f"ivrs[{i}]": f.service for i, f in enumerate(doc.ivrs)}
    shown = [p for p in problems if service is None or index.get(p.split(".")[0]) == service]
    if shown:
        raise AdminError(*shown)
    click.echo(f"{len(doc.ivrs) if service is None else 1} IVR flow(s) OK")
