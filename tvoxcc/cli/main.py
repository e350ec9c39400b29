"""The `tvoxcc` command: one click group, one module per noun under tvoxcc.cli."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tvoxcc.admin.errors import AdminError

# noun -> "module:attribute"; modules are imported only when their command runs,
# so `tvoxcc --help` stays fast and a broken optional module cannot break the rest.
COMMANDS: dict[str, str] = {}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, attr = COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # Every refused change or bad input, from any command: one line per problem, exit 1.
        try:
            return super().invoke(ctx)
        except AdminError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(1)


def register(name: str, target: str) -> None:
    COMMANDS[name] = target


@click.group(cls=LazyGroup)
@click.option(
    "--config",
    "-c",
    "config_path",
    envvar="TVOXCC_CONFIG",
    type=click.Path(dir_okay=False),
    help="Config file (TOML). Default: $TVOXCC_CONFIG or /etc/tvoxcc/tvoxcc.toml.",
)
@click.version_option(package_name="tvoxcc")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """tvoxcc: omnichannel contact center on Asterisk (main host and Support host)."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


def main() -> None:
    cli()


from tvoxcc.cli import commands as _commands  # noqa: E402,F401  (fills COMMANDS)
