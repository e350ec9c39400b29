"""`tvoxcc kamailio`: render Kamailio's config (registrar + dispatcher over the Asterisk nodes) from the store."""

from __future__ import annotations

from pathlib import Path

import click

from tvoxcc.asterisk.inputs import RenderInputError
from tvoxcc.cli._common import fail, settings_of


def _say(message: str) -> None:
    click.echo(f"kamailio: {message}", err=True)


@click.group()
def kamailio() -> None:
    """Kamailio in front of N Asterisk nodes: agents' phones register to it, trunk calls are spread by it."""


@kamailio.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write kamailio.cfg and dispatcher.list into (e.g. /etc/kamailio).",
)
@click.pass_context
def render(ctx: click.Context, out_dir: Path) -> None:
    """Write kamailio.cfg (the agents' passwords from the store, 0640) and dispatcher.list ([[kamailio.nodes]])."""
    from tvoxcc.cli.asterisk import store_render_input
    from tvoxcc.kamailio.inputs import KamailioInput
    from tvoxcc.kamailio.render import write_configs

    settings = settings_of(ctx)
    try:
        inp = KamailioInput.from_settings(settings, store_render_input(settings))
    except RenderInputError as exc:
        fail(f"cannot render Kamailio's config: {exc}")
    try:
        written = write_configs(inp, out_dir)
    except OSError as exc:
        fail(f"cannot write into {out_dir}: {exc.strerror or exc}")
    names = ", ".join(p.name for p in written)
    _say(f"wrote {names} into {out_dir} ({len(inp.agents)} agent phones, {len(inp.nodes)} Asterisk nodes)")
