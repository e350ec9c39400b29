"""`tvoxcc demo`: Asterisk, the services, a caller walking the IVR to an agent (see tvoxcc.demo)."""

from __future__ import annotations

from pathlib import Path

import click

from tvoxcc.cli._common import fail


@click.command()
@click.option(
    "--dir",
    "base",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/lib/tvoxcc-demo"),
    show_default=True,
    help="Where the demo keeps its config, store and lab (wiped at each run, but the lab's root).",
)
@click.option(
    "--lab-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/cache/tvoxcc-lab"),
    show_default=True,
    help="The cached Asterisk root (built on the first run, ~1 minute).",
)
def demo(base: Path, lab_cache: Path) -> None:
    """Run the demo: real Asterisk 22, the demo tenant, an agent phone and a caller (root needed)."""
    from tvoxcc.demo import run_demo
    from tvoxcc.lab.errors import LabError
    from tvoxcc.lab.lab import require_root

    try:
        require_root()
        run_demo(base.absolute(), lab_cache.absolute(), click.echo)
    except LabError as exc:
        fail(str(exc))
