"""`tvoxcc asterisk`: render Asterisk's configs from the store and settings, reload a running Asterisk."""

from __future__ import annotations

from pathlib import Path

import click

from tvoxcc.asterisk.inputs import RenderInput, RenderInputError
from tvoxcc.cli._common import fail, first_line, settings_of
from tvoxcc.config import Settings


def _say(message: str) -> None:
    click.echo(f"asterisk: {message}", err=True)


def store_render_input(settings: Settings) -> RenderInput:
    from tvoxcc.asterisk.source import render_input

    try:
        return render_input(settings, _say)
    except RenderInputError as exc:
        fail(f"cannot render: {exc}")
    except Exception as exc:
        fail(f"cannot read agents/DIDs from the store: {type(exc).__name__}: {first_line(exc)}")


def _dir_gid(config_dir: Path) -> int | None:
    """The target dir's group (asterisk on Debian, the chroot's asterisk in a lab): secret files stay
    readable by Asterisk and by no one else."""
    try:
        return config_dir.stat().st_gid
    except OSError:
        return None


def _node_input(settings: Settings, inp: RenderInput, node_name: str) -> RenderInput:
    from tvoxcc.asterisk.node import node_input

    node = settings.kamailio.node(node_name)
    if node is None:
        known = ", ".join(n.name for n in settings.kamailio.nodes) or "none"
        fail(f"--node {node_name!r}: no such node in [[kamailio.nodes]] of tvoxcc.toml (known: {known})")
    try:
        return node_input(inp, node.host, settings.kamailio.sip_host, settings.kamailio.sip_port, node.name)
    except RenderInputError as exc:
        fail(f"cannot render node {node_name}: {exc}")


def _write(settings: Settings, out_dir: Path, node_name: str | None = None) -> None:
    from tvoxcc.asterisk.render import CUSTOM_FILES, write_configs

    inp = store_render_input(settings)
    if node_name is not None:
        inp = _node_input(settings, inp, node_name)
    try:
        written = write_configs(inp, out_dir, group_id=_dir_gid(out_dir))
    except OSError as exc:
        fail(f"cannot write configs into {out_dir}: {exc.strerror or exc}")
    created = [p.name for p in written if p.name in CUSTOM_FILES.values()]
    _say(f"wrote {len(written)} files into {out_dir} ({len(inp.agents)} agent phones, {len(inp.dids)} DIDs)")
    if created:
        _say(f"created {', '.join(created)} for your own additions (never overwritten)")


@click.group()
def asterisk() -> None:
    """Asterisk configuration rendered by tvoxcc (PJSIP endpoints, dialplan, ARI, AMI)."""


@asterisk.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write into. Default: asterisk.config_dir of tvoxcc.toml.",
)
@click.option(
    "--node",
    "node_name",
    help="One Asterisk node behind Kamailio ([[kamailio.nodes]]): binds to the node's host, reaches agents "
    "and takes trunk calls through Kamailio.",
)
@click.pass_context
def render(ctx: click.Context, out_dir: Path | None, node_name: str | None) -> None:
    """Write http/ari/manager/pjsip/rtp/modules/extensions.conf (and friends) for an Asterisk you run."""
    settings = settings_of(ctx)
    _write(settings, out_dir or settings.asterisk.config_dir, node_name)


@asterisk.command()
@click.pass_context
def reload(ctx: click.Context) -> None:
    """Render into asterisk.config_dir, then make Asterisk reload them (AMI)."""
    from tvoxcc.asterisk.ami_command import AmiError
    from tvoxcc.asterisk.reload import reload_asterisk

    settings = settings_of(ctx)
    _write(settings, settings.asterisk.config_dir)
    try:
        reload_asterisk(settings.asterisk)
    except AmiError as exc:
        fail(f"configs written but Asterisk was not reloaded: {exc}")
    _say(f"Asterisk reloaded (AMI {settings.asterisk.ami_host}:{settings.asterisk.ami_port})")
