"""`tvoxcc lab`: a real Asterisk 22 in a Debian sid chroot, for the demo and the tests (root only)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from tvoxcc.asterisk.inputs import RenderInput
from tvoxcc.cli._common import fail, first_line, settings_of
from tvoxcc.config import Settings
from tvoxcc.lab.errors import LabError
from tvoxcc.lab.lab import Lab, require_root
from tvoxcc.lab.topology import TopologyError, parse_topology
from tvoxcc.lab.topology_lab import TopologyLab


def _say(message: str) -> None:
    click.echo(f"lab: {message}", err=True)


def _lab(ctx: click.Context) -> Lab:
    settings = settings_of(ctx)
    state_dir: Path | None = ctx.obj.get("lab_state_dir")
    return Lab(settings, state_dir, _say) if state_dir else Lab.default(settings, _say)


def _render_input(settings: Settings) -> RenderInput:
    from tvoxcc.asterisk.source import render_input

    try:
        return render_input(settings, _say)
    except Exception as exc:  # the demo should still get an Asterisk; say why it is bare
        why = f"{type(exc).__name__}: {first_line(exc)}"
        _say(f"cannot read agents/DIDs from the store ({why}): rendering without them")
        return RenderInput.from_settings(settings)


@click.group()
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="This lab's root, PID file and logs. Default: <data_dir>/lab.",
)
@click.pass_context
def lab(ctx: click.Context, state_dir: Path | None) -> None:
    """Run a real Asterisk 22 on loopback (Debian sid chroot; first start builds a cached image)."""
    ctx.ensure_object(dict)
    ctx.obj["lab_state_dir"] = state_dir.resolve() if state_dir else None


def _topology_lab(ctx: click.Context) -> TopologyLab:
    settings = settings_of(ctx)
    state_dir: Path | None = ctx.obj.get("lab_state_dir")
    return TopologyLab(settings, state_dir / "topology", _say) if state_dir else TopologyLab.default(settings, _say)


@lab.command()
@click.option(
    "--topology",
    "spec",
    help="Several hosts in network namespaces: 'redundant' (main, main2, support, db) or 'nodes=N' "
    "(N Asterisk nodes), each behind Kamailio on host 'sip'. Default: one Asterisk on loopback.",
)
@click.pass_context
def up(ctx: click.Context, spec: str | None) -> None:
    """Build or reuse the image, render configs, start Asterisk, wait until ARI answers."""
    try:
        require_root()  # before touching the store: a refusal is one line
        if spec is None:
            instance = _lab(ctx)
            instance.up(_render_input(instance.settings))
            return
        parse_topology(spec)  # a bad value is one line before anything starts
        topology_lab = _topology_lab(ctx)
        state = topology_lab.up(spec, _render_input(topology_lab.settings))
        for host in state["hosts"]:
            click.echo(f"{host['name']}\t{host['address']}\t{host['namespace']}\t{','.join(host['roles'])}")
    except (LabError, TopologyError) as exc:
        fail(str(exc))


@lab.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop the Asterisk this lab started (by its PID file), and tear down a --topology lab entirely."""
    try:
        if _lab(ctx).down() is None:
            _say("not running")
        _topology_lab(ctx).down()
    except LabError as exc:
        fail(str(exc))


@lab.command("start-node")
@click.argument("name")
@click.pass_context
def start_node(ctx: click.Context, name: str) -> None:
    """Start a stopped Asterisk node of a --topology lab again (Kamailio takes it back after one probe)."""
    try:
        require_root()
        topology_lab = _topology_lab(ctx)
        topology_lab.start_node(name, _render_input(topology_lab.settings))
    except LabError as exc:
        fail(str(exc))


@lab.command("stop-node")
@click.argument("name")
@click.pass_context
def stop_node(ctx: click.Context, name: str) -> None:
    """Stop one Asterisk node of a --topology lab (to see Kamailio route around it)."""
    try:
        if _topology_lab(ctx).stop_node(name) is None:
            _say(f"{name}: not running")
    except LabError as exc:
        fail(str(exc))


@lab.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Is the lab's Asterisk running and answering ARI? Exit 3 when it is not running."""
    data = _lab(ctx).status()
    topology = _topology_lab(ctx).status()
    if topology is not None:
        data["topology"] = topology
        data["running"] = data["running"] or any(node["running"] for node in topology["nodes"])
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        for key in ("running", "pid", "ari_ok", "asterisk_version", "ari_url", "sip", "ami", "state_dir", "image"):
            click.echo(f"{key}: {data[key]}")
        if topology is not None:
            click.echo(f"topology: {topology['spec']} on {topology['subnet']}")
            kam = topology["kamailio"]
            click.echo(f"  kamailio {kam['host']}:{kam['port']} running={kam['running']}")
            for node in topology["nodes"]:
                click.echo(f"  {node['name']} {node['address']} running={node['running']} ari={node['ari_url']}")
    if not data["running"]:
        sys.exit(3)


@lab.command()
@click.option("-n", "--lines", default=50, show_default=True, help="How many lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
@click.pass_context
def logs(ctx: click.Context, lines: int, follow: bool) -> None:
    """Asterisk's log (var/log/asterisk/full in the lab root)."""
    instance = _lab(ctx)
    click.echo(instance.log_tail(lines))
    if not follow:
        return
    path = instance.full_log
    position = path.stat().st_size if path.exists() else 0
    try:
        while True:
            time.sleep(0.5)
            if not path.exists():
                continue
            size = path.stat().st_size
            if size < position:  # rotated or a fresh root
                position = 0
            if size > position:
                with path.open("rb") as handle:
                    handle.seek(position)
                    click.echo(handle.read().decode("utf-8", "replace"), nl=False)
                position = size
    except KeyboardInterrupt:
        pass
